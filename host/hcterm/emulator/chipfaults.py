"""Faults the chip and RF emulators can be told to commit, from tests or `hcterm emu`.

One `ChipFaults` object is shared by the field (the air between reader and card), the
ISO 14443-4 card side and the PN532 HSU front end; each layer asks it, at the moment the fault
would happen, whether to commit it (`take(kind)`), so a fault armed for "the 3rd frame" hits
exactly the 3rd frame that layer sees.

| kind | layer | effect |
|---|---|---|
| `card_removed` | field | after answering N more frames the card leaves the field |
| `bad_crc` | field | the card's next reply arrives with a corrupted CRC_A |
| `parity` | field | the card's next reply arrives with a parity error |
| `wtx_storm` | card T=CL | the card asks for waiting time extensions before each answer |
| `evil` | card T=CL | the card answers malformed/oversized/inconsistent blocks |
| `pps_ignored` | card -3/-4 | the card answers a PPS and stays at its old bit rates |
| `chip_nack` | PN532 HSU | the chip answers a command frame with NACK instead of ACK |
| `lost_ack` | PN532 HSU | the chip's ACK never reaches the host (the response still does) |
| `garbage` | PN532 HSU | bytes of line noise arrive before the chip's next frame |
"""

import threading

# Kinds of "evil card" behaviour (see iso14443_4_card.py).
EVIL_KINDS = (
    "malformed_pcb",  # answers an I-block with a PCB that is no valid block
    "oversized",  # sends an I-block larger than the reader's FSD
    "wrong_block_number",  # answers with the block number it should not use
    "short_frame",  # a one-byte answer: a PCB and no CRC
    "ats_length",  # ATS whose TL says more bytes than it sends
)


class _Armed:
    __slots__ = ("after", "count", "arg")

    def __init__(self, after, count, arg):
        self.after = after
        self.count = count
        self.arg = arg


class ChipFaults:
    """Armed faults by kind; each `take(kind)` is one opportunity for that kind to happen."""

    def __init__(self):
        self._armed = {}
        self._lock = threading.Lock()
        self.log = []  # (kind, arg) of every fault committed, for tests and the CLI

    # -- arming ------------------------------------------------------------------------------
    def arm(self, kind, count=1, after=0, arg=None):
        """Commit `kind` at the opportunities after+1 .. after+count (count None = forever)."""
        with self._lock:
            self._armed[kind] = _Armed(after, count, arg)
        return self

    def card_removed_after(self, n_frames):
        """The card answers `n_frames` more frames, then leaves the field."""
        return self.arm("card_removed", count=1, after=n_frames)

    def bad_crc(self, count=1, after=0):
        return self.arm("bad_crc", count, after)

    def parity_error(self, count=1, after=0):
        return self.arm("parity", count, after)

    def wtx_storm(self, rounds, wtxm=1, count=None):
        """Before each of the next `count` answers (None = all) the card sends `rounds` WTX."""
        return self.arm("wtx_storm", count, 0, (rounds, wtxm))

    def evil_card(self, kind, count=1, after=0):
        if kind not in EVIL_KINDS:
            raise ValueError(f"unknown evil card kind {kind!r}; known: {', '.join(EVIL_KINDS)}")
        return self.arm("evil", count, after, kind)

    def pps_ignored(self, count=1, after=0):
        """The card answers the next PPS (PPSS echoed) but keeps its old bit rates."""
        return self.arm("pps_ignored", count, after)

    def chip_nack(self, count=1, after=0):
        return self.arm("chip_nack", count, after)

    def lost_ack(self, count=1, after=0):
        return self.arm("lost_ack", count, after)

    def garbage(self, data, count=1, after=0):
        return self.arm("garbage", count, after, bytes(data))

    def clear(self, kind=None):
        with self._lock:
            if kind is None:
                self._armed.clear()
            else:
                self._armed.pop(kind, None)

    # -- committing --------------------------------------------------------------------------
    def take(self, kind):
        """One opportunity for `kind`: return (True, arg) when the fault happens now."""
        with self._lock:
            armed = self._armed.get(kind)
            if armed is None:
                return False, None
            if armed.after > 0:
                armed.after -= 1
                return False, None
            if armed.count is not None:
                armed.count -= 1
                if armed.count <= 0:
                    del self._armed[kind]
            self.log.append((kind, armed.arg))
            return True, armed.arg

    def armed(self, kind):
        with self._lock:
            return kind in self._armed



# `hcterm emu --fault SPEC`: NAME[=ARG]. Each entry: (method, how ARG is read, help).
FAULT_SPECS = {
    "card_removed_after": ("card_removed_after", int, "N: the card leaves after N frames"),
    "bad_crc": ("bad_crc", int, "[COUNT]: card replies with a broken CRC_A"),
    "parity": ("parity_error", int, "[COUNT]: card replies with a parity error"),
    "wtx_storm": ("wtx_storm", lambda a: [int(x) for x in a.split(",")],
                  "ROUNDS[,WTXM]: WTX requests before every answer"),
    "evil": ("evil_card", str, "KIND: " + "|".join(EVIL_KINDS)),
    "pps_ignored": ("pps_ignored", int, "[COUNT]: the card answers a PPS, keeps its rates"),
    "chip_nack": ("chip_nack", int, "[COUNT]: the chip NACKs commands"),
    "lost_ack": ("lost_ack", int, "[COUNT]: the chip's ACK is lost"),
    "garbage": ("garbage", bytes.fromhex, "HEX: noise before the chip's next frame"),
}


def apply_fault_spec(faults, spec):
    """Arm one fault from a `NAME[=ARG]` string; ValueError says what is wrong with it."""
    name, _, arg = spec.partition("=")
    if name not in FAULT_SPECS:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_SPECS)}")
    method, convert, usage = FAULT_SPECS[name]
    try:
        value = convert(arg) if arg else None
    except ValueError:
        raise ValueError(f"fault {name}: bad argument {arg!r} (expected {usage})") from None
    if value is None:
        if not usage.startswith("["):
            raise ValueError(f"fault {name} needs an argument: {usage}")
        return getattr(faults, method)()
    if isinstance(value, list):
        return getattr(faults, method)(*value)
    return getattr(faults, method)(value)
