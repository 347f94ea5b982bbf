"""ISO/IEC 7816-3 activation of the SAM slot: reset and answer to reset, PPS. Functions of a
reader.chips.sam_slot.SAMSlot, called through `reader.call("chips.sam_activation", "power_on",
slot)`: this module is in RAM only for the call, as the SAM is reset once and then only
exchanges APDUs.

Pure: `atr_need(prefix)`: how many bytes the ATR has; `parse_atr(raw)` -> ATR (TA1 -> Fi/Di,
TC1, the protocols offered, specific mode, WI); `choose_fidi(atr, clock_hz, max_baud)`: the
fastest Fi/Di both sides allow; `pps_request(fi_i, di_i)`: the PPS bytes.
"""

import time

from reader.chips.sam_slot import (
    ATR,
    BAD_ATR,
    BAD_TCK,
    NO_ATR,
    NOT_T0,
    PPS_FAILED,
    SAMError,
    inverse_table,
)

FI = (372, 372, 558, 744, 1116, 1488, 1860, 0, 0, 512, 768, 1024, 1536, 2048, 0, 0)
DI = b"\x00\x01\x02\x04\x08\x10\x20\x40\x0c\x14\x00\x00\x00\x00\x00\x00"


def _popcount4(y):
    return (y & 1) + (y >> 1 & 1) + (y >> 2 & 1) + (y >> 3 & 1)


def atr_need(atr):
    """How many bytes the ATR has, judging from its first len(atr) bytes (pure): the result
    is > len(atr) while more bytes are needed to know."""
    n = len(atr)
    if n < 2:
        return 2
    y, i, tck = atr[1] >> 4, 2, False
    while True:
        count = _popcount4(y)
        if not y & 0x8:
            i += count
            break
        td_at = i + count - 1
        if td_at >= n:
            return td_at + 1
        td = atr[td_at]
        tck = tck or td & 0x0F != 0
        i += count
        y = td >> 4
    return i + (atr[1] & 0x0F) + (1 if tck else 0)


def parse_atr(atr):
    """ATR bytes (direct convention, TS first) -> ATR; raises SAMError (pure)."""
    n = len(atr)
    if n < 2 or atr[0] not in (0x3B, 0x3F):
        raise SAMError(BAD_ATR, "TS %s" % ("%02X" % atr[0] if n else "missing"))
    if atr_need(atr) != n:
        raise SAMError(BAD_ATR, "%d bytes, structure says %d" % (n, atr_need(atr)))
    interface = []
    y, i, tck = atr[1] >> 4, 2, False
    while y:
        level = {}
        for bit, name in ((1, "TA"), (2, "TB"), (4, "TC"), (8, "TD")):
            if y & bit:
                level[name] = atr[i]
                i += 1
        interface.append(level)
        td = level.get("TD")
        if td is None:
            break
        tck = tck or td & 0x0F != 0
        y = td >> 4
    k = atr[1] & 0x0F
    historical = bytes(atr[i:i + k])
    if tck:
        x = 0
        for b in atr[1:n]:
            x ^= b
        if x:
            raise SAMError(BAD_TCK)
    first = interface[0] if interface else {}
    ta1 = first.get("TA", 0x11)
    second = interface[1] if len(interface) > 1 else {}
    return ATR(bytes(atr), atr[0] == 0x3F, interface, historical, ta1, FI[ta1 >> 4],
               DI[ta1 & 0x0F], first.get("TC", 0),
               tuple(i["TD"] & 0x0F for i in interface if "TD" in i) or (0,),
               "TA" in second, second.get("TC", 10) or 10)


def choose_fidi(atr, clock_hz, max_baud):
    """Fastest (FI index, DI index) the card offers and the UART reaches; (1, 1) = default.
    A rate within 2 % over `max_baud` counts as reached (a UART's tolerance: a 3.571428 MHz
    clock gives 115 207 baud at 372/12)."""
    fi_i = atr.ta1 >> 4
    f = FI[fi_i]
    best = (1, 1)
    best_baud = clock_hz // 372
    for di_i in range(1, 10):
        d = DI[di_i]
        if not f or not d or d > atr.di:
            continue
        baud = clock_hz * d // f
        if best_baud < baud <= max_baud + max_baud // 50:
            best, best_baud = (fi_i, di_i), baud
    return best


def pps_request(fi_i, di_i, protocol=0):
    pps1 = (fi_i << 4) | di_i
    pps0 = 0x10 | protocol
    return bytes((0xFF, pps0, pps1, 0xFF ^ pps0 ^ pps1))


# -- activation (functions of a SAMSlot) ---------------------------------------------------
def reset(slot):
    """Reset the SAM, read and parse its ATR (at the initial rate)."""
    slot.baudrate = slot.clock_hz // 372
    slot.etu = 372
    slot.uart.init(baudrate=slot.baudrate)
    slot.inverse = None
    slot.rst.off()
    time.sleep_ms(slot.reset_ms)
    slot.drain()
    slot.rst.on()
    slot.atr = parse_atr(_read_atr(slot))
    if 0 not in slot.atr.protocols:
        raise SAMError(NOT_T0, "offers T=%s" % ",".join(str(p) for p in slot.atr.protocols))
    return slot.atr


def _read_atr(slot):
    buf = slot.atr_buf
    b = slot.read_byte(slot.atr_first_ms)
    if b < 0:
        raise SAMError(NO_ATR)
    if b == 0x03:                      # 3F sent in inverse convention, read as direct
        slot.inverse = inverse_table()
        b = 0x3F
    buf[0] = b
    got, need = 1, 2
    while got < need:
        b = slot.read_byte(slot.atr_byte_ms)
        if b < 0:
            raise SAMError(BAD_ATR, "truncated after %d bytes" % got)
        buf[got] = b
        got += 1
        need = atr_need(memoryview(buf)[0:got])
        if need > len(buf):
            raise SAMError(BAD_ATR, "longer than 33 bytes")
    return bytes(buf[0:got])


def power_on(slot):
    """Reset, then PPS to the fastest common rate (falls back to the default rate with a
    second reset if the SAM refuses, or echoes the PPS but does not answer at the new rate:
    a GET RESPONSE). Returns the ATR. A SAM silent after the first reset
    gets one more cold reset (ISO 7816-3 allows activating again) before NO_ATR stands."""
    try:
        atr = reset(slot)
    except SAMError as error:
        if error.code != NO_ATR:
            raise
        atr = reset(slot)
    fi_i, di_i = choose_fidi(atr, slot.clock_hz, slot.max_baud)
    if atr.specific:
        if (fi_i, di_i) != (atr.ta1 >> 4, atr.ta1 & 0x0F):
            raise SAMError(NOT_T0, "specific mode at a rate this UART cannot reach")
        _set_rate(slot, FI[fi_i], DI[di_i])
    elif (fi_i, di_i) != (1, 1):
        try:
            if not pps(slot, fi_i, di_i):
                raise SAMError(PPS_FAILED)
            # the SAM must answer at the new rate: GET RESPONSE with nothing to fetch (any
            # status word will do, and it changes nothing in the SAM)
            slot.exchange(b"\x00\xc0\x00\x00\x00", bytearray(4))
        except SAMError:
            reset(slot)
    return atr


def pps(slot, fi_i, di_i):
    """Send PPS; True when the SAM echoed it (the UART then runs at the new rate)."""
    req = pps_request(fi_i, di_i)
    slot.write(req)
    for i in range(4):
        b = slot.read_byte(slot.work_ms())
        if b != req[i]:
            return False
    _set_rate(slot, FI[fi_i], DI[di_i])
    return True


def _set_rate(slot, f, d):
    slot.etu = f // d
    slot.baudrate = slot.clock_hz * d // f
    slot.uart.init(baudrate=slot.baudrate)
