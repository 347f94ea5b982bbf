"""The card on the air: ISO 14443-3 activation and ISO 14443-4 blocks, frame by frame."""

import pytest
from support.emu_standins import ATS, StandInCard

from hcterm.emulator.iso14443_4_card import fwt_seconds, parse_ats
from hcterm.emulator.rf14443 import Field, Picc, frame_bits, pack_bits
from reader.crc import crc_a_bytes


def crc(hex_frame):
    data = bytes.fromhex(hex_frame)
    return data + crc_a_bytes(data)




def field_with(*cards):
    field = Field()
    for card in cards:
        field.insert(Picc(card))
    field.set_rf(True)
    return field


def air(field, data, last_bits=0):
    reply = field.transceive(data, last_bits)
    return None if reply is None else reply.data


def activate(field, uid=bytes.fromhex("04A1B2C3")):
    assert air(field, b"\x26", 7) == bytes.fromhex("0400")
    assert air(field, bytes.fromhex("9320")) == uid + bytes([uid[0] ^ uid[1] ^ uid[2] ^ uid[3]])
    bcc = uid[0] ^ uid[1] ^ uid[2] ^ uid[3]
    assert air(field, crc("9370" + uid.hex() + f"{bcc:02X}")) == crc("20")
    assert air(field, crc("E080")) == ATS + crc_a_bytes(ATS)


@pytest.mark.parametrize("frame, expected", [
    ("E080", "3173"), ("E050", "BCA5"), ("5000", "57CD"), ("93709EF5690B09", "777F")])
def test_crc_a_vectors(frame, expected):
    assert crc_a_bytes(bytes.fromhex(frame)) == bytes.fromhex(expected)


def test_bits_round_trip():
    assert pack_bits(frame_bits(b"\x26", 7)) == (b"\x26", 7)
    assert frame_bits(b"\x01\x80") == [1] + [0] * 14 + [1]


def test_reqa_anticollision_select_rats_4_byte_uid():
    activate(field_with(StandInCard()))


def test_seven_byte_uid_uses_two_cascade_levels():
    uid = bytes.fromhex("04112233445566")
    field = field_with(StandInCard(uid=uid))
    assert air(field, b"\x52", 7) == bytes.fromhex("4400")
    cl1, cl2 = bytes.fromhex("88041122"), bytes.fromhex("33445566")
    assert air(field, bytes.fromhex("9320")) == cl1 + bytes([0x88 ^ 0x04 ^ 0x11 ^ 0x22])
    assert air(field, crc("937088041122BF")) == crc("04")  # cascade bit: UID not complete
    assert air(field, bytes.fromhex("9520")) == cl2 + bytes([0x33 ^ 0x44 ^ 0x55 ^ 0x66])
    assert air(field, crc("957033445566" + f"{0x33 ^ 0x44 ^ 0x55 ^ 0x66:02X}")) == crc("20")


def test_bit_oriented_anticollision_between_two_cards():
    field = field_with(StandInCard(uid=bytes.fromhex("01020304")),
                       StandInCard(uid=bytes.fromhex("01020380")))
    reply = field.transceive(b"\x26", 7)
    assert reply.data == bytes.fromhex("0400") and reply.collision is None
    reply = field.transceive(bytes.fromhex("9320"))
    assert reply.collision == 26  # byte 3, bit 2: 0x04 vs 0x80
    # Known 26 bits + a 1: NVB 0x53 (5 bytes, 3 bits), only the card with bit 1 answers.
    known, _ = pack_bits(frame_bits(bytes.fromhex("9353")) + reply.bits[:26] + [1])
    reply = field.transceive(known, 3)
    assert reply.collision is None and len(reply.bits) == 40 - 27


def test_hlta_and_wupa_from_halt():
    field = field_with(StandInCard())
    air(field, b"\x26", 7)
    air(field, bytes.fromhex("9320"))
    air(field, crc("937004A1B2C3D4"))
    assert air(field, crc("5000")) is None
    assert air(field, b"\x26", 7) is None  # REQA does not wake a halted card
    assert air(field, b"\x52", 7) == bytes.fromhex("0400")


def test_parse_ats_and_fwt():
    info = parse_ats(ATS)
    assert (info["fsc"], info["fwi"], info["cid"], info["ta"]) == (256, 9, True, 0x80)
    assert info["historical"] == bytes.fromhex("8073C8211000")
    assert abs(fwt_seconds(4) - 0.004833) < 1e-5
    with pytest.raises(ValueError, match="TL"):
        parse_ats(bytes.fromhex("0C788090"))


def test_i_block_block_numbers_and_presence_check():
    field = field_with(StandInCard())
    activate(field)
    assert air(field, crc("0200A4000002DDF1")) == crc("0200A400009000")
    assert air(field, crc("0300B2080014")) == crc("0300B208009000")
    assert air(field, crc("B2")) == crc("A3")  # R(NAK) other block number: R(ACK) (present)
    assert air(field, crc("B3")) == crc("0300B208009000")  # same number: resend last block
    assert air(field, crc("0A0000A4")) == crc("0A0000A49000")  # CID 0 given: echoed


def test_chaining_both_ways_within_fsd():
    card = StandInCard(answer=bytes(range(40)) + b"\x90\x00")
    field = field_with(card)
    air(field, b"\x26", 7)
    air(field, bytes.fromhex("9320"))
    air(field, crc("937004A1B2C3D4"))
    assert air(field, crc("E020")) == ATS + crc_a_bytes(ATS)  # FSD 32: 29 INF bytes per block
    assert air(field, crc("1200A40000")) == crc("A2")  # chained I-block: R(ACK)
    assert air(field, crc("0302DDF1")) == crc("13" + bytes(range(29)).hex())
    assert card.apdus == [bytes.fromhex("00A4000002DDF1")]
    assert air(field, crc("A3")) == crc("13" + bytes(range(29)).hex())  # same number: resend
    assert air(field, crc("A2")) == crc("02" + bytes(range(29, 40)).hex() + "9000")


def test_wtx_when_processing_exceeds_fwt_then_deselect():
    card = StandInCard(seconds=0.5)  # FWT at FWI 9 is 154.7 ms
    field = field_with(card)
    activate(field)
    assert air(field, crc("0200A4")) == crc("F204")  # WTXM 4
    assert air(field, crc("F204")) == crc("0200A49000")
    assert air(field, crc("C2")) == crc("C2")
    assert air(field, crc("0300A4")) is None  # HALT
    assert air(field, b"\x52", 7) == bytes.fromhex("0400")


def test_cid_addressing():
    field = field_with(StandInCard())
    air(field, b"\x26", 7)
    air(field, bytes.fromhex("9320"))
    air(field, crc("937004A1B2C3D4"))
    assert air(field, crc("E083")) == ATS + crc_a_bytes(ATS)  # CID 3
    assert air(field, crc("0200A4")) is None  # without its CID: not for this card
    assert air(field, crc("0A0100A4")) is None  # CID 1: another card
    assert air(field, crc("0A0300A4")) == crc("0A0300A49000")


def test_card_leaves_the_field():
    field = field_with(StandInCard())
    activate(field)
    field.remove()
    assert air(field, crc("0200A4")) is None
    assert air(field, b"\x52", 7) is None
