"""ISO/IEC 7816-3 answer to reset and PPS, pure functions for reader.samslot: the slot
imports this module while it resets the SAM and lets it go once the rate is set.

`atr_need(prefix)`: how many bytes the ATR has; `parse_atr(raw)` -> ATR (TA1 -> Fi/Di, TC1,
the protocols offered, specific mode, WI); `choose_fidi(atr, clock_hz, max_baud)`: the
fastest Fi/Di both sides allow; `pps_request(fi_i, di_i)`: the PPS bytes.
"""

from reader.samslot import ATR, BAD_ATR, BAD_TCK, SAMError

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
    """Fastest (FI index, DI index) the card offers and the UART reaches; (1, 1) = default."""
    fi_i = atr.ta1 >> 4
    f = FI[fi_i]
    best = (1, 1)
    best_baud = clock_hz // 372
    for di_i in range(1, 10):
        d = DI[di_i]
        if not f or not d or d > atr.di:
            continue
        baud = clock_hz * d // f
        if best_baud < baud <= max_baud:
            best, best_baud = (fi_i, di_i), baud
    return best


def pps_request(fi_i, di_i, protocol=0):
    pps1 = (fi_i << 4) | di_i
    pps0 = 0x10 | protocol
    return bytes((0xFF, pps0, pps1, 0xFF ^ pps0 ^ pps1))
