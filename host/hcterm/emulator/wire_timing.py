"""Wire timing: how long bytes take on each wire of a reader (PN532 HSU, RF, SAM, QR,
the host UART), and a pace mode. Not the host link protocol (that is hcterm.link).

The sim bus delivers bytes instantly; a real reader waits for its wires. This model gives
every wire a rate and an overhead, counts what crosses it, and (in pace mode) sleeps the
modeled time so the firmware sees realistic timing. Figures and their sources:
docs/wire-timing.md.

API (small on purpose; emulators of any chip use the same calls):

    model = WireTiming(pacing=False)       # default wires: see DEFAULT_WIRES
    model.add_uart("qr", 9600)             # 10 bits a byte (start + 8 + stop)
    model.add_t0("sam")                    # ISO 7816-3 T=0 at 3.5712 MHz, Fi/Di 372/1, 12 etu/char
    model.add_rf("rf")                     # ISO 14443 type A, 106 kbit/s
    model.set_baud("qr", 115200)           # a UART re-initialised
    model.set_fidi("sam", 372, 12)         # after a PPS
    model.floor(wire, nbytes) -> seconds   # modeled time of one burst, never sleeps
    model.pace(wire, nbytes, "tx"|"rx")    # count the bytes; in pace mode sleep their time
    model.wait(wire, seconds)              # processing time (card, SAM): counted, slept if pacing
    model.round_trip(wire)                 # count one command/response exchange
    model.rf_exchange_time(cmd_len, resp_len, processing=0.0) -> seconds
    card_time(command_class, nbytes=0)     # card/SAM processing figure (module function)
    classify_apdu(apdu) -> command class   # pure
    model.counters(wire) -> WireCounters(tx_bytes, rx_bytes, round_trips, modeled_s)

`garble(data, tx_baud, rx_baud)` is the line at the wrong rate: a bit-level UART receiver
sampling a sender at another baud, deterministic.

Pacing keeps a per-wire "line busy until" deadline: a pace that comes within PACE_SLACK_S
of it continues the stream, so many small paces add up to the modeled total instead of
accumulating sleep overshoot; after a longer idle gap the line starts afresh.
"""

import threading
import time
from dataclasses import dataclass

# ISO/IEC 14443-2: carrier 13.56 MHz; type A at 106 kbit/s is 128 carrier periods a bit.
RF_CARRIER_HZ = 13_560_000
RF_BIT_S = 128 / RF_CARRIER_HZ  # 9.44 us
# 8 data bits + odd parity per byte on air; one bit each for start (SOF) and end (EOF).
RF_BITS_PER_BYTE = 9
RF_FRAME_EXTRA_BITS = 2
# ISO/IEC 14443-3 frame delay times: PCD->PICC minimum (n=9, last bit 0) 1172/fc, and the
# minimum PICC->PCD guard before the reader's next frame, also 1172/fc.
RF_FDT_PCD_PICC_S = 1172 / RF_CARRIER_HZ  # 86.4 us
RF_GUARD_PICC_PCD_S = 1172 / RF_CARRIER_HZ

# ISO/IEC 7816-3: the SAM clock of common readers, and a T=0 character: start + 8 data +
# parity + 2 etu guard time = 12 etu (+ N extra guard etu from TC1).
SAM_CLOCK_HZ = 3_571_200
T0_ETU_PER_CHAR = 12
UART_BITS_PER_BYTE = 10  # start + 8 data + stop (8N1)
PACE_SLACK_S = 0.005  # a pace within this of the line's last deadline continues its stream

# Card and SAM processing time per command class: (fixed seconds, seconds per data byte).
# Plausible figures for a contactless CPU card / PSAM with EEPROM and an SM4 engine, chosen
# (not measured) as explained in docs/wire-timing.md.
CARD_TIMES = {
    "select": (0.002, 0.0),
    "read_record": (0.002, 0.000_01),
    "read_binary": (0.001, 0.000_01),
    "get_challenge": (0.002, 0.0),
    "external_authenticate": (0.006, 0.0),
    "update_plain": (0.004, 0.000_05),
    "update_crypto": (0.010, 0.000_05),
    "get_response": (0.0005, 0.0),
    "verify_pin": (0.004, 0.0),
    "sam_diversify": (0.005, 0.0),
    "sam_encrypt": (0.003, 0.000_02),
    "sam_mac": (0.004, 0.000_02),
    "other": (0.003, 0.0),
}

# (CLA & 0x80 proprietary?, INS) -> command class. CLA bit 8 separates 80DE/80FA (SAM) from
# the interindustry commands; secure messaging (CLA 04/84) marks an update with crypto.
_INS_CLASS = {
    0xA4: "select",
    0xB2: "read_record",
    0xB0: "read_binary",
    0x84: "get_challenge",
    0x82: "external_authenticate",
    0xC0: "get_response",
    0x20: "verify_pin",
    0xD6: "update_plain",
    0xDC: "update_plain",
    0xD2: "update_plain",
    0x0C: "update_plain",
}
_SAM_INS_CLASS = {0xDE: "sam_diversify", 0x5E: "verify_pin"}

# Wires a fresh model knows, as (kind, parameter): the reader's wires at power-up.
DEFAULT_WIRES = {
    "host": ("uart", 115200),
    "pn532": ("uart", 115200),
    "qr": ("uart", 9600),
    "sam": ("t0", (SAM_CLOCK_HZ, 372, 1, 0)),
    "rf": ("rf", 106_000),
}


def classify_apdu(apdu):
    """The command class (a CARD_TIMES key) of a command APDU; pure."""
    apdu = bytes(apdu)
    if len(apdu) < 4:
        return "other"
    cla, ins, p1 = apdu[0], apdu[1], apdu[2]
    if cla & 0x80 and ins == 0xFA:
        return "sam_mac" if p1 == 0x05 else "sam_encrypt"
    if cla & 0x80 and ins in _SAM_INS_CLASS:
        return _SAM_INS_CLASS[ins]
    kind = _INS_CLASS.get(ins, "other")
    if kind == "update_plain" and cla & 0x0C:
        return "update_crypto"
    return kind


def card_time(command_class, nbytes=0):
    """Modeled processing seconds of a command class moving `nbytes` of data."""
    fixed, per_byte = CARD_TIMES.get(command_class, CARD_TIMES["other"])
    return fixed + per_byte * nbytes


def rf_frame_time(nbytes, divisor=1):
    """Seconds of one ISO 14443-A frame of `nbytes` (CRC included by the caller) at 106k,
    or at 106k x `divisor` (2, 4, 8: 212, 424, 848 kbit/s after a PPS)."""
    return (nbytes * RF_BITS_PER_BYTE + RF_FRAME_EXTRA_BITS) * RF_BIT_S / divisor


@dataclass
class WireCounters:
    tx_bytes: int = 0  # device -> board (or PICC -> PCD on RF)
    rx_bytes: int = 0  # board -> device
    round_trips: int = 0
    modeled_s: float = 0.0


class _Wire:
    def __init__(self, kind, char_s):
        self.kind = kind
        self.char_s = char_s
        self.counters = WireCounters()
        self.busy_until = 0.0


class WireTiming:
    """Per-wire rates, counters and optional real-time pacing (see module docstring)."""

    def __init__(self, pacing=False, clock=time.monotonic, sleep=time.sleep):
        self.pacing = pacing
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._wires = {}
        self._last_wire = None
        for name, (kind, arg) in DEFAULT_WIRES.items():
            if kind == "uart":
                self.add_uart(name, arg)
            elif kind == "t0":
                self.add_t0(name, *arg)
            else:
                self.add_rf(name)

    # -- configuration -----------------------------------------------------------------
    def add_uart(self, name, baud, bits_per_byte=UART_BITS_PER_BYTE):
        self._wires[name] = _Wire("uart", bits_per_byte / baud)

    def add_t0(self, name, clock=SAM_CLOCK_HZ, fi=372, di=1, extra_guard=0):
        self._wires[name] = _Wire("t0", _t0_char_s(clock, fi, di, extra_guard))
        self._wires[name].t0 = (clock, fi, di, extra_guard)

    def add_rf(self, name):
        self._wires[name] = _Wire("rf", RF_BITS_PER_BYTE * RF_BIT_S)

    def has(self, name):
        return name in self._wires

    def set_baud(self, name, baud, bits_per_byte=UART_BITS_PER_BYTE):
        self._wire(name).char_s = bits_per_byte / baud

    def set_fidi(self, name, fi, di, extra_guard=None):
        wire = self._wire(name)
        clock, _, _, guard = wire.t0
        guard = guard if extra_guard is None else extra_guard
        wire.t0 = (clock, fi, di, guard)
        wire.char_s = _t0_char_s(clock, fi, di, guard)

    def char_time(self, name):
        """Seconds one byte occupies on the wire (RF: 9 bits, no frame overhead)."""
        return self._wire(name).char_s

    # -- timing ------------------------------------------------------------------------
    def floor(self, wire, nbytes, divisor=1):
        """Modeled seconds for `nbytes` sent as one burst on `wire`; never sleeps. On an RF
        wire `divisor` is the bit rate's D (1: 106 kbit/s … 8: 848 kbit/s)."""
        entry = self._wire(wire)
        if entry.kind == "rf":
            return rf_frame_time(nbytes, divisor) if nbytes else 0.0
        return nbytes * entry.char_s

    def rf_exchange_time(self, cmd_len, resp_len, processing=0.0):
        """PCD frame + FDT + card processing + PICC frame + guard before the next command."""
        return (rf_frame_time(cmd_len) + RF_FDT_PCD_PICC_S + processing
                + rf_frame_time(resp_len) + RF_GUARD_PICC_PCD_S)

    def pace(self, wire, nbytes, direction="tx", divisor=1):
        """Count `nbytes` crossing `wire`; in pace mode sleep their modeled time. -> seconds
        (`divisor`: an RF frame's bit rate, 106 kbit/s x D)"""
        seconds = self.floor(wire, nbytes, divisor)
        with self._lock:
            counters = self._wire(wire).counters
            if direction == "tx":
                counters.tx_bytes += nbytes
            else:
                counters.rx_bytes += nbytes
        self._spend(wire, seconds)
        return seconds

    def wait(self, wire, seconds):
        """Processing time on `wire` (a card thinking): counted, slept in pace mode."""
        self._spend(wire, seconds)
        return seconds

    def round_trip(self, wire):
        with self._lock:
            self._wire(wire).counters.round_trips += 1

    # -- counters ----------------------------------------------------------------------
    def counters(self, wire):
        with self._lock:
            c = self._wire(wire).counters
            return WireCounters(c.tx_bytes, c.rx_bytes, c.round_trips, c.modeled_s)

    def reset_counters(self):
        with self._lock:
            for entry in self._wires.values():
                entry.counters = WireCounters()

    # -- internals ---------------------------------------------------------------------
    def _wire(self, name):
        try:
            return self._wires[name]
        except KeyError:
            raise KeyError(f"the wire timing has no wire {name!r}; add it with add_uart/add_t0/"
                           f"add_rf (known: {', '.join(sorted(self._wires))})") from None

    def _spend(self, wire, seconds):
        entry = self._wire(wire)
        with self._lock:
            entry.counters.modeled_s += seconds
            if not self.pacing:
                return
            now = self._clock()
            # A burst that follows the previous one on the same wire within PACE_SLACK_S
            # continues it, so the sleep overshoot of many small paces is caught up instead
            # of adding up. If another wire was used in between (a chain of causes: HSU ->
            # air -> HSU), the time since belongs to that wire: start afresh.
            continues = self._last_wire == wire and now - entry.busy_until < PACE_SLACK_S
            start = entry.busy_until if continues else now
            self._last_wire = wire
            entry.busy_until = start + seconds
            delay = entry.busy_until - now
        if delay > 0:
            self._sleep(delay)


def _t0_char_s(clock, fi, di, extra_guard):
    etu = fi / (di * clock)
    return (T0_ETU_PER_CHAR + extra_guard) * etu


def t0_baud(clock, fi, di):
    """Bits per second of a 7816-3 line: clock / (Fi/Di), e.g. 3.5712 MHz, 372/1 -> 9600."""
    return round(clock * di / fi)


# -- a line at the wrong rate ---------------------------------------------------------------
def frame_bits(byte, parity=False, stop_bits=1):
    """Line levels of one asynchronous character, LSB first: start, data, [even parity], stop."""
    data = [(byte >> i) & 1 for i in range(8)]
    bits = [0] + data
    if parity:
        bits.append(sum(data) & 1)
    return bits + [1] * stop_bits


def garble(data, tx_baud, rx_baud, tx_parity=False, tx_stop_bits=1, rx_parity=False):
    """What a UART at `rx_baud` decodes from `data` sent back to back at `tx_baud`.

    A bit-level receiver: it waits for a low level, samples the start bit at its middle
    (a high sample there is a glitch, skipped), then 8 data bits at the middle of each of
    its own bit times, then (parity and) the stop bit, whose level it does not check
    (framing errors still deliver the byte, as most UART drivers do). Equal rates return
    the data unchanged. Deterministic: the same bytes always garble the same way.
    """
    data = bytes(data)
    if tx_baud == rx_baud:
        return data
    levels = []
    for byte in data:
        levels += frame_bits(byte, tx_parity, tx_stop_bits)
    ratio = tx_baud / rx_baud  # one receiver bit, in sender bit times
    n = len(levels)

    def level(x):
        i = int(x)
        return levels[i] if 0 <= i < n else 1

    out = bytearray()
    t = 0.0
    while True:
        k = int(t)
        if level(t):
            k += 1
            while k < n and levels[k]:
                k += 1
            if k >= n:
                break
        start = max(t, float(k))
        if level(start + 0.5 * ratio):
            t = start + 0.5 * ratio
            continue
        out.append(sum(level(start + (j + 1.5) * ratio) << j for j in range(8)))
        t = start + (9.5 + (1 if rx_parity else 0)) * ratio
    return bytes(out)
