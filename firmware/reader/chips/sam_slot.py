"""SAM slot: ISO/IEC 7816-3 over a UART with a reset pin (ATR, PPS, T=0).

The board hands over the UART (at clock/372 baud: 9600 at 3.5712 MHz, 8 data bits, even
parity, 2 stop bits on real hardware) and the RST pin. Activation (reset, ATR, PPS) is
reader.chips.sam_activation's, called for a slot and let go after it:

    slot = SAMSlot(uart, rst)
    atr = reader.call("chips.sam_activation", "power_on", slot)    # reset, ATR, PPS
    n = slot.exchange(apdu, out)       # one command APDU as a T=0 TPDU

reader.protocols.apdu.SAMChannel makes the slot an APDU channel (61xx GET RESPONSE and 6Cxx
are handled there, not in T=0).

| Feature                                      | Supported                                  |
|----------------------------------------------|--------------------------------------------|
| cold/warm reset, ATR (sam_activation, pure) | yes: TS, T0, TAi/TBi/TCi/TDi, historical, TCK |
| inverse convention (TS 3F)                   | yes (bytes reversed and inverted)          |
| PPS to the fastest Fi/Di both sides allow    | yes, then `uart.init(baudrate=...)`        |
| specific mode (TA2)                          | uses TA1 when the UART can, else refuses   |
| T=0: INS / ~INS / NULL 60 procedure bytes    | yes; case 4 sends no Le (7816-3 mapping)   |
| a command begun, its answer read later       | yes: `exchange(apdu, out, begin=True)`     |
| T=1                                          | no (raises SAMError kind unsupported)      |
| echo of a single-wire UART (TX tied to RX)   | yes with `echo=True`                       |
"""

import time

from micropython import const

from reader.errors import ReaderError

_NULL = const(0x60)
_MAX_NULLS = const(2000)

NO_ATR = const(1)
BAD_ATR = const(2)
BAD_TCK = const(3)
PPS_FAILED = const(4)
MUTE = const(5)
BAD_PROCEDURE = const(6)
NOT_T0 = const(7)
BAD_APDU = const(8)
# code -> kind letter (reader.errors.KIND_LETTERS) and meaning: reader.errors' table format
_MESSAGES = (
    b"\x01tno ATR after reset: no SAM in the slot?\n"
    b"\x02pmalformed ATR\n"
    b"\x03xATR check byte TCK is wrong\n"
    b"\x04pPPS not confirmed: the SAM was reset and runs at the default rate\n"
    b"\x05tthe SAM did not answer within the work waiting time\n"
    b"\x06punexpected procedure byte\n"
    b"\x07uthe SAM does not offer T=0\n"
    b"\x08pnot a short command APDU\n"
)


class ATR:
    """An answer to reset, parsed by sam_activation.parse_atr: `raw`, `inverse` (convention),
    `interface` (a dict of TA/TB/TC/TD per level), `historical`, `ta1` with its `fi`/`di`,
    `n` (TC1, extra guard time), `protocols` offered, `specific` (TA2 present), `wi` (TC2:
    work waiting integer). Defined here, not in sam_activation: a slot keeps its ATR after
    that module has left RAM."""

    def __init__(self, raw, inverse, interface, historical, ta1, fi, di, n, protocols,
                 specific, wi):
        self.raw, self.inverse, self.interface, self.historical = raw, inverse, interface, \
            historical
        self.ta1, self.fi, self.di, self.n = ta1, fi, di, n
        self.protocols, self.specific, self.wi = protocols, specific, wi


class SAMError(ReaderError):
    """SAMError(code, detail): a code above, its meaning and kind from _MESSAGES."""

    where = "SAM slot"
    MESSAGES = _MESSAGES


INV = None    # the inverse convention's byte map, built when a SAM first answers in it


def inverse_table():
    global INV
    if INV is None:
        INV = bytes(_inverse(b) for b in range(256))
    return INV


def _inverse(b):
    r = 0
    for i in range(8):
        if b & (1 << i):
            r |= 0x80 >> i
    return r ^ 0xFF



class SAMSlot:
    reset_ms = 5
    atr_first_ms = 50          # ISO: 400..40000 clocks; generous
    atr_byte_ms = 1100         # 9600 etu at the initial rate
    wwt_ms = None              # None: from WI and Fi (960 * WI * Fi / f), + 10 %

    def __init__(self, uart, rst, clock_hz=3571200, max_baud=115200, echo=False):
        self.uart, self.rst, self.clock_hz, self.max_baud, self.echo = \
            uart, rst, clock_hz, max_baud, echo
        self._one = bytearray(1)
        self._hdr = bytearray(5)
        self.atr_buf = bytearray(33)   # the ATR as it comes in (sam_activation)
        self.atr = None                # the parsed ATR (`ATR`) after a reset
        self.baudrate = clock_hz // 372
        self.inverse = None            # the inverse convention's byte map, for a SAM using it
        self.etu = 372                 # clock cycles per character bit (F / D)
        self._begun = -1               # data bytes sent of a begun command, -1: none

    # -- byte I/O --------------------------------------------------------------------------
    def write(self, data):
        if self.inverse is not None:
            data = bytes(self.inverse[b] for b in data)
        self.uart.write(data)
        if self.echo:
            for _ in range(len(data)):
                self.read_byte(self.work_ms())

    def drain(self):
        while self.uart.any():
            self.uart.readinto(self._one)

    def read_byte(self, timeout_ms):
        """The next byte (-1 after `timeout_ms` of silence)."""
        uart, one = self.uart, self._one
        start = time.ticks_ms()
        while not uart.readinto(one):
            if time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                return -1
            time.sleep_ms(1)
        return self.inverse[one[0]] if self.inverse is not None else one[0]

    def work_ms(self):
        """The work waiting time in ms (ISO 7816-3: 960 * WI * F / f), + 10 %."""
        if self.wwt_ms is not None:
            return self.wwt_ms
        wi = self.atr.wi if self.atr else 10
        return 960 * wi * self.etu * 1100 // self.clock_hz + 20

    # -- T=0 -------------------------------------------------------------------------------
    def exchange(self, apdu, out, begin=False):
        """One short command APDU as a T=0 TPDU (case 4 goes without Le: its answer comes
        by 61xx) -> the answer's length in `out`, SW1 SW2 last. `begin`: return -1 once the
        header and data are sent, the SAM working on while the caller talks to the card; the
        next exchange, of the same APDU, reads the answer (docs/card-crypto.md, "Overlap")."""
        if self.atr is None:
            raise SAMError(NO_ATR, "power the SAM on first (sam_activation.power_on)")
        n = len(apdu)
        if n < 4:
            raise SAMError(BAD_APDU, "%d bytes, shorter than the header" % n)
        hdr = self._hdr
        hdr[0:4] = apdu[0:4]
        send = recv = 0
        if n == 5:
            hdr[4] = apdu[4]
            recv = apdu[4] or 256
        elif n > 5:
            send = hdr[4] = apdu[4]
            if send == 0 or n not in (5 + send, 6 + send):
                raise SAMError(BAD_APDU, "Lc %d in an APDU of %d bytes" % (send, n))
        else:
            hdr[4] = 0
        sent = self._begun
        self._begun = -1
        if sent < 0:
            self.write(hdr)
            sent = 0
            if begin and not send:
                self._begun = 0
                return -1
        return self._procedure(apdu, out, send, recv, sent, begin)

    def _procedure(self, apdu, out, send, recv, sent, begin):
        ins = apdu[1]
        got = nulls = 0
        while True:
            pb = self.read_byte(self.work_ms())
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
                    self.write(apdu[5 + sent:5 + sent + k])
                    sent += k
                    if begin and sent == send:
                        self._begun = sent
                        return -1
                elif recv > got:
                    got = self._receive(out, got, min(step, recv - got))
                else:
                    raise SAMError(BAD_PROCEDURE, "ACK with nothing left to transfer")
                continue
            if pb & 0xF0 in (0x60, 0x90):
                sw2 = self.read_byte(self.work_ms())
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
            b = self.read_byte(self.work_ms())
            if b < 0:
                raise SAMError(MUTE, "data byte %d" % (got + i))
            out[got + i] = b
        return got + k
