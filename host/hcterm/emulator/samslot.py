"""The contact SAM slot: an APDU-level SAM behind ISO/IEC 7816-3 (ATR, PPS, T=0) on a UART.

The board drives line "rst" (0 = reset asserted, 1 = released); on release the card sends
its ATR at the initial rate, clock/372 (9600 baud at 3.5712 MHz). `reset()` does the same
for links without a RST line (a pty). Supported:

| Feature                | Behaviour                                                          |
|------------------------|--------------------------------------------------------------------|
| ATR                    | the SAM's `.atr`, direct (3B) or inverse (3F) convention on the wire |
| PPS                    | first exchange after the ATR; accepted: PPS1 = TA1 or the default 11; |
|                        | echo at the old rate, then `baudrate` = clock/(Fi/Di). Refused (bad  |
|                        | PCK, unoffered T, Fi/Di not allowed, TA2 specific mode): the card    |
|                        | stays mute until the next reset, as ISO 7816-3 lets a card do.       |
| T=0                    | 5-byte header; INS ACK then Lc data (case 1/3/4); INS + Le data + SW |
|                        | (case 2); 61xx/6Cxx from the SAM pass through; a case-4 answer with  |
|                        | data becomes 61xx and GET RESPONSE (00C0) is served from it.         |
| Direction of P3        | by INS: OUTGOING_INS (data from card) else data to the card          |
| Wrong baud             | after `on_host_baudrate`, bytes at a rate other than the card's are  |
|                        | garbled both ways (wire_timing.garble). Unknown host rate: no garbling |
| Faults                 | SamFaults: mute, bad ATR (ts/tck/truncated), stuck after N APDUs,    |
|                        | NULL (60) storm before answers, PPS echoed but the rate kept         |
| Not supported          | T=1, ~INS (byte-by-byte) procedure bytes, clock stop, class change   |

The SAM object: `.atr` (bytes), `.process(apdu) -> data + SW1 SW2` (APDU level), and
optionally `.reset()`, called on every reset. Case 1 reaches it as 4 bytes, case 2 as 5
(P3 = Le), case 3/4 as header + Lc data.
"""

import threading
import time
from dataclasses import dataclass

from hcterm.emulator.bus_device import UartDevice
from hcterm.emulator.wire_timing import SAM_CLOCK_HZ, card_time, classify_apdu, garble, t0_baud

# ISO/IEC 7816-3 tables, indexed by the nibbles of TA1 / PPS1 (None: reserved for future use).
FI_TABLE = (372, 372, 558, 744, 1116, 1488, 1860, None, None, 512, 768, 1024, 1536, 2048,
            None, None)
DI_TABLE = (None, 1, 2, 4, 8, 16, 32, 64, 12, 20, None, None, None, None, None, None)

# INS whose P3 is Le (data flows card -> reader): READ BINARY, READ RECORD, GET RESPONSE,
# GET CHALLENGE, GET DATA, ENVELOPE-less reads. Every other INS carries P3 = Lc.
OUTGOING_INS = frozenset((0xB0, 0xB1, 0xB2, 0xB3, 0xC0, 0x84, 0xCA, 0xCB))

NULL = 0x60
BAD_TS = 0x3A  # what the "ts" fault sends instead of TS (one bit off 3B)
INITIAL_FIDI = 0x11


class AtrError(ValueError):
    """An ATR that a reader must reject: what is wrong and at which byte."""


@dataclass(frozen=True)
class Atr:
    ts: int
    inverse: bool
    interface: tuple  # per level i (1-based in the standard): dict of "TA","TB","TC","TD"
    protocols: tuple  # T values offered (0 when no TD1)
    historical: bytes
    tck: int | None
    ta1: int  # FiDi byte (0x11 when absent)
    extra_guard: int  # N from TC1
    specific_mode: bool  # TA2 present

    @property
    def fi(self):
        return FI_TABLE[self.ta1 >> 4]

    @property
    def di(self):
        return DI_TABLE[self.ta1 & 0x0F]


def parse_atr(atr):
    """Parse an ATR (as decoded, TS = 3B or 3F) into an Atr; raise AtrError if malformed."""
    atr = bytes(atr)
    if len(atr) < 2:
        raise AtrError(f"ATR truncated: {len(atr)} byte(s), need at least TS and T0")
    if atr[0] not in (0x3B, 0x3F):
        raise AtrError(f"ATR TS is {atr[0]:02X}: neither 3B (direct) nor 3F (inverse)")
    pos, y, levels, protocols = 2, atr[1] >> 4, [], []
    while True:
        level = {}
        for bit, name in ((0x1, "TA"), (0x2, "TB"), (0x4, "TC"), (0x8, "TD")):
            if y & bit:
                if pos >= len(atr):
                    raise AtrError(f"ATR truncated in {name}{len(levels) + 1} at byte {pos}")
                level[name] = atr[pos]
                pos += 1
        levels.append(level)
        if "TD" not in level:
            break
        protocols.append(level["TD"] & 0x0F)
        y = level["TD"] >> 4
    k = atr[1] & 0x0F
    if pos + k > len(atr):
        raise AtrError(f"ATR truncated: {k} historical bytes announced, {len(atr) - pos} left")
    historical = atr[pos:pos + k]
    pos += k
    needs_tck = any(t != 0 for t in protocols)
    tck = None
    if needs_tck:
        if pos >= len(atr):
            raise AtrError("ATR truncated: TCK missing (a protocol other than T=0 is offered)")
        tck = atr[pos]
        pos += 1
        if _xor(atr[1:pos]):
            raise AtrError(f"ATR TCK {tck:02X} wrong: XOR of T0..TCK is {_xor(atr[1:pos]):02X}")
    if pos != len(atr):
        raise AtrError(f"ATR has {len(atr) - pos} extra byte(s) after byte {pos - 1}")
    return Atr(ts=atr[0], inverse=atr[0] == 0x3F, interface=tuple(levels),
               protocols=tuple(protocols) or (0,), historical=historical, tck=tck,
               ta1=levels[0].get("TA", INITIAL_FIDI), extra_guard=levels[0].get("TC", 0),
               specific_mode=len(levels) > 1 and "TA" in levels[1])


def pps_request(fidi, protocol=0):
    """PPSS PPS0 PPS1 PCK asking for the Fi/Di byte `fidi`; pure."""
    body = bytes((0xFF, 0x10 | protocol, fidi))
    return body + bytes((_xor(body),))


def pps_length(pps0):
    """Bytes of a whole PPS request given its PPS0 (PPSS, PPS0, PPS1..3 as flagged, PCK)."""
    return 3 + sum(1 for bit in (0x10, 0x20, 0x40) if pps0 & bit)


def pps_answer(request, atr):
    """The card's PPS response to `request`, or None when the card must stay silent; pure.

    Accepted: valid PCK, a protocol the ATR offers, not in specific mode, and PPS1 (if sent)
    equal to TA1 or to the default 11. PPS2/PPS3 are not supported: their flags are cleared
    in the answer, which ISO 7816-3 reads as "not used".
    """
    request = bytes(request)
    if request[0] != 0xFF or _xor(request) or atr.specific_mode:
        return None
    pps0 = request[1]
    if pps0 & 0x0F not in atr.protocols:
        return None
    answer = bytes((0xFF, pps0 & 0x1F))
    if pps0 & 0x10:
        fidi = request[2]
        if fidi not in (atr.ta1, INITIAL_FIDI):
            return None
        answer += bytes((fidi,))
    return answer + bytes((_xor(answer),))


def fidi_of(pps):
    """The Fi/Di byte a PPS (request or answer) selects (11 when PPS1 is absent)."""
    return pps[2] if pps[1] & 0x10 else INITIAL_FIDI


def inverse_byte(b):
    """A byte as a direct-convention UART reads an inverse-convention character."""
    return (~int(f"{b:08b}"[::-1], 2)) & 0xFF


def _xor(data):
    x = 0
    for b in data:
        x ^= b
    return x


@dataclass
class SamFaults:
    """What goes wrong with the SAM. `atr`: None, "ts", "tck" or "truncated"."""

    mute: bool = False  # no ATR, no answer to anything
    atr: str | None = None
    stuck_after: int | None = None  # answer this many APDUs per reset, then nothing
    reset_after: int | None = None  # answer this many, then reset by itself once (a power
    # glitch): its state is lost and its ATR comes, at the reset rate, instead of an answer
    nulls: int = 0  # NULL procedure bytes before each answer (slow SAM)
    null_interval: float = 0.0  # real seconds between those NULLs
    pps_ignored: bool = False  # the PPS is echoed, but the SAM stays at its old rate

    def apply_to_atr(self, atr):
        """The ATR bytes the faulty card sends (None: nothing)."""
        if self.mute:
            return None
        if self.atr is None:
            return atr
        if self.atr == "ts":
            return bytes((BAD_TS,)) + atr[1:]
        if self.atr == "truncated":
            return atr[:max(2, len(atr) // 2)]
        if self.atr == "tck":
            # A present TCK is flipped; a T=0-only ATR gets a stray TCK that does not check.
            if parse_atr(atr).tck is not None:
                return atr[:-1] + bytes((atr[-1] ^ 0xFF,))
            return atr + bytes((_xor(atr[1:]) ^ 0x5A,))
        raise ValueError(f"unknown ATR fault {self.atr!r}: use ts, tck or truncated")


def parse_fault(spec):
    """SamFaults from a CLI-style spec: mute, atr-ts, atr-tck, atr-truncated, stuck:N, slow:N,
    pps-ignored, reset:N."""
    name, _, arg = spec.partition(":")
    if name == "mute":
        return SamFaults(mute=True)
    if name == "pps-ignored":
        return SamFaults(pps_ignored=True)
    if name in ("atr-ts", "atr-tck", "atr-truncated"):
        return SamFaults(atr=name[4:])
    if name == "stuck" and arg.isdigit():
        return SamFaults(stuck_after=int(arg))
    if name == "slow" and arg.isdigit():
        return SamFaults(nulls=int(arg))
    if name == "reset" and arg.isdigit():
        return SamFaults(reset_after=int(arg))
    raise ValueError(f"unknown SAM fault {spec!r}: use mute, atr-ts, atr-tck, atr-truncated, "
                     f"stuck:N, slow:N, pps-ignored or reset:N")


# T=0 slot states
_OFF, _ATR, _PPS, _HEADER, _DATA, _MUTE = range(6)


class SamSlot(UartDevice):
    """The SAM's side of the contact slot, as a UART device (see the module docstring)."""

    def __init__(self, sam, clock=SAM_CLOCK_HZ, model=None, link="sam", faults=None):
        self.clock = clock
        self.default_baudrate = t0_baud(clock, 372, 1)
        super().__init__()
        self.sam = sam
        self.model = model
        self.link = link
        self.faults = faults or SamFaults()
        self.host_baudrate = None
        self.apdus = 0
        self._state = _OFF
        self._buf = bytearray()
        self._header = b""
        self._pending = b""
        self._atr = None
        self._lock_rx = threading.RLock()
        if model is not None and not model.has(link):
            model.add_t0(link, clock)

    # -- lines and reset ---------------------------------------------------------------
    def on_line(self, name, value):
        if name != "rst":
            return
        with self._lock_rx:
            if not value:
                self._power_reset()
            elif self._state == _OFF:
                self._answer_to_reset()

    def reset(self):
        """Assert then release RST (for links without the line: ptys, CLI, tests)."""
        self.on_line("rst", 0)
        self.on_line("rst", 1)

    def on_host_baudrate(self, baudrate):
        self.host_baudrate = baudrate

    def _power_reset(self):
        self._state = _OFF
        self._buf.clear()
        self._pending = b""
        self.apdus = 0
        self.baudrate = self.default_baudrate
        if self.model is not None:
            self.model.set_fidi(self.link, 372, 1, 0)

    def _answer_to_reset(self):
        if hasattr(self.sam, "reset"):
            self.sam.reset()  # a cold reset clears the SAM's state (selection, keys, PIN)
        atr_bytes = self.faults.apply_to_atr(bytes(self.sam.atr))
        if atr_bytes is None:
            self._state = _MUTE
            return
        self._atr = parse_atr(self.sam.atr)
        if self.model is not None:
            self.model.set_fidi(self.link, 372, 1, self._atr.extra_guard)
        self._state = _ATR
        self._send(atr_bytes)

    # -- receive -----------------------------------------------------------------------
    def on_receive(self, data):
        with self._lock_rx:
            data = self._from_wire(data)
            if self.model is not None:
                self.model.pace(self.link, len(data), "rx")
            for b in data:
                self._byte(b)

    def _byte(self, b):
        if self._state in (_OFF, _MUTE):
            return
        if self._state == _ATR:
            self._state = _PPS if b == 0xFF else _HEADER
        self._buf.append(b)
        if self._state == _PPS:
            self._pps_byte()
        elif self._state == _HEADER and len(self._buf) == 5:
            self._header = bytes(self._buf)
            self._buf.clear()
            self._on_header()
        elif self._state == _DATA and len(self._buf) == self._header[4]:
            data = bytes(self._buf)
            self._buf.clear()
            self._state = _HEADER
            self._respond(self._header + data)

    def _pps_byte(self):
        if len(self._buf) < 2 or len(self._buf) < pps_length(self._buf[1]):
            return
        answer = pps_answer(self._buf, self._atr)
        self._buf.clear()
        if answer is None:
            self._state = _MUTE
            return
        self._send(answer)
        self._state = _HEADER
        if self.faults.pps_ignored:
            return
        fidi = fidi_of(answer)
        fi, di = FI_TABLE[fidi >> 4], DI_TABLE[fidi & 0x0F]
        self.baudrate = t0_baud(self.clock, fi, di)
        if self.model is not None:
            self.model.set_fidi(self.link, fi, di)

    # -- T=0 -----------------------------------------------------------------------------
    def _on_header(self):
        cla, ins, p3 = self._header[0], self._header[1], self._header[4]
        if self.faults.stuck_after is not None and self.apdus >= self.faults.stuck_after:
            self._state = _MUTE
            return
        if self.faults.reset_after is not None and self.apdus >= self.faults.reset_after:
            self.faults.reset_after = None
            self._power_reset()
            self._answer_to_reset()
            return
        if cla == 0xFF:
            self._finish(b"\x6E\x00")
        elif ins & 0xF0 in (0x60, 0x90):
            self._finish(b"\x6D\x00")
        elif ins in OUTGOING_INS:
            self._outgoing()
        elif p3 == 0:
            self._respond(self._header[:4])
        else:
            self._state = _DATA
            self._send(bytes((ins,)))

    def _outgoing(self):
        ins, p3 = self._header[1], self._header[4]
        if ins == 0xC0 and self._pending:
            data, rest = self._pending[:p3 or 256], self._pending[p3 or 256:]
            if len(data) < (p3 or 256):
                self._finish(bytes((0x6C, len(data) & 0xFF)))
                return
            self._pending = rest
            sw = bytes((0x61, len(rest) & 0xFF)) if rest else b"\x90\x00"
        else:
            self._pending = b""
            data, sw = self._process(self._header)
        le = p3 or 256
        if not data:
            self._finish(sw)
        elif len(data) < le:
            self._finish(bytes((0x6C, len(data) & 0xFF)))
        else:
            self._finish(bytes((ins,)) + data[:le] + sw)

    def _respond(self, apdu):
        """A case 1/3/4 command is complete: data in an answer waits for GET RESPONSE."""
        self._pending = b""
        data, sw = self._process(apdu)
        if data and sw == b"\x90\x00":
            self._pending = data
            sw = bytes((0x61, len(data) & 0xFF))
        self._finish(sw)

    def _process(self, apdu):
        if self.model is not None:
            self.model.wait(self.link, card_time(classify_apdu(apdu), len(apdu)))
        answer = bytes(self.sam.process(bytes(apdu)))
        return answer[:-2], answer[-2:]

    def _finish(self, answer):
        self._nulls()
        self.apdus += 1
        if self.model is not None:
            self.model.round_trip(self.link)
        self._send(answer)

    def _nulls(self):
        for _ in range(self.faults.nulls):
            self._send(bytes((NULL,)))
            if self.faults.null_interval:
                time.sleep(self.faults.null_interval)

    # -- the wire --------------------------------------------------------------------------
    def _send(self, data):
        if self.model is not None:
            self.model.pace(self.link, len(data), "tx")
        self.send(self._to_wire(data))

    def _to_wire(self, data):
        if self._atr is not None and self._atr.inverse:
            data = bytes(inverse_byte(b) for b in data)
        return self._garble(data, self.baudrate, self.host_baudrate)

    def _from_wire(self, data):
        data = self._garble(bytes(data), self.host_baudrate, self.baudrate)
        if self._atr is not None and self._atr.inverse:
            data = bytes(inverse_byte(b) for b in data)
        return data

    @staticmethod
    def _garble(data, tx_baud, rx_baud):
        if tx_baud is None or rx_baud is None:
            return data
        return garble(data, tx_baud, rx_baud, tx_parity=True, tx_stop_bits=2, rx_parity=True)
