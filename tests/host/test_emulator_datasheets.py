"""The emulated PN532 and MFRC522 against their manuals (NXP UM0701-02, MFRC522 data sheet):
InAutoPoll, InCommunicateThru framing and speeds, InPSL and the card's PPS, MFAuthent against
a silent card, RF pacing at the negotiated bit rate. Exact frames."""

import time

import pytest
from support.emu_standins import StandInCard

from hcterm.emulator import pn532 as pn532_core
from hcterm.emulator.mfrc522 import Mfrc522
from hcterm.emulator.pn532_hsu import Pn532Uart
from hcterm.emulator.rf14443 import RATS, WUPA, Field, Picc, with_crc
from hcterm.emulator.wire_timing import WireTiming, rf_frame_time
from reader.crc import crc_a_bytes

WAKE = b"\x55\x55" + bytes(14)
ACK = bytes.fromhex("0000FF00FF00")
ERR = bytes.fromhex("0000FF01FF7F8100")
UID = "04A1B2C3"
ATS_106 = bytes.fromhex("0B788090028073C8211000")  # TA(1) 80: 106 kbit/s only
ATS_FAST = bytes.fromhex("0B787790028073C8211000")  # TA(1) 77: DS and DR 2, 4, 8
ATS_SAME_D = bytes.fromhex("0B789190028073C8211000")  # TA(1) 91: DS 2, DR 2, same D


def frame(hex_body):
    body = bytes.fromhex(hex_body.replace(" ", ""))
    head = bytes([0, 0, 0xFF, len(body), (0x100 - len(body)) & 0xFF])
    return head + body + bytes([(0x100 - sum(body)) & 0xFF, 0])


def RSP(hex_data):
    return frame("D5" + hex_data)


class Host:
    def __init__(self, chip):
        self.chip = chip
        self.rx = bytearray()
        chip.connect(self.rx.extend)

    def send(self, data):
        self.rx.clear()
        self.chip.on_receive(data)
        return bytes(self.rx)

    def cmd(self, hex_data):
        return self.send(b"\x00" + frame("D4" + hex_data.replace(" ", "")))

    def wait_rx(self, seconds):
        """What arrives after the command's ACK, within `seconds`."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and len(self.rx) <= len(ACK):
            time.sleep(0.005)
        time.sleep(0.005)
        return bytes(self.rx[len(ACK):])


@pytest.fixture
def chip():
    return Pn532Uart()


@pytest.fixture
def host(chip):
    h = Host(chip)
    assert h.send(WAKE + frame("D41401")) == ACK + RSP("15")
    return h


@pytest.fixture
def fast_period(monkeypatch):
    monkeypatch.setattr(pn532_core, "AUTOPOLL_PERIOD_S", 0.02)


def with_card(chip, ats=ATS_106, uid=UID):
    card = StandInCard(uid=bytes.fromhex(uid), ats=ats)
    picc = Picc(card)
    chip.field.insert(picc)
    return card, picc


# -- InAutoPoll (0x60) --------------------------------------------------------------------------
def entry(kind, ats=b""):
    data = bytes.fromhex("01 0004 20 04" .replace(" ", "") + UID) + ats
    return f"{kind:02X}{len(data):02X}" + data.hex()


def test_autopoll_mifare_type_lists_the_card_at_iso14443_3_level(chip, host):
    with_card(chip)
    assert host.cmd("60 01 01 10") == ACK + RSP("61 01" + entry(0x10))
    assert host.cmd("04") == ACK + RSP("05 00 00 01 01000000 00")  # Tg 1 is listed


def test_autopoll_iso14443_4a_type_includes_the_ats(chip, host):
    with_card(chip)
    assert host.cmd("60 01 01 20") == ACK + RSP("61 01" + entry(0x20, ATS_106))
    assert host.cmd("40 01 00A4000002DDF1") == ACK + RSP("41 00 00A40000 9000")  # usable at once


def test_autopoll_generic_106_follows_auto_rats(chip, host):
    with_card(chip)
    assert host.cmd("60 01 01 00") == ACK + RSP("61 01" + entry(0x00, ATS_106))
    host.cmd("12 00")  # AutoRATS off (nfcpy)
    assert host.cmd("60 01 01 00") == ACK + RSP("61 01" + entry(0x00))


def test_autopoll_nfc_poll_type_list_finds_the_type_a_card(chip, host):
    """libnfc's nfc-poll order: FeliCa 212/424, type B, Jewel find nothing, MIFARE does."""
    with_card(chip)
    assert host.cmd("60 14 02 11 12 23 04 10") == ACK + RSP("61 01" + entry(0x10))


def test_autopoll_types_of_other_technologies_find_nothing(chip, host, fast_period):
    with_card(chip)
    start = time.monotonic()
    assert host.cmd("60 03 01 01 02 03 04 11 12 23 40 41 42 80 81 82") == ACK
    assert host.wait_rx(2) == RSP("61 00")
    assert time.monotonic() - start >= 2 * 0.02 - 0.005  # 3 pollings, a Period apart


def test_autopoll_one_poll_without_a_card_answers_no_target(host):
    assert host.cmd("60 01 01 10 20") == ACK + RSP("61 00")


def test_autopoll_waits_its_periods_then_answers_no_target(chip, host, fast_period):
    assert host.cmd("60 04 02 10") == ACK  # 4 pollings, 2 x 20 ms apart
    time.sleep(0.05)
    assert bytes(host.rx) == ACK  # nothing more yet
    assert host.wait_rx(2) == RSP("61 00")


def test_autopoll_ff_polls_until_a_card_comes(chip, host, fast_period):
    assert host.cmd("60 FF 01 20") == ACK
    time.sleep(0.1)
    assert bytes(host.rx) == ACK  # still polling
    with_card(chip)
    assert host.wait_rx(2) == RSP("61 01" + entry(0x20, ATS_106))


def test_autopoll_ff_is_aborted_by_the_hosts_ack(chip, host, fast_period):
    assert host.cmd("60 FF 01 10") == ACK
    assert host.send(ACK) == b""
    with_card(chip)
    time.sleep(0.1)
    assert bytes(host.rx) == b""  # aborted: no answer comes
    assert host.cmd("02") == ACK + RSP("03 32010607")


def test_autopoll_two_cards_are_both_reported(chip, host):
    with_card(chip, uid="01020304")
    with_card(chip, uid="01020380")
    got = host.cmd("60 01 01 10")
    first = "10 09 01 0004 20 04 01020304"
    second = "10 09 02 0004 20 04 01020380"
    assert got == ACK + RSP("61 02" + first + second)


@pytest.mark.parametrize("args", ["", "01", "0101", "000110", "011010", "010010", "010105",
                                  "0101" + "10" * 16])
def test_autopoll_bad_parameters_get_the_error_frame(host, args):
    assert host.cmd("60" + args) == ACK + ERR


# -- InCommunicateThru: the CIU's framing and speed --------------------------------------------
@pytest.mark.parametrize("tx_mode", ["83", "82", "81", "90", "A0"])
def test_communicate_thru_type_b_felica_or_another_speed_reach_no_type_a_card(
        chip, host, tx_mode):
    card, picc = with_card(chip)
    host.cmd("12 00")
    host.cmd("4A 01 00")
    assert host.cmd("08 6302" + tx_mode) == ACK + RSP("09")
    assert host.cmd("42 E080") == ACK + RSP("43 01")  # timeout: nothing the card decodes
    assert picc.state == "ACTIVE"  # the card heard nothing
    assert host.cmd("08 6302 80") == ACK + RSP("09")
    assert host.cmd("42 E080") == ACK + RSP("43 00" + ATS_106.hex())


def test_communicate_thru_receiver_at_another_framing_hears_nothing(chip, host):
    card, picc = with_card(chip)
    host.cmd("12 00")
    host.cmd("4A 01 00")
    host.cmd("08 6303 92")  # RxMode: FeliCa 212
    assert host.cmd("42 E080") == ACK + RSP("43 01")
    assert picc.state == "PROTOCOL"  # the card got the RATS; its ATS was not decoded


# -- InPSL (0x4E) and the card's PPS -----------------------------------------------------------
def test_in_psl_to_424_both_ways(chip, host):
    card, picc = with_card(chip, ats=ATS_FAST)
    assert host.cmd("4A 01 00") == ACK + RSP("4B 01 01 0004 20 04" + UID + ATS_FAST.hex())
    assert host.cmd("4E 01 02 02") == ACK + RSP("4F 00")
    assert (picc.dri, picc.dsi) == (2, 2)
    assert host.cmd("06 6302 6303") == ACK + RSP("07 A0 A0")  # CIU TxSpeed/RxSpeed 424
    assert host.cmd("04") == ACK + RSP("05 00 00 01 01020200 00")  # Tg, BrRx, BrTx, type
    assert host.cmd("40 01 00A4000002DDF1") == ACK + RSP("41 00 00A40000 9000")
    assert card.apdus == [bytes.fromhex("00A4000002DDF1")]


def test_in_psl_different_rates_each_way(chip, host):
    card, picc = with_card(chip, ats=ATS_FAST)
    host.cmd("4A 01 00")
    assert host.cmd("4E 01 03 01") == ACK + RSP("4F 00")  # 848 to the card, 212 back
    assert (picc.dri, picc.dsi) == (3, 1)
    assert host.cmd("06 6302 6303") == ACK + RSP("07 B0 90")
    assert host.cmd("40 01 00B0000010") == ACK + RSP("41 00 00B00000 9000")


def test_in_psl_refused_by_a_106_only_card_keeps_106(chip, host):
    card, picc = with_card(chip)  # TA(1) 80
    host.cmd("4A 01 00")
    assert host.cmd("4E 01 01 01") == ACK + RSP("4F 01")  # the card ignores the PPS
    assert host.cmd("06 6302 6303") == ACK + RSP("07 80 80")
    assert host.cmd("40 01 00A4000002DDF1") == ACK + RSP("41 00 00A40000 9000")


def test_in_psl_same_divisor_bit(chip, host):
    card, picc = with_card(chip, ats=ATS_SAME_D)
    host.cmd("4A 01 00")
    assert host.cmd("4E 01 01 00") == ACK + RSP("4F 01")  # different D: not allowed
    host.cmd("4A 01 00")
    assert host.cmd("4E 01 01 01") == ACK + RSP("4F 00")
    assert (picc.dri, picc.dsi) == (1, 1)


def test_in_psl_only_right_after_the_ats(chip, host):
    with_card(chip, ats=ATS_FAST)
    host.cmd("4A 01 00")
    host.cmd("40 01 00A4000002DDF1")
    assert host.cmd("4E 01 01 01") == ACK + RSP("4F 01")


def test_in_psl_needs_an_iso_dep_target(chip, host):
    with_card(chip, ats=ATS_FAST)
    assert host.cmd("4E 01 01 01") == ACK + RSP("4F 27")  # no target yet
    host.cmd("12 00")
    host.cmd("4A 01 00")
    assert host.cmd("4E 01 01 01") == ACK + RSP("4F 27")  # listed without RATS
    assert host.cmd("4E 01 04 00") == ACK + ERR
    assert host.cmd("4E 01 01") == ACK + ERR


def test_a_card_that_answers_the_pps_and_stays_at_106_times_out_then_relists(chip, host):
    card, picc = with_card(chip, ats=ATS_FAST)
    chip.core.faults.pps_ignored()
    host.cmd("4A 01 00")
    assert host.cmd("4E 01 02 02") == ACK + RSP("4F 00")
    assert host.cmd("40 01 00A4000002DDF1") == ACK + RSP("41 01")  # chip 424, card 106
    # fall back: the card (in its ISO 14443-4 state, deaf to WUPA) is reset by a field
    # off/on; a new activation is at 106 kbit/s both ways
    assert host.cmd("32 01 00") == ACK + RSP("33")
    assert host.cmd("32 01 01") == ACK + RSP("33")
    assert host.cmd("4A 01 00") == ACK + RSP("4B 01 01 0004 20 04" + UID + ATS_FAST.hex())
    assert host.cmd("06 6302 6303") == ACK + RSP("07 80 80")
    assert host.cmd("40 01 00A4000002DDF1") == ACK + RSP("41 00 00A40000 9000")


def test_deselect_brings_card_and_chip_back_to_106(chip, host):
    card, picc = with_card(chip, ats=ATS_FAST)
    host.cmd("4A 01 00")
    host.cmd("4E 01 02 02")
    assert host.cmd("44 01") == ACK + RSP("45 00")
    assert (picc.dri, picc.dsi) == (0, 0)
    assert host.cmd("06 6302 6303") == ACK + RSP("07 80 80")
    assert host.cmd("54 01") == ACK + RSP("55 00")
    assert host.cmd("40 01 00A4000002DDF1") == ACK + RSP("41 00 00A40000 9000")


def test_card_pps_frames_on_the_air():
    field = Field()
    picc = Picc(StandInCard(ats=ATS_FAST))
    field.insert(picc)
    field.set_rf(True)
    assert field.transceive(bytes([WUPA]), 7).data == bytes.fromhex("0400")
    field.transceive(with_crc(bytes.fromhex("9370" + UID) + bytes([0x04 ^ 0xA1 ^ 0xB2 ^ 0xC3])))
    assert field.transceive(with_crc(bytes([RATS, 0x80]))).data == with_crc(ATS_FAST)
    assert field.transceive(with_crc(bytes.fromhex("D1110A"))) is None  # CID 1: not this card
    assert field.transceive(with_crc(bytes.fromhex("D011 0A"))).data == with_crc(b"\xD0")
    block = with_crc(bytes.fromhex("0200A4000002DDF1"))
    assert field.transceive(block) is None  # at 106: the card listens at 424 now
    assert field.transceive(block, speed=2, rx_speed=0) is None  # answers at 424, rx 106
    r_nak = with_crc(b"\xB2")  # the answer was lost: R(NAK) asks for it again
    assert field.transceive(r_nak, speed=2).data == with_crc(bytes.fromhex("0200A400009000"))


def test_rf_pacing_at_the_negotiated_rate():
    model = WireTiming()
    field = Field(model=model)
    picc = Picc(StandInCard(ats=ATS_FAST))
    field.insert(picc)
    field.set_rf(True)
    picc.state, picc.dri, picc.dsi = "PROTOCOL", 3, 3
    picc.t1.activate(0x80)
    field.transceive(with_crc(bytes.fromhex("0200B0000010")), speed=3)
    rf = model.counters("rf")
    air = rf_frame_time(8, 8) + rf_frame_time(9, 8)  # PCB + 4 + SW + CRC each way
    assert rf.modeled_s == pytest.approx(air + 2 * 1172 / 13.56e6)
    assert rf_frame_time(8, 8) == pytest.approx(rf_frame_time(8) / 8)


# -- MFRC522 --------------------------------------------------------------------------------------
class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def write(chip, reg, *values):
    chip.on_select(True)
    chip.transfer(bytes([(reg << 1) & 0x7E, *values]))
    chip.on_select(False)


def read(chip, reg):
    chip.on_select(True)
    got = chip.transfer(bytes([((reg << 1) & 0x7E) | 0x80, 0]))[1]
    chip.on_select(False)
    return got


def test_mfrc522_mfauthent_against_a_silent_card_ends_by_the_timer():
    clock = FakeClock()
    chip = Mfrc522(clock=clock)
    chip.field.insert(Picc(StandInCard()))
    for reg, value in ((0x2A, 0x80), (0x2B, 0xA9), (0x2C, 0x03), (0x2D, 0xE8), (0x11, 0x3D),
                       (0x14, 0x83)):
        write(chip, reg, value)
    write(chip, 0x04, 0x7F)
    write(chip, 0x0A, 0x80)
    write(chip, 0x09, *bytes.fromhex("6004 FFFFFFFFFFFF" .replace(" ", "") + UID))
    write(chip, 0x01, 0x0E)  # MFAuthent
    assert read(chip, 0x04) == 0x40  # TxIRq only: waiting for the nonce
    assert read(chip, 0x06) == 0x00  # no ProtocolErr
    assert read(chip, 0x01) & 0x0F == 0x0E  # the command runs on
    clock.now += 0.026
    assert read(chip, 0x04) == 0x41  # TimerIRq (25 ms), no IdleIRq, no ErrIRq
    assert read(chip, 0x06) == 0x00
    write(chip, 0x01, 0x00)
    assert read(chip, 0x01) & 0x0F == 0x00


def test_mfrc522_speed_bits_after_a_pps():
    clock = FakeClock()
    chip = Mfrc522(clock=clock)
    card = StandInCard(ats=ATS_FAST)
    picc = Picc(card)
    chip.field.insert(picc)
    for reg, value in ((0x2A, 0x80), (0x2B, 0xA9), (0x2C, 0x03), (0x2D, 0xE8), (0x11, 0x3D),
                       (0x14, 0x83)):
        write(chip, reg, value)

    def transceive(data, last=0):
        write(chip, 0x01, 0x00)
        write(chip, 0x04, 0x7F)
        write(chip, 0x0A, 0x80)
        write(chip, 0x09, *data)
        write(chip, 0x0D, last)
        write(chip, 0x01, 0x0C)
        write(chip, 0x0D, 0x80 | last)
        if not read(chip, 0x04) & 0x20:
            return None
        return bytes(read(chip, 0x09) for _ in range(read(chip, 0x0A)))

    transceive(b"\x26", 7)
    transceive(with_crc(bytes.fromhex("9370" + UID) + bytes([0x04 ^ 0xA1 ^ 0xB2 ^ 0xC3])))
    assert transceive(with_crc(b"\xE0\x80")) == with_crc(ATS_FAST)
    assert transceive(with_crc(bytes.fromhex("D0110F"))) == with_crc(b"\xD0")
    i_block = with_crc(bytes.fromhex("0200A4000002DDF1"))
    assert transceive(i_block) is None  # still at 106 on the chip: the card hears nothing
    write(chip, 0x12, 0x30)  # TxMode 848, no chip CRC (the frames carry theirs)
    write(chip, 0x13, 0x30)  # RxMode 848
    assert transceive(i_block) == with_crc(bytes.fromhex("0200A400009000"))
    assert card.apdus == [bytes.fromhex("00A4000002DDF1")]
    assert crc_a_bytes(b"\xD0") == with_crc(b"\xD0")[1:]


# -- the sample card with a 7-byte UID ----------------------------------------------------------
def test_sample_child_card_has_a_double_size_uid_listed_by_the_pn532(chip, host):
    from hcterm.emulator import load_card, samples

    path = next(p for p in samples.paths() if "-child-" in p.name)
    card = load_card(path)
    assert card.uid == bytes.fromhex("04C35A0B192E80")
    chip.field.insert(Picc(card))
    ats = card.ats.hex()
    assert host.cmd("4A 01 00") == ACK + RSP("4B 01 01 0044 20 07 04C35A0B192E80" + ats)
    assert host.cmd("60 01 01 10") == ACK + RSP("61 01 10 0C 01 0044 20 07 04C35A0B192E80")


def test_sample_child_card_cascade_levels_on_the_mfrc522():
    from hcterm.emulator import load_card, samples

    path = next(p for p in samples.paths() if "-child-" in p.name)
    chip = Mfrc522(clock=FakeClock())
    chip.field.insert(Picc(load_card(path)))
    write(chip, 0x14, 0x83)
    write(chip, 0x11, 0x3D)

    def transceive(data, last=0):
        write(chip, 0x01, 0x00)
        write(chip, 0x04, 0x7F)
        write(chip, 0x0A, 0x80)
        write(chip, 0x09, *data)
        write(chip, 0x01, 0x0C)
        write(chip, 0x0D, 0x80 | last)
        return bytes(read(chip, 0x09) for _ in range(read(chip, 0x0A)))

    assert transceive(b"\x26", 7) == bytes.fromhex("4400")  # ATQA: double size UID
    cl1 = bytes.fromhex("8804C35A") + bytes([0x88 ^ 0x04 ^ 0xC3 ^ 0x5A])
    assert transceive(b"\x93\x20") == cl1  # cascade tag 88 + the first 3 UID bytes + BCC
    assert transceive(with_crc(b"\x93\x70" + cl1)) == with_crc(b"\x04")  # SAK: cascade bit
    cl2 = bytes.fromhex("0B192E80") + bytes([0x0B ^ 0x19 ^ 0x2E ^ 0x80])
    assert transceive(b"\x95\x20") == cl2
    assert transceive(with_crc(b"\x95\x70" + cl2)) == with_crc(b"\x20")  # complete, ISO-4
