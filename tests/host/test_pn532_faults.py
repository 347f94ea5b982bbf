"""Faults in the chip, line and air layers: what the host sees, byte for byte."""

import pytest

from hcterm.emulator.mfrc522 import Mfrc522
from hcterm.emulator.pn532_frames import FrameParser
from hcterm.emulator.pn532_hsu import Pn532Uart
from hcterm.emulator.rf14443 import Picc
from reader.crc import crc_a_bytes

WAKE = b"\x55\x55" + bytes(14)
ACK = bytes.fromhex("0000FF00FF00")
NACK = bytes.fromhex("0000FFFF0000")
ATS = bytes.fromhex("0B788090028073C8211000")
SMALL_FSC_ATS = bytes.fromhex("0570809002")  # FSCI 0: FSC 16, 13 INF bytes per block
SELECT = "00A4000002DDF1"


def frame(hex_body):
    body = bytes.fromhex(hex_body.replace(" ", ""))
    return bytes([0, 0, 0xFF, len(body), (0x100 - len(body)) & 0xFF]) + body + bytes(
        [(0x100 - sum(body)) & 0xFF, 0])


def RSP(hex_data):
    return frame("D5" + hex_data)


class StandInCard:
    def __init__(self, ats=ATS):
        self.uid, self.ats = bytes.fromhex("04A1B2C3"), ats
        self.apdus = []

    def power_on(self):
        pass

    def process(self, apdu):
        self.apdus.append(apdu)
        return apdu[:4] + b"\x90\x00"


class Host:
    def __init__(self, ats=ATS, listed=True):
        self.chip = Pn532Uart()
        self.faults = self.chip.faults
        self.card = StandInCard(ats)
        self.chip.field.insert(Picc(self.card))
        self.rx = bytearray()
        self.chip.connect(self.rx.extend)
        assert self.cmd("1401") == ACK + RSP("15")
        if listed:
            assert self.cmd("4A0100")[:6] == ACK

    def cmd(self, hex_data):
        self.rx.clear()
        self.chip.on_receive(WAKE + frame("D4" + hex_data))
        return bytes(self.rx)


def test_card_removed_before_the_apdu_times_out():
    host = Host()
    host.chip.field.remove()
    assert host.cmd("4001" + SELECT) == ACK + RSP("4101")
    assert host.cmd("04")[6:] == RSP("05010001" + "01000000" + "00")  # last error 01


def test_card_removed_within_a_chained_apdu_disappeared():
    host = Host(ats=SMALL_FSC_ATS)
    host.faults.card_removed_after(1)  # answers the first R(ACK), then leaves
    apdu = "00D60000" + "18" + "AB" * 24  # 29 bytes: three I-blocks at FSC 16
    assert host.cmd("4001" + apdu) == ACK + RSP("412B")
    assert host.card.apdus == []
    assert ("card_removed", None) in host.faults.log


def test_one_bad_crc_is_recovered_with_r_nak():
    host = Host()
    host.faults.bad_crc()
    assert host.cmd("4001" + SELECT) == ACK + RSP("4100" + "00A40000" + "9000")
    assert host.faults.log == [("bad_crc", None)]
    assert len(host.card.apdus) == 1  # the card resent its answer; it did not run it twice


def test_persistent_bad_crc_and_parity_errors_reach_the_host():
    host = Host()
    host.faults.bad_crc(count=None)
    assert host.cmd("4001" + SELECT) == ACK + RSP("4102")
    host.faults.clear()
    host.faults.parity_error(count=None)
    assert host.cmd("4001" + SELECT) == ACK + RSP("4103")


def test_wtx_storm_is_answered_by_the_chip():
    host = Host()
    host.faults.wtx_storm(rounds=20, wtxm=59, count=1)
    assert host.cmd("4001" + SELECT) == ACK + RSP("4100" + "00A40000" + "9000")
    assert host.chip.core.initiator.wtx_seen == 20


def test_endless_wtx_storm_ends_in_a_timeout():
    host = Host()
    host.faults.wtx_storm(rounds=1000, wtxm=1, count=1)
    assert host.cmd("4001" + SELECT) == ACK + RSP("4101")


def test_chip_nack_lost_ack_and_garbage_on_the_line():
    host = Host(listed=False)
    host.faults.chip_nack()
    assert host.cmd("02") == NACK  # the host must send the command again
    assert host.cmd("02") == ACK + RSP("0332010607")
    host.faults.lost_ack()
    assert host.cmd("02") == RSP("0332010607")
    host.faults.garbage(b"\xFF\x12\x00\x34")
    got = host.cmd("02")
    assert got == b"\xFF\x12\x00\x34" + ACK + RSP("0332010607")
    events = FrameParser().feed(got)
    assert [e[0] for e in events] == ["ack", "frame"]


@pytest.mark.parametrize("kind, status", [
    ("malformed_pcb", "0B"), ("oversized", "0B"), ("wrong_block_number", "0B"),
    ("short_frame", "02")])
def test_evil_card_blocks(kind, status):
    host = Host()
    host.faults.evil_card(kind)  # once: the chip's R(NAK) gets the right block
    assert host.cmd("4001" + SELECT) == ACK + RSP("4100" + "00A40000" + "9000")
    host.faults.evil_card(kind, count=None)  # always: the chip gives up
    assert host.cmd("4001" + SELECT) == ACK + RSP("41" + status)


def test_evil_card_inconsistent_ats_is_passed_on_as_received():
    host = Host(listed=False)
    host.faults.evil_card("ats_length")
    bad_ats = bytes([ATS[0] + 4]) + ATS[1:]
    assert host.cmd("4A0100") == ACK + RSP("4B01 01 0004 20 04 04A1B2C3" + bad_ats.hex())


def test_bad_crc_on_the_air_reaches_the_mfrc522_error_register():
    chip = Mfrc522()
    chip.field.insert(Picc(StandInCard()))
    chip.write(0x14, 0x83)
    chip.write(0x13, 0x80)  # RxMode CRC on
    chip.write(0x11, 0x3D)

    def transceive(data, last_bits=0):
        chip.write(0x04, 0x7F)
        chip.write(0x0A, 0x80)
        for b in data:
            chip.write(0x09, b)
        chip.write(0x01, 0x0C)
        chip.write(0x0D, 0x80 | last_bits)
        return chip.read(0x06)

    transceive(b"\x26", 7)
    transceive(bytes.fromhex("9320"))
    chip.faults.bad_crc()
    select = bytes.fromhex("937004A1B2C3D4")
    assert transceive(select + crc_a_bytes(select)) == 0x04  # CRCErr
    assert chip.read(0x04) & 0x02  # ErrIRq
