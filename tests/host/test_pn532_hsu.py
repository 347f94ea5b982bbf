"""The emulated PN532 on its UART: exact bytes for every command a host sends."""

import pytest

from hcterm.emulator.iso14443_4_card import PCB_R_ACK
from hcterm.emulator.pn532_hsu import Pn532Uart, garble
from hcterm.emulator.rf14443 import Picc

WAKE = b"\x55\x55" + bytes(14)
ACK = bytes.fromhex("0000FF00FF00")
ERR = bytes.fromhex("0000FF01FF7F8100")
UID = bytes.fromhex("04A1B2C3")
UID7 = bytes.fromhex("04112233445566")
ATS = bytes.fromhex("0B788090028073C8211000")


def frame(hex_body):
    body = bytes.fromhex(hex_body.replace(" ", ""))
    if len(body) > 255:
        n = len(body)
        head = bytes([0, 0, 0xFF, 0xFF, 0xFF, n >> 8, n & 0xFF, (0x100 - (n >> 8) - n) & 0xFF])
    else:
        head = bytes([0, 0, 0xFF, len(body), (0x100 - len(body)) & 0xFF])
    return head + body + bytes([(0x100 - sum(body)) & 0xFF, 0])


def CMD(hex_data):
    return frame("D4" + hex_data)


def RSP(hex_data):
    return frame("D5" + hex_data)


class StandInCard:
    """Echoes APDU headers; `answer` overrides; records what it processed."""

    def __init__(self, uid=UID, ats=ATS, answer=None):
        self.uid, self.ats, self.answer = uid, ats, answer
        self.apdus = []

    def power_on(self):
        pass

    def process(self, apdu):
        self.apdus.append(apdu)
        if self.answer is not None:
            return self.answer
        return b"\x90\x00" if apdu[:2] == b"\x00\xA4" else apdu[:4] + b"\x90\x00"


class Host:
    def __init__(self, chip):
        self.chip = chip
        self.rx = bytearray()
        chip.connect(self.rx.extend)

    def send(self, data):
        self.rx.clear()
        self.chip.on_receive(data)
        return bytes(self.rx)

    def cmd(self, hex_data, wake=False):
        return self.send((WAKE if wake else b"\x00") + CMD(hex_data))


@pytest.fixture
def chip():
    return Pn532Uart()


@pytest.fixture
def host(chip):
    h = Host(chip)
    assert h.cmd("1401", wake=True) == ACK + RSP("15")
    return h


def with_card(chip, **kw):
    card = StandInCard(**kw)
    chip.field.insert(Picc(card))
    return card


def test_get_firmware_version_sample(chip):
    h = Host(chip)
    got = h.send(WAKE + bytes.fromhex("0000FF02FED4022A00"))
    assert got == ACK + bytes.fromhex("0000FF06FAD50332010607E800")


def test_asleep_chip_loses_a_frame_without_wake_up_bytes(chip):
    h = Host(chip)
    assert h.send(CMD("1401")) == b""  # lost: it only woke the chip
    assert h.send(CMD("1401")) == ACK + RSP("15")


def test_nfcpy_style_wake_up_with_zeros(chip):
    assert Host(chip).send(bytes(10) + CMD("02")) == ACK + RSP("0332010607")


def test_lowvbat_until_sam_configuration(chip):
    h = Host(chip)
    assert h.cmd("4A0100", wake=True) == ACK + ERR
    assert h.cmd("14011401") == ACK + RSP("15")  # Adafruit form
    h.cmd("3205FF0100")
    assert h.cmd("4A0100") == ACK + RSP("4B00")


@pytest.mark.parametrize("args", ["01", "0100", "010000", "011401", "0214", "030000", "0401"])
def test_sam_configuration_argument_forms(chip, args):
    assert Host(chip).cmd("14" + args, wake=True) == ACK + RSP("15")


@pytest.mark.parametrize("args", ["", "05", "02", "0101010101"])
def test_sam_configuration_bad_arguments_get_the_error_frame(chip, args):
    assert Host(chip).cmd("14" + args, wake=True) == ACK + ERR


def test_diagnose_line_test_echoes_the_test_number(host):
    assert host.cmd("00006C69626E6663") == ACK + RSP("01006C69626E6663")


def test_diagnose_extended_echo_of_262_bytes(host):
    data = bytes(i & 0xFF for i in range(261))
    got = host.send(b"\x00" + frame("D40000" + data.hex()))
    assert got == ACK + RSP("0100" + data.hex())
    assert got[6:11] == bytes([0, 0, 0xFF, 0xFF, 0xFF])  # the answer is extended too


def test_error_frame_on_bad_checksums_and_nack_resends(host):
    assert host.send(bytes.fromhex("0000FF02FED4022B00")) == ERR
    assert host.cmd("02") == ACK + RSP("0332010607")
    assert host.send(bytes.fromhex("0000FFFF0000")) == RSP("0332010607")


def test_exactly_one_preamble_byte(host):
    got = host.cmd("02")
    assert got[:3] == b"\x00\x00\xFF" and got[6:9] == b"\x00\x00\xFF"


def test_general_status_registers_and_parameters(host):
    assert host.cmd("04") == ACK + RSP("05000000" + "00")
    assert host.cmd("0663026303630D") == ACK + RSP("07808000")
    assert host.cmd("08630200630380") == ACK + RSP("09")
    assert host.cmd("066302633963FF") == ACK + RSP("07000000")
    assert host.cmd("1214") == ACK + RSP("13")
    assert host.cmd("12") == ACK + ERR
    assert host.cmd("60") == ACK + ERR  # InAutoPoll without PollNr, Period, types


# UM0701-02 RFConfiguration: every CfgItem with its ConfigurationData length.
RF_ITEMS = {"01": 1, "02": 3, "04": 1, "05": 3, "0A": 11, "0B": 8, "0C": 3, "0D": 9}


@pytest.mark.parametrize("item", sorted(RF_ITEMS))
def test_rf_configuration_items_at_their_manual_length(host, item):
    n = RF_ITEMS[item]
    data = "01" if item == "01" else "5A" * n
    assert host.cmd("32" + item + data) == ACK + RSP("33")
    assert host.cmd("32" + item + "5A" * (n + 1)) == ACK + ERR  # one byte too many
    if n > 1:
        assert host.cmd("32" + item + "5A" * (n - 1)) == ACK + ERR  # one short


def test_rf_configuration_analog_items_kept_and_unknown_items_refused(chip, host):
    assert host.cmd("320B" + "59F43F114D85616F") == ACK + RSP("33")  # 212/424 kbps analog
    assert host.cmd("320C" + "FF0485") == ACK + RSP("33")  # type B analog
    assert chip.core.analog[0x0B] == bytes.fromhex("59F43F114D85616F")
    assert chip.core.analog[0x0C] == bytes.fromhex("FF0485")
    assert host.cmd("3203" + "00") == ACK + ERR
    assert host.cmd("32") == ACK + ERR


def test_rf_configuration_wrong_length(host):
    assert host.cmd("3205FF") == ACK + ERR


def test_in_list_passive_target_with_ats_in_manual_order(chip, host):
    with_card(chip)
    got = host.cmd("4A0100")
    assert got == ACK + RSP("4B01 01 0004 20 04 04A1B2C3" + ATS.hex())
    assert host.cmd("04") == ACK + RSP("05000001" + "01000000" + "00")


def test_in_list_without_auto_rats_has_no_ats(chip, host):
    with_card(chip)
    host.cmd("1200")
    assert host.cmd("4A0100") == ACK + RSP("4B01 01 0004 20 04 04A1B2C3")


def test_seven_byte_uid_and_other_modulations(chip, host):
    with_card(chip, uid=UID7)
    assert host.cmd("4A0100") == ACK + RSP("4B01 01 0044 20 07 04112233445566" + ATS.hex())
    host.cmd("3205FF0100")  # finite MxRtyPassiveActivation (nfc-list does the same)
    for brty in ("01", "0100FFFF0100", "02", "0300", "04"):
        assert host.cmd("4A01" + brty) == ACK + RSP("4B00")
    assert host.cmd("4A0105") == ACK + ERR  # no BrTy 05


@pytest.mark.parametrize("brty", ["0100FFFF0100", "0200FFFF0100", "0300", "04"])
def test_other_modulations_wait_like_106a_with_retries_ff(chip, host, brty):
    """MxRtyPassiveActivation FF (the reset value): the chip keeps polling that modulation.
    A type A card entering the field is not of it: no answer; the host's ACK aborts."""
    assert host.cmd("4A01" + brty) == ACK  # no answer yet
    host.rx.clear()
    with_card(chip)
    assert bytes(host.rx) == b""  # a type A card completes no FeliCa/B/Jewel poll
    assert host.send(ACK) == b""  # aborted
    assert host.cmd("02") == ACK + RSP("0332010607")
    assert host.cmd("4A0100") == ACK + RSP("4B01 01 0004 20 04 04A1B2C3" + ATS.hex())


def test_two_cards_collide_and_both_are_listed(chip, host):
    with_card(chip, uid=bytes.fromhex("01020304"))
    with_card(chip, uid=bytes.fromhex("01020380"))
    got = host.cmd("4A0200")
    # The UIDs first differ in bit 2 of byte 3 (air order: LSB first); the chip picks 1 there.
    first = "01 0004 20 04 01020304" + ATS.hex()
    second = "02 0004 20 04 01020380" + ATS.hex()
    assert got == ACK + RSP("4B02" + first + second)


def test_no_card_with_finite_retries(host):
    host.cmd("3205FF0100")
    assert host.cmd("4A0100") == ACK + RSP("4B00")


def test_retry_forever_completes_when_a_card_arrives(chip, host):
    assert host.cmd("4A0100") == ACK  # no answer yet: waiting for a card
    host.rx.clear()
    with_card(chip)
    assert bytes(host.rx) == RSP("4B01 01 0004 20 04 04A1B2C3" + ATS.hex())


def test_ack_from_host_aborts_the_waiting_command(chip, host):
    assert host.cmd("4A0100") == ACK
    assert host.send(ACK) == b""
    host.rx.clear()
    with_card(chip)
    assert bytes(host.rx) == b""  # aborted: the arrival completes nothing
    assert host.cmd("02") == ACK + RSP("0332010607")


def test_in_data_exchange_iso_dep_by_the_chip(chip, host):
    card = with_card(chip)
    host.cmd("4A0100")
    assert host.cmd("4001" + "00A4000002DDF1") == ACK + RSP("4100" + "9000")
    assert host.cmd("4001" + "00B2080014") == ACK + RSP("4100" + "00B20800" + "9000")
    assert card.apdus == [bytes.fromhex("00A4000002DDF1"), bytes.fromhex("00B2080014")]


def test_in_data_exchange_host_chaining_and_long_answer(chip, host):
    card = with_card(chip, answer=bytes(300) + b"\x90\x00")
    host.cmd("4A0100")
    assert host.cmd("4041" + "00D6000004") == ACK + RSP("4100")  # MI: more from the host
    got = host.cmd("4001" + "AABBCCDD")
    assert card.apdus == [bytes.fromhex("00D6000004AABBCCDD")]
    assert got == ACK + RSP("4140" + "00" * 262)  # MI: more from the chip
    assert host.cmd("4001") == ACK + RSP("4100" + "00" * 38 + "9000")


def test_in_data_exchange_to_an_unknown_target(host):
    assert host.cmd("400100A4") == ACK + RSP("4127")


def test_in_communicate_thru_host_does_t_cl(chip, host):
    with_card(chip)
    host.cmd("1200")  # no AutoRATS: the host activates ISO-DEP itself (nfcpy)
    host.cmd("4A0100")
    assert host.cmd("42E080") == ACK + RSP("4300" + ATS.hex())
    assert host.cmd("4202" + "00A4000002DDF1") == ACK + RSP("4300" + "02" + "9000")
    assert host.cmd("42B3") == ACK + RSP("4300" + f"{PCB_R_ACK:02X}")  # presence check
    assert host.cmd("42C2") == ACK + RSP("4300C2")  # DESELECT
    assert host.cmd("4202" + "00A4") == ACK + RSP("4301")  # halted: silent


def test_in_communicate_thru_without_crc_sends_raw_frames(chip, host):
    with_card(chip)
    host.cmd("0863020063030063 3D07".replace(" ", ""))
    assert host.cmd("4226") == ACK + RSP("4300" + "0400")  # REQA as a 7-bit frame: ATQA


def test_deselect_select_release(chip, host):
    card = with_card(chip)
    host.cmd("4A0100")
    assert host.cmd("4401") == ACK + RSP("4500")
    assert host.cmd("400100A4") == ACK + RSP("4101")  # halted card does not answer
    assert host.cmd("5401") == ACK + RSP("5500")
    assert host.cmd("4001" + "00A4000002DDF1") == ACK + RSP("41009000")
    assert host.cmd("5200") == ACK + RSP("5300")
    assert host.cmd("4001" + "00A4") == ACK + RSP("4127")
    assert host.cmd("5402") == ACK + RSP("5527")
    assert len(card.apdus) == 1


def test_power_down_then_wake_up(host):
    assert host.cmd("16F0") == ACK + RSP("1700")
    assert host.cmd("02") == b""  # asleep: this frame only wakes it
    assert host.cmd("02", wake=True) == ACK + RSP("0332010607")


def test_set_serial_baudrate_switches_after_the_hosts_ack(chip, host):
    chip.on_host_baudrate(115200)
    assert host.cmd("1007") == ACK + RSP("11")
    assert chip.baudrate == 115200
    host.send(ACK)
    assert chip.baudrate == 921600
    # The board still at 115200: garbled both ways, no answer it can read.
    got = host.send(garble(WAKE + CMD("02"), 115200, 921600))
    assert got != ACK + RSP("0332010607")
    chip.on_host_baudrate(921600)
    assert host.cmd("02") == ACK + RSP("0332010607")
