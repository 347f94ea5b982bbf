"""The emulated PN532 with a real sample health card (issue 3's card emulator) in its field."""

import pytest

from hcterm.emulator import load_card, samples
from hcterm.emulator.pn532_hsu import Pn532Uart
from hcterm.emulator.rf14443 import Picc

WAKE = b"\x55\x55" + bytes(14)
ACK = bytes.fromhex("0000FF00FF00")


def frame(hex_body):
    body = bytes.fromhex(hex_body)
    return bytes([0, 0, 0xFF, len(body), (0x100 - len(body)) & 0xFF]) + body + bytes(
        [(0x100 - sum(body)) & 0xFF, 0])


@pytest.fixture
def exchange():
    card = load_card(samples.paths()[0])
    chip = Pn532Uart()
    rx = bytearray()
    chip.connect(rx.extend)
    chip.field.insert(Picc(card))

    def cmd(hex_data):
        rx.clear()
        chip.on_receive(WAKE + frame("D4" + hex_data))
        assert bytes(rx[:6]) == ACK
        body = bytes(rx[11:-2])  # after ACK and the 5-byte header, before DCS and postamble
        assert body[0] == 0xD5
        return body[1:]

    assert cmd("1401") == b"\x15"
    listed = cmd("4A0100")
    assert listed[:3] == b"\x4B\x01\x01"
    uid = bytes(card.uid)
    assert listed[3:6] == bytes([0x00, 0x04, 0x20]) and listed[6] == len(uid)
    assert listed[7:7 + len(uid)] == uid and listed[7 + len(uid):] == bytes(card.ats)

    def apdu(hex_apdu):
        answer = cmd("4001" + hex_apdu)
        assert answer[:2] == b"\x41\x00", answer.hex()
        return answer[2:]

    return apdu


def test_select_ddf1_and_read_the_card_number(exchange):
    sw = exchange("00A4000002DDF1")
    assert sw == b"\x90\x00" or sw[0] == 0x61
    assert exchange("00A4000002EF05") == b"\x90\x00"
    record = exchange("00B2080014")
    assert record[-2:] == b"\x90\x00"
    assert record[0] == 0x08 and record[1] == 18  # tag 08 card number KH, 18 characters
    assert record[2:20].decode("ascii").isalnum()
