# APDU channel: GET RESPONSE (61xx) and 6Cxx in one place, the status-word table.
from fake_buses import ACK, CMD, RSP, ScriptedUART, h

from reader import errors as driver_errors
from reader.chips.pn532_uart import PN532_UART
from reader.protocols.apdu import SW, APDUChannel, APDUError, PN532Channel, le_index, sw_meaning


class ScriptedChannel(APDUChannel):
    """A channel whose card is a list of (expected command, response)."""

    def __init__(self, steps, max_response=512):
        super().__init__(max_response)
        self.steps = list(steps)

    def _exchange(self, apdu, out):
        want, resp = self.steps.pop(0)
        assert bytes(apdu) == h(want), (bytes(apdu), want)
        r = h(resp)
        out[:len(r)] = r
        return len(r)


def test_plain_9000():
    ch = ScriptedChannel([("00 A4 00 00 02 DD F1", "90 00")])
    data, sw = ch.transceive(h("00 A4 00 00 02 DD F1"))
    assert sw == 0x9000 and len(data) == 0 and not ch.steps


def test_61xx_get_response_chain_concatenates():
    ch = ScriptedChannel([
        ("80 FA 00 00 10 11 22 33 44 55 66 77 88 00 00 00 00 00 00 00 00", "61 10"),
        ("00 C0 00 00 10", "01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 61 02"),
        ("00 C0 00 00 02", "11 12 90 00")])
    data, sw = ch.transceive(h("80 FA 00 00 10 1122334455667788 0000000000000000"))
    assert sw == 0x9000 and bytes(data) == h("0102030405060708090A0B0C0D0E0F10 1112")


def test_6cxx_resends_with_right_le_case2_and_case1():
    ch = ScriptedChannel([("00 B2 08 00 00", "6C 14"),
                          ("00 B2 08 00 14", "31" * 18 + "00 00 90 00"),
                          ("00 84 00 00", "6C 08"),
                          ("00 84 00 00 08", "01 02 03 04 05 06 07 08 90 00")])
    data, sw = ch.transceive(h("00 B2 08 00 00"))
    assert sw == 0x9000 and len(data) == 20
    data, sw = ch.transceive(h("00 84 00 00"))
    assert bytes(data) == h("0102030405060708")


def test_6cxx_then_61xx():
    ch = ScriptedChannel([("00 B0 00 00 00", "6C 02"), ("00 B0 00 00 02", "61 02"),
                          ("00 C0 00 00 02", "AB CD 90 00")])
    data, sw = ch.transceive(h("00 B0 00 00 00"))
    assert (bytes(data), sw) == (h("AB CD"), 0x9000)


def test_error_status_words_pass_through_and_command_raises():
    ch = ScriptedChannel([("00 A4 00 00 02 EF 09", "6A 82"), ("00 20 00 00 03 12 34 56", "63 C2")])
    data, sw = ch.transceive(h("00 A4 00 00 02 EF 09"))
    assert sw == 0x6A82 and len(data) == 0
    try:
        ch.command(h("00 20 00 00 03 12 34 56"))
    except APDUError as e:
        assert e.sw == 0x63C2 and "2 tries left" in str(e) and e.kind == driver_errors.AUTH
    else:
        raise AssertionError("63C2 not raised")


def test_sw_table_meanings_and_kinds():
    assert sw_meaning(0x6A82) == "file or application not found"
    assert sw_meaning(0x6988).startswith("secure messaging")
    assert "more data" in sw_meaning(0x6110)
    assert sw_meaning(0x6C05).startswith("wrong Le")
    assert APDUError(0x6D00).kind == driver_errors.UNSUPPORTED
    assert APDUError(0x6A83).kind == driver_errors.CARD
    for sw, meaning in SW.items():
        assert meaning and 0x6000 <= sw <= 0x9FFF


def test_le_index_cases_and_malformed():
    assert le_index(h("00 84 00 00")) == (4, False)
    assert le_index(h("00 84 00 00 08")) == (4, True)
    assert le_index(h("00 A4 00 00 02 DD F1")) == (7, False)
    assert le_index(h("00 A4 00 00 02 DD F1 00")) == (7, True)
    for bad in ("00 A4 00", "00 A4 00 00 05 01 02"):
        try:
            le_index(h(bad))
        except APDUError as e:
            assert e.kind == driver_errors.PROTOCOL
        else:
            raise AssertionError(bad)


def test_response_too_long_for_buffer():
    ch = ScriptedChannel([("00 B0 00 00 00", "61 00")], max_response=64)
    try:
        ch.transceive(h("00 B0 00 00 00"))
    except APDUError as e:
        assert "longer than 64" in str(e)
    else:
        raise AssertionError("overflow not reported")


def test_short_response_without_status_word():
    ch = ScriptedChannel([("00 84 00 00 08", "90")])
    try:
        ch.transceive(h("00 84 00 00 08"))
    except APDUError as e:
        assert e.code < 0
    else:
        raise AssertionError("1-byte response accepted")


def test_pn532_channel_get_response_through_indataexchange():
    uart = ScriptedUART()
    uart.expect(h("55 55") + bytes(14)).expect(CMD("14 01 14 01"), ACK() + RSP("15"))
    uart.expect(CMD("40 01 00 B0 00 00 04"), ACK() + RSP("41 00 61 04"))
    uart.expect(CMD("40 01 00 C0 00 00 04"), ACK() + RSP("41 00 DE AD BE EF 90 00"))
    ch = PN532Channel(PN532_UART(uart), 1)
    assert bytes(ch.command(h("00 B0 00 00 04"))) == h("DE AD BE EF")
    uart.done()


def test_apdus_of_1_to_261_bytes_through_pn532_channel():
    uart = ScriptedUART()
    uart.expect(h("55 55") + bytes(14)).expect(CMD("14 01 14 01"), ACK() + RSP("15"))
    ch = PN532Channel(PN532_UART(uart), 1)
    for size in (1, 4, 5, 64, 200, 254, 255, 256, 261):
        apdu = bytes((i * 3) & 0xFF for i in range(size))
        uart.expect(CMD(b"\x40\x01" + apdu), ACK() + RSP(b"\x41\x00" + apdu[:200] + b"\x90\x00"))
        data, sw = ch.transceive(apdu)
        assert sw == 0x9000 and bytes(data) == apdu[:200]
    uart.done()
