# The test operator's side of the sim bus for the health card and PSAM tests (runs inside
# micropython, talking over the sim bus to the emulator in pytest's process, whose side is
# tests/support/emu_benches.py, `# simbus: support.emu_benches:health_card…`). Modules
# that use it run with `# firmware: romfs` (the firmware imports in place, as frozen on a board).
#
# Builds the sim-pn532-uart board's objects (boards/sim-pn532-uart/board.py), the PN532 and
# SAM slot drivers, and the PSAM and health card applications on them; `tap(name)` asks the
# sim bus's "bench" UART to put a sample card on the antenna, `gbk(name)` for the sample's AN
# texts as GBK bytes (MicroPython has no GBK codec).
import json
import sys
from binascii import unhexlify

sys.path.append("../../boards/sim-pn532-uart")

import board  # noqa: E402
from simhal import UART  # noqa: E402

# The board's buses first, while the heap is whole (a terminal builds them at boot).
_PN532_BUS = board.reader_chip()
_SAM_BUS = board.sam_slot()

_bench = UART("bench", 115200, timeout=10000, timeout_char=200)


def _ask(line):
    _bench.write(line.encode() + b"\n")
    chunks = []
    while not chunks or chunks[-1][-1] != 10:
        chunk = _bench.read()       # what has come (not waiting out timeout_char)
        if not chunk:
            raise OSError("bench did not answer %r" % line)
        chunks.append(chunk)
    answer = json.loads(b"".join(chunks))
    chunks = None
    if "error" in answer:
        raise OSError("bench: " + answer["error"])
    return answer

import reader  # noqa: E402
from reader.cards.psam_admin import PSAMAdmin  # noqa: E402
from reader.chips.pn532_uart import PN532_UART  # noqa: E402
from reader.chips.sam_slot import SAMSlot  # noqa: E402
from reader.protocols.apdu import PN532Channel, SAMChannel  # noqa: E402

_chip = None
_sam = None
# Binary-file scratch buffer of the card sessions, allocated once while the heap is whole
# (as a terminal does at boot): EE/ED records and the photo are read through it.
SCRATCH = bytearray(3267)


def tap(name):
    _ask("tap " + name)


def remove():
    _ask("remove")


def tear(n):
    """The card processes n + 1 more frames and leaves before answering the last one."""
    _ask("tear %d" % n)


def putback():
    """The card that left, on the antenna again (with what the tear left on it)."""
    _ask("putback")


def clear():
    _ask("clear")


def gbk(name):
    return {k: (unhexlify(v) if isinstance(v, str) else v) for k, v in _ask("gbk " + name).items()}


def photo(name):
    return _ask("photo " + name)


def sample_file(name, path):
    """The sample image's JSON entry of one file (docs/card-image.md), read by the bench."""
    return _ask("file %s %s" % (name, path))["ok"]


def chip():
    global _chip
    if _chip is None:
        kind, uart = _PN532_BUS
        assert kind == "pn532-uart", kind
        _chip = PN532_UART(uart)
    return _chip


def activate():
    """InListPassiveTarget -> (PN532Channel, ATS)."""
    c = chip()
    target = c.list_passive_target()
    if target is None:
        raise OSError("no card on the antenna")
    return PN532Channel(c, target.tg), target.ats


def sam_slot():
    global _sam
    if _sam is None:
        uart, rst = _SAM_BUS
        _sam = SAMSlot(uart, rst)
    return _sam


def psam():
    """A freshly reset SAM (power_on, PPS) with DF01 selected (a PSAMAdmin: the PSAM the
    terminal uses plus the SAM's files and PIN)."""
    slot = sam_slot()
    reader.call("chips.sam_activation", "power_on", slot)
    p = PSAMAdmin(SAMChannel(slot))
    p.select_df01()
    return p


# -- expected values from a sample's JSON (docs/card-image.md codings) ---------------------
XB = {"male": b"\x01", "female": b"\x02", "unknown": b"\x00", "unspecified": b"\x09"}
ABO = {"A": b"\x01", "B": b"\x02", "O": b"\x03", "AB": b"\x04", "unknown": b"\x05"}


def expected(item, entry, texts):
    """What read() must return for ITEMS tuple `item` of a sample (entry = the sample's JSON
    entry of the item's file, texts = gbk(name))."""
    value = entry.get(item[5])
    coding, field = item[3], item[5]
    if coding == "AN":
        return texts.get(field, b"") if value else b""
    if coding == "CN":
        return value or ""
    if field == "XB":
        return XB[value]
    if field == "ABOXX":
        return ABO[value]
    if isinstance(value, bool) or value is None:
        return b"\x01" if value else b"\x00"
    return unhexlify(value)


def open_card(name, cls=None, sam=None):
    """Tap sample `name`, reset the SAM, activate the card -> a powered-up card session."""
    from reader.cards.healthcard import HealthCard
    tap(name)
    p = sam or psam()
    channel, ats = activate()
    card = (cls or HealthCard)(channel, p, ats, scratch=SCRATCH)
    card.power_up()
    return card


def raises(kind, fn, *args):
    """Call fn(*args); return the HealthCardError of `kind` it must raise."""
    from reader.cards.healthcard_errors import HealthCardError
    try:
        fn(*args)
    except HealthCardError as error:
        assert error.kind == kind, (kind, error.kind, error)
        return error
    raise AssertionError("no %s error" % kind)
