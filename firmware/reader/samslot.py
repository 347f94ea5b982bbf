"""SAM slot: ISO/IEC 7816-3 over a UART with a reset pin (ATR, PPS, T=0).

The board hands over the UART (at clock/372 baud: 9600 at 3.5712 MHz, 8 data bits, even
parity, 2 stop bits on real hardware) and the RST pin. `SAMSlot` is an APDU channel
(apdu.APDUChannel): 61xx GET RESPONSE and 6Cxx are handled there, not in T=0.

| Feature                                      | Supported                                  |
|----------------------------------------------|--------------------------------------------|
| cold/warm reset, ATR (reader.atr, pure)      | yes: TS, T0, TAi/TBi/TCi/TDi, historical, TCK |
| inverse convention (TS 3F)                   | yes (bytes reversed and inverted)          |
| PPS to the fastest Fi/Di both sides allow    | yes, then `uart.init(baudrate=...)`        |
| specific mode (TA2)                          | uses TA1 when the UART can, else refuses   |
| T=0: INS / ~INS / NULL 60 procedure bytes    | yes; case 4 sends no Le (7816-3 mapping)   |
| T=1                                          | no (raises SAMError kind unsupported)      |
| echo of a single-wire UART (TX tied to RX)   | yes with `echo=True`                       |
"""

import time

from micropython import const

from reader.apdu import APDUChannel, le_index
from reader.driver_errors import PROTOCOL, TIMEOUT, TRANSMISSION, UNSUPPORTED, ReaderError

_NULL = const(0x60)
_MAX_NULLS = const(2000)

NO_ATR = const(1)
BAD_ATR = const(2)
BAD_TCK = const(3)
PPS_FAILED = const(4)
MUTE = const(5)
BAD_PROCEDURE = const(6)
NOT_T0 = const(7)
# code -> kind letter (_KINDS) and meaning, one entry a line: a bytes constant read in place
_MESSAGES = (
    b"\x01Tno ATR after reset: no SAM in the slot?\n"
    b"\x02Pmalformed ATR\n"
    b"\x03XATR check byte TCK is wrong\n"
    b"\x04PPPS not confirmed: the SAM was reset and runs at the default rate\n"
    b"\x05Tthe SAM did not answer within the work waiting time\n"
    b"\x06Punexpected procedure byte\n"
    b"\x07Uthe SAM does not offer T=0\n"
)
_KIND_LETTERS = b"TPXU"
_KINDS = (TIMEOUT, PROTOCOL, TRANSMISSION, UNSUPPORTED)


def _message(code):
    """(meaning, kind) of SAMError `code`."""
    t = _MESSAGES
    at = 0
    while at < len(t):
        end = t.find(b"\n", at + 2)
        if t[at] == code:
            return t[at + 2:end].decode(), _KINDS[_KIND_LETTERS.find(t[at + 1:at + 2])]
        at = end + 1
    return "SAM slot error %d" % code, PROTOCOL


class ATR:
    """An answer to reset, parsed by reader.atr.parse_atr: `raw`, `inverse` (convention),
    `interface` (a dict of TA/TB/TC/TD per level), `historical`, `ta1` with its `fi`/`di`,
    `n` (TC1, extra guard time), `protocols` offered, `specific` (TA2 present), `wi` (TC2:
    work waiting integer). Defined here, not in reader.atr: a slot keeps its ATR after that
    module has left RAM."""

    def __init__(self, raw, inverse, interface, historical, ta1, fi, di, n, protocols,
                 specific, wi):
        self.raw, self.inverse, self.interface, self.historical = raw, inverse, interface, \
            historical
        self.ta1, self.fi, self.di, self.n = ta1, fi, di, n
        self.protocols, self.specific, self.wi = protocols, specific, wi


class SAMError(ReaderError):
    where = "SAM slot"

    def __init__(self, code, detail=""):
        meaning, kind = _message(code)
        super().__init__(code, kind, meaning + (": " + detail if detail else ""))


_INV = None   # the inverse convention's byte map, built when a SAM first answers in it


def _inverse_table():
    global _INV
    if _INV is None:
        _INV = bytes(_inverse(b) for b in range(256))
    return _INV


def _inverse(b):
    r = 0
    for i in range(8):
        if b & (1 << i):
            r |= 0x80 >> i
    return r ^ 0xFF


class SAMSlot(APDUChannel):
    reset_ms = 5
    atr_first_ms = 50          # ISO: 400..40000 clocks; generous
    atr_byte_ms = 1100         # 9600 etu at the initial rate
    wwt_ms = None              # None: from WI and Fi (960 * WI * Fi / f), + 10 %

    def __init__(self, uart, rst, clock_hz=3571200, max_baud=115200, echo=False,
                 max_response=300):
        super().__init__(max_response)
        self.uart, self.rst, self.clock_hz, self.max_baud, self.echo = \
            uart, rst, clock_hz, max_baud, echo
        self._one = bytearray(1)
        self._onemv = memoryview(self._one)
        self._hdr = bytearray(5)
        self._atr = bytearray(33)
        self.atr = None
        self.baudrate = clock_hz // 372
        self._inv = False
        self._f = 372

    # -- byte I/O --------------------------------------------------------------------------
    def _write(self, data):
        if self._inv:
            data = bytes(_INV[b] for b in data)
        self.uart.write(data)
        if self.echo:
            for _ in range(len(data)):
                self._read_byte(self._work_ms())

    def _read_byte(self, timeout_ms):
        uart, one = self.uart, self._one
        start = time.ticks_ms()
        while not uart.readinto(one):
            if time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                return -1
            time.sleep_ms(1)
        return _INV[one[0]] if self._inv else one[0]

    def _drain(self):
        while self.uart.any():
            self.uart.readinto(self._one)

    def _work_ms(self):
        if self.wwt_ms is not None:
            return self.wwt_ms
        wi = self.atr.wi if self.atr else 10
        return 960 * wi * self._f * 1100 // self.clock_hz + 20

    # -- activation ------------------------------------------------------------------------
    def reset(self):
        """Reset the SAM, read and parse its ATR (at the initial rate)."""
        self.baudrate = self.clock_hz // 372
        self._f = 372
        self.uart.init(baudrate=self.baudrate)
        self._inv = False
        self.rst.off()
        time.sleep_ms(self.reset_ms)
        self._drain()
        self.rst.on()
        from reader.atr import parse_atr

        self.atr = parse_atr(self._read_atr())
        if 0 not in self.atr.protocols:
            raise SAMError(NOT_T0, "offers T=%s" % ",".join(str(p) for p in self.atr.protocols))
        return self.atr

    def _read_atr(self):
        from reader.atr import atr_need

        buf = self._atr
        b = self._read_byte(self.atr_first_ms)
        if b < 0:
            raise SAMError(NO_ATR)
        if b == 0x03:                      # 3F sent in inverse convention, read as direct
            _inverse_table()
            self._inv = True
            b = 0x3F
        buf[0] = b
        got, need = 1, 2
        while got < need:
            b = self._read_byte(self.atr_byte_ms)
            if b < 0:
                raise SAMError(BAD_ATR, "truncated after %d bytes" % got)
            buf[got] = b
            got += 1
            need = atr_need(memoryview(buf)[0:got])
            if need > len(buf):
                raise SAMError(BAD_ATR, "longer than 33 bytes")
        return bytes(buf[0:got])

    def power_on(self):
        """Reset, then PPS to the fastest common rate (falls back to the default rate with a
        second reset if the SAM refuses). Returns the ATR. reader.atr is in RAM meanwhile."""
        import reader
        from reader.atr import DI, FI, choose_fidi

        try:
            atr = self.reset()
            fi_i, di_i = choose_fidi(atr, self.clock_hz, self.max_baud)
            if atr.specific:
                if (fi_i, di_i) != (atr.ta1 >> 4, atr.ta1 & 0x0F):
                    raise SAMError(NOT_T0, "specific mode at a rate this UART cannot reach")
                self._set_rate(FI[fi_i], DI[di_i])
            elif (fi_i, di_i) != (1, 1):
                if not self.pps(fi_i, di_i):
                    self.reset()
            return atr
        finally:
            reader.forget("atr")

    def pps(self, fi_i, di_i):
        """Send PPS; True when the SAM echoed it (the UART then runs at the new rate)."""
        from reader.atr import DI, FI, pps_request

        req = pps_request(fi_i, di_i)
        self._write(req)
        for i in range(4):
            b = self._read_byte(self._work_ms())
            if b != req[i]:
                return False
        self._set_rate(FI[fi_i], DI[di_i])
        return True

    def _set_rate(self, f, d):
        self._f = f // d
        self.baudrate = self.clock_hz * d // f
        self.uart.init(baudrate=self.baudrate)

    # -- T=0 -------------------------------------------------------------------------------
    def _exchange(self, apdu, out):
        if self.atr is None:
            raise SAMError(NO_ATR, "call power_on() first")
        n = len(apdu)
        hdr = self._hdr
        hdr[0:4] = apdu[0:4]
        send = recv = 0
        if n == 5:
            hdr[4] = apdu[4]
            recv = apdu[4] or 256
        elif n > 5:
            at, _ = le_index(apdu)
            hdr[4] = apdu[4]
            send = at - 5
        else:
            le_index(apdu)
            hdr[4] = 0
        self._write(hdr)
        return self._procedure(apdu, out, send, recv)

    def _procedure(self, apdu, out, send, recv):
        ins = apdu[1]
        sent = got = nulls = 0
        while True:
            pb = self._read_byte(self._work_ms())
            if pb < 0:
                raise SAMError(MUTE, "INS %02X" % ins)
            if pb == _NULL:
                nulls += 1
                if nulls > _MAX_NULLS:
                    raise SAMError(BAD_PROCEDURE, "endless NULL bytes")
                continue
            if pb == ins or pb == ins ^ 0xFF:
                step = 1 if pb != ins else max(send - sent, recv - got)
                if send > sent:
                    k = min(step, send - sent)
                    self._write(apdu[5 + sent:5 + sent + k])
                    sent += k
                elif recv > got:
                    got = self._receive(out, got, min(step, recv - got))
                else:
                    raise SAMError(BAD_PROCEDURE, "ACK with nothing left to transfer")
                continue
            if pb & 0xF0 in (0x60, 0x90):
                sw2 = self._read_byte(self._work_ms())
                if sw2 < 0:
                    raise SAMError(MUTE, "SW2 missing")
                out[got] = pb
                out[got + 1] = sw2
                return got + 2
            raise SAMError(BAD_PROCEDURE, "%02X after INS %02X" % (pb, ins))

    def _receive(self, out, got, k):
        if got + k + 2 > len(out):
            raise SAMError(BAD_PROCEDURE, "answer longer than the buffer")
        for i in range(k):
            b = self._read_byte(self._work_ms())
            if b < 0:
                raise SAMError(MUTE, "data byte %d" % (got + i))
            out[got + i] = b
        return got + k
