"""The project's PSAM (hcterm.emulator.samples) through the slot: T=0 is transparent.

Each exchange through the slot is compared with the same APDU sent to a twin SAM directly,
and the file contents with the SAM image.
"""

from support.board_wire import Wire

from hcterm.emulator import samples
from hcterm.emulator.samslot import SamSlot, parse_atr, pps_request
from reader.cards import healthcard_items as hi

CARD_NO8 = bytes.fromhex("0102030405060708")
CITY8 = b"41000000"
RANDOM8 = bytes.fromhex("A1A2A3A4A5A6A7A8")


def powered(sam):
    slot = SamSlot(sam)
    wire = Wire(slot)
    slot.reset()
    assert wire.read(len(sam.atr)) == sam.atr
    return slot, wire


def t0(slot, wire, header, data=b"", answer_len=2):
    """One T=0 command; returns the bytes after the ACK (case 3/4) or the whole answer."""
    slot.on_receive(bytes.fromhex(header))
    if data:
        assert wire.read(1) == bytes.fromhex(header)[1:2]  # INS = ACK
        slot.on_receive(data)
    return wire.read(answer_len)


def test_atr_and_pps_of_the_sample_sam():
    sam = samples.sam()
    atr = parse_atr(sam.atr)
    slot, wire = powered(sam)
    request = pps_request(atr.ta1)
    slot.on_receive(request)
    assert wire.read(4) == request
    assert slot.baudrate == round(3_571_200 * atr.di / atr.fi)


def test_read_0015_after_select_matches_the_image():
    sam = samples.sam()
    slot, wire = powered(sam)
    assert t0(slot, wire, "00A4000002", b"\x00\x15") == b"\x90\x00"
    answer = t0(slot, wire, "00B000000E", answer_len=17)
    f = sam.image["files"]["0015"]
    content = bytes.fromhex(f["serial"]) + bytes(
        (f["version"], f["key_card_type"], f["command_set_version"], f["fci"]))
    assert answer == b"\xB0" + content + b"\x90\x00"
    assert t0(slot, wire, "00B0000010") == b"\x6C\x0E"  # wrong Le: 6Cxx from the SAM


def test_select_df01_fci_through_61xx_and_get_response():
    twin = samples.sam()
    slot, wire = powered(samples.sam())
    assert t0(slot, wire, "00A4000002", b"\xDF\x01") == b"\x61\x06"
    direct = twin.process(bytes.fromhex("00A4000002DF01"))
    assert direct == b"\x61\x06"
    fci = twin.process(bytes.fromhex("00C0000006"))
    assert t0(slot, wire, "00C0000006", answer_len=9) == b"\xC0" + fci


def test_encrypt_6110_then_get_response_equals_the_apdu_level_answer():
    twin = samples.sam()
    slot, wire = powered(samples.sam())
    _name, p1, p2, _df, _ = hi.key_info("IRK_DDF1")
    diversify = bytes((0x80, 0xDE, p1, p2, 0x18)) + CARD_NO8 + CITY8 + RANDOM8
    encrypt = bytes.fromhex("80FA000010 1122334455667788 0000000000000000")
    t0(slot, wire, "00A4000002", b"\xDF\x01")
    twin.process(bytes.fromhex("00A4000002DF01"))
    assert t0(slot, wire, diversify[:5].hex(), diversify[5:]) == b"\x90\x00"
    assert twin.process(diversify) == b"\x90\x00"
    assert t0(slot, wire, encrypt[:5].hex(), encrypt[5:]) == b"\x61\x10"
    assert twin.process(encrypt) == b"\x61\x10"
    cryptogram = twin.process(bytes.fromhex("00C0000010"))
    assert len(cryptogram) == 18 and cryptogram[-2:] == b"\x90\x00"
    assert t0(slot, wire, "00C0000010", answer_len=19) == b"\xC0" + cryptogram


def test_reset_clears_the_sam_state():
    slot, wire = powered(samples.sam())
    t0(slot, wire, "00A4000002", b"\xDF\x01")
    slot.reset()
    wire.read(len(slot.sam.atr))
    # after a cold reset the MF is current again: 001A is not found there
    assert t0(slot, wire, "00A4000002", b"\x00\x1A") == b"\x6A\x82"


def test_foreign_sam_answers_with_its_own_serial():
    home, foreign = samples.sam(), samples.foreign_sam()
    slot, wire = powered(foreign)
    t0(slot, wire, "00A4000002", b"\x00\x15")
    answer = t0(slot, wire, "00B000000E", answer_len=17)
    assert answer[1:11] == bytes.fromhex(foreign.image["files"]["0015"]["serial"])
    assert answer[1:11] != bytes.fromhex(home.image["files"]["0015"]["serial"])
