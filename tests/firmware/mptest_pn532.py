# firmware: romfs
# PN532 command core over the UART transport: golden frames against a scripted UART.
from fake_buses import ACK, CMD, NACK, RSP, ScriptedUART, h

import reader
from reader import errors as driver_errors
from reader.chips.pn532 import CMD as COMMANDS
from reader.chips.pn532 import (
    CONTROL,
    ERR,
    NO_ACK,
    NO_RESPONSE,
    SYNTAX_ERROR,
    PN532Error,
    frame,
    parse_target_106a,
)
from reader.chips.pn532_raw_frames import PN532Frames
from reader.chips.pn532_uart import PN532_UART


def control(chip, command, *args):
    """A set-up command as the firmware sends it (reader.chips.pn532_control, transient)."""
    return reader.call(CONTROL, command, chip, *args)

WAKE = h("55 55") + bytes(14)
SAMCONF = CMD("14 01 14 01")


def chip(*steps):
    uart = ScriptedUART()
    uart.expect(WAKE).expect(SAMCONF, ACK() + RSP("15"))
    for write, reply in steps:
        uart.expect(write, reply)
    drv = PN532_UART(uart)
    drv.response_timeout_ms = 30
    return drv, uart


def test_frame_helpers_match_the_reference_samples():
    assert CMD("02") == h("00 00 FF 02 FE D4 02 2A 00")
    assert RSP("03 32 01 06 07") == h("00 00 FF 06 FA D5 03 32 01 06 07 E8 00")
    assert CMD("4A 01 00") == h("00 00 FF 04 FC D4 4A 01 00 E1 00")
    assert frame(0x4A, b"\x01\x00") == CMD("4A 01 00")


def test_wakeup_then_samconfiguration_is_the_first_command():
    drv, uart = chip()
    uart.done()
    assert uart.script.written[0] == WAKE


def test_get_firmware_version_golden_bytes():
    drv, uart = chip((h("00 00 FF 02 FE D4 02 2A 00"),
                      ACK() + h("00 00 FF 06 FA D5 03 32 01 06 07 E8 00")))
    assert drv.firmware_version() == (0x32, 1, 6, 7)
    uart.done()


def test_in_list_passive_target_golden_and_ats_parse():
    uid = "DE AD BE EF"
    ats = "10 78 80 90 02 20 90 00 00 00 00 00 86 12 34 56"
    drv, uart = chip((h("00 00 FF 04 FC D4 4A 01 00 E1 00"),
                      ACK() + RSP("4B 01 01 00 04 28 04 " + uid + " " + ats)))
    t = drv.list_passive_target()
    assert t.tg == 1 and t.atqa == 0x0004 and t.sak == 0x28
    assert t.uid == h(uid) and t.ats == h(ats) and t.iso_dep()
    uart.done()


def test_no_card_gives_none():
    drv, uart = chip((CMD("4A 01 00"), ACK() + RSP("4B 00")))
    assert drv.list_passive_target() is None


def test_parse_target_without_ats_and_seven_byte_uid():
    t = parse_target_106a(h("01 01 00 44 00 07 04 11 22 33 44 55 66"))
    assert t.uid == h("04 11 22 33 44 55 66") and t.ats is None and not t.iso_dep()
    try:
        parse_target_106a(h("01 01 00 44 00 07 04 11"))
    except PN532Error as e:
        assert e.kind == driver_errors.CHIP
    else:
        raise AssertionError("truncated answer accepted")


def test_data_exchange_short_apdu():
    drv, uart = chip((CMD("40 01 00 A4 00 00 02 DD F1"), ACK() + RSP("41 00 90 00")))
    out = bytearray(300)
    n = drv.data_exchange(1, h("00 A4 00 00 02 DD F1"), out)
    assert out[:n] == h("90 00")
    uart.done()


def test_data_exchange_261_bytes_uses_extended_frames_both_ways():
    apdu = bytes(i & 0xFF for i in range(261))
    answer = bytes((i * 7) & 0xFF for i in range(258)) + h("90 00")   # 260 > 255: extended
    cmd = CMD(b"\x40\x01" + apdu)
    assert cmd[3:5] == h("FF FF") and cmd[5:7] == h("01 08")          # LEN = 264
    drv, uart = chip((cmd, ACK() + RSP(b"\x41\x00" + answer)))
    out = bytearray(600)
    n = drv.data_exchange(1, apdu, out)
    assert bytes(out[:n]) == answer
    uart.done()


def test_data_exchange_chains_host_to_chip_with_mi():
    data = bytes(range(256)) + bytes(44)                              # 300 > 262
    drv, uart = chip((CMD(b"\x40\x41" + data[:262]), ACK() + RSP("41 00")),
                     (CMD(b"\x40\x01" + data[262:]), ACK() + RSP("41 00 90 00")))
    out = bytearray(16)
    assert out[:drv.data_exchange(1, data, out)] == h("90 00")
    uart.done()


def test_data_exchange_collects_mi_answers():
    drv, uart = chip((CMD("40 01 00 B0 00 00 00"), ACK() + RSP("41 40 01 02 03")),
                     (CMD("40 01"), ACK() + RSP("41 40 04 05")),
                     (CMD("40 01"), ACK() + RSP("41 00 06 90 00")))
    out = bytearray(16)
    n = drv.data_exchange(1, h("00 B0 00 00 00"), out)
    assert out[:n] == h("01 02 03 04 05 06 90 00")
    uart.done()


def test_bad_checksum_sends_nack_and_rereads():
    good = RSP("03 32 01 06 07")
    bad = bytearray(good)
    bad[-2] ^= 0x55
    drv, uart = chip((CMD("02"), ACK() + bytes(bad)), (NACK(), good))
    assert drv.firmware_version()[0] == 0x32
    uart.done()


def test_every_chip_status_raises_with_code_meaning_and_kind():
    for code in (0x01, 0x02, 0x13, 0x14, 0x27, 0x2B):
        drv, uart = chip((CMD("40 01 00 84 00 00 08"), ACK() + RSP("41 %02X" % code)))
        try:
            drv.data_exchange(1, h("00 84 00 00 08"), bytearray(32))
        except PN532Error as e:
            assert e.code == code and ERR[code][0] in str(e) and "InDataExchange" in str(e)
            assert e.kind == ERR[code][1]
        else:
            raise AssertionError("status %02X not raised" % code)
    assert PN532Error(0x2B).kind == driver_errors.CARD_GONE
    assert PN532Error(0x01).retryable()


def test_tables_name_every_code():
    for _code, (meaning, kind) in ERR.items():
        assert meaning and kind in (driver_errors.TIMEOUT, driver_errors.TRANSMISSION,
                                    driver_errors.PROTOCOL, driver_errors.CARD_GONE,
                                    driver_errors.AUTH, driver_errors.CHIP,
                                    driver_errors.UNSUPPORTED)
    for code in (0x02, 0x14, 0x32, 0x40, 0x42, 0x4A, 0x52):
        assert code in COMMANDS


def test_chip_stops_answering_then_recovers_with_rewake_and_replay():
    drv, uart = chip((CMD("12 14"), ACK() + RSP("13")),
                     (CMD("32 05 FF 01 02"), ACK() + RSP("33")),
                     (CMD("02"), b""),                                # silence: no ACK
                     (WAKE, b""),
                     (SAMCONF, ACK() + RSP("15")),
                     (CMD("12 14"), ACK() + RSP("13")),
                     (CMD("32 05 FF 01 02"), ACK() + RSP("33")),
                     (CMD("02"), ACK() + RSP("03 32 01 06 07")))
    control(drv, "set_parameters", 0x14)
    control(drv, "set_retries", 0xFF, 0x01, 0x02)
    assert drv.firmware_version() == (0x32, 1, 6, 7)
    assert drv.recoveries == 1
    uart.done()


def test_dead_chip_raises_no_ack_without_hanging():
    drv, uart = chip((CMD("02"), b""), (WAKE, b""), (SAMCONF, b""))
    try:
        drv.firmware_version()
    except PN532Error as e:
        assert e.code == NO_ACK and e.kind == driver_errors.CHIP
    else:
        raise AssertionError("dead chip not reported")
    uart.done()


def test_ack_but_no_response_aborts_with_ack():
    drv, uart = chip((CMD("4A 01 00"), ACK()), (ACK(), b""))
    try:
        drv.list_passive_target()
    except PN532Error as e:
        assert e.code == NO_RESPONSE and e.kind == driver_errors.TIMEOUT
    else:
        raise AssertionError("missing response not reported")
    uart.done()


def test_syntax_error_frame():
    drv, uart = chip((CMD("02"), ACK() + h("00 00 FF 01 FF 7F 81 00")))
    try:
        drv.firmware_version()
    except PN532Error as e:
        assert e.code == SYNTAX_ERROR
    else:
        raise AssertionError("syntax error frame accepted")


def test_rf_configuration_set_parameters_release_deselect_bytes():
    drv, uart = chip((CMD("32 01 01"), ACK() + RSP("33")),
                     (CMD("32 02 00 0B 0A"), ACK() + RSP("33")),
                     (CMD("32 04 03"), ACK() + RSP("33")),
                     (CMD("12 00"), ACK() + RSP("13")),
                     (CMD("44 01"), ACK() + RSP("45 00")),
                     (CMD("52 00"), ACK() + RSP("53 00")))
    control(drv, "rf_field", True)
    control(drv, "set_timeouts", 0x0B, 0x0A)
    control(drv, "set_max_retry_com", 3)
    control(drv, "set_parameters", 0x00)
    control(drv, "deselect", 1)
    drv.release(0)
    uart.done()


def test_communicate_thru_frames_with_timeout_code():
    drv, uart = chip((CMD("32 02 00 0B 04"), ACK() + RSP("33")),    # 800 us >= 604 us
                     (CMD("42 02 00 A4"), ACK() + RSP("43 00 02 90 00")),
                     (CMD("42 03 00"), ACK() + RSP("43 00 03 90 00")))
    frames = PN532Frames(drv)
    out = bytearray(64)
    assert out[:frames.frame_exchange(h("02 00 A4"), out, 604)] == h("02 90 00")
    assert out[:frames.frame_exchange(h("03 00"), out, 604)] == h("03 90 00")   # cached
    uart.done()


def test_error_text_is_found_for_codes_equal_to_the_table_separator():
    # 0x0A is also "\n", the end of an entry in the driver's bytes table
    from reader.chips.pn532 import command_name, error_info
    assert error_info(0x0A) == ("RF field not switched on in time by the counterpart",
                                driver_errors.TRANSMISSION)
    assert error_info(0x0B) == ("RF protocol error", driver_errors.PROTOCOL)
    assert error_info(0x99) == ("unknown status", driver_errors.CHIP)
    assert command_name(0x40) == "InDataExchange" and command_name(0x41) == "?"
    assert "error 0x0A in InListPassiveTarget: RF field" in str(PN532Error(0x0A, 0x4A))


def test_set_up_commands_leave_ram_after_the_call():
    import sys

    drv, uart = chip((CMD("12 14"), ACK() + RSP("13")))
    assert "reader.chips.pn532_control" not in sys.modules   # the wake-up's SAMConfiguration
    control(drv, "set_parameters", 0x14)
    assert "reader.chips.pn532_control" not in sys.modules
    assert "pn532_control" not in dir(sys.modules["reader.chips"])
    uart.done()
