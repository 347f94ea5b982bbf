# SAM slot: ATR parsing, PPS, T=0 procedure bytes, against a scripted UART and RST pin.
from fake_buses import FakePin, ScriptedUART, h

import reader
from reader import errors as driver_errors
from reader.chips.sam_activation import atr_need, choose_fidi, parse_atr, pps_request
from reader.chips.sam_slot import (
    BAD_APDU,
    BAD_ATR,
    BAD_TCK,
    MUTE,
    NO_ATR,
    NOT_T0,
    SAMError,
    SAMSlot,
)
from reader.protocols.apdu import APDUError, SAMChannel


class activation:
    """The SAM's activation as the firmware calls it: reader.chips.sam_activation is in RAM
    for the call only."""

    @staticmethod
    def power_on(slot):
        return reader.call("chips.sam_activation", "power_on", slot)

    @staticmethod
    def reset(slot):
        return reader.call("chips.sam_activation", "reset", slot)


ATR_38400 = h("3B 95 13 00 50 53 41 4D 31")          # TA1 13: Fi 372 Di 4; T=0; "PSAM1"
ATR_FAST = h("3B 95 96 00 50 53 41 4D 31")           # TA1 96: Fi 512 Di 32 (too fast)
ATR_DEFAULT = h("3B 04 41 42 43 44")                 # no interface bytes


def with_tck(body):
    x = 0
    for b in body[1:]:
        x ^= b
    return body + bytes((x,))


ATR_T0_T1 = with_tck(h("3B 98 18 80 01 48 45 41 4C 54 48 30 31"))   # TD1 80, TD2 01: TCK


def slot(atr, echo=False):
    uart = ScriptedUART(echo=echo)
    rst = FakePin(0)
    rst.on_change = lambda v: v and uart.reply(atr)
    s = SAMSlot(uart, rst, echo=echo)
    s.wwt_ms = 20
    s.atr_byte_ms = 20
    return s, uart, rst


def test_parse_atr_fields():
    a = parse_atr(ATR_38400)
    assert a.ta1 == 0x13 and a.fi == 372 and a.di == 4 and a.protocols == (0,)
    assert a.historical == b"PSAM1" and not a.inverse and not a.specific
    b = parse_atr(ATR_T0_T1)
    assert b.protocols == (0, 1) and b.historical == b"HEALTH01" and b.di == 12
    d = parse_atr(ATR_DEFAULT)
    assert d.fi == 372 and d.di == 1 and d.interface == [] and d.historical == b"ABCD"


def test_parse_atr_rejects_bad_tck_ts_and_length():
    bad = bytearray(ATR_T0_T1)
    bad[-1] ^= 1
    for atr, code in ((bytes(bad), BAD_TCK), (h("3A 00"), BAD_ATR), (ATR_38400[:-1], BAD_ATR)):
        try:
            parse_atr(atr)
        except SAMError as e:
            assert e.code == code, (atr, e)
        else:
            raise AssertionError(atr)


def test_atr_need_grows_as_bytes_arrive():
    assert atr_need(h("3B")) == 2
    assert atr_need(h("3B 98")) == 4             # TA1, TD1 needed to know more
    assert atr_need(h("3B 98 18 80")) == 5       # TD2 next
    assert atr_need(ATR_T0_T1[:5]) == len(ATR_T0_T1)


def test_choose_fidi_fastest_both_allow():
    clock = 3571200
    assert choose_fidi(parse_atr(ATR_38400), clock, 115200) == (1, 3)        # 38400
    assert choose_fidi(parse_atr(ATR_FAST), clock, 115200) == (9, 5)         # 111600, Di 16
    assert choose_fidi(parse_atr(ATR_T0_T1), clock, 115200) == (1, 8)        # Di 12: 115200
    assert choose_fidi(parse_atr(ATR_T0_T1), clock, 57600) == (1, 3)         # Di 4: 38400
    assert choose_fidi(parse_atr(ATR_DEFAULT), clock, 115200) == (1, 1)
    assert pps_request(1, 8) == h("FF 10 18 F7")


def test_power_on_reads_atr_and_negotiates_pps():
    s, uart, rst = slot(ATR_T0_T1)
    uart.expect(h("FF 10 18 F7"), h("FF 10 18 F7"))
    uart.expect(h("00 C0 00 00 00"), h("69 85"))      # the check at the new rate: any SW
    atr = activation.power_on(s)
    assert atr.raw == ATR_T0_T1 and rst.value() == 1 and rst.history[-2:] == [0, 1]
    assert uart.inits == [9600, 115200] and s.baudrate == 115200
    uart.done()


def test_pps_echoed_then_silence_resets_to_default_rate():
    s, uart, rst = slot(ATR_T0_T1)
    uart.expect(h("FF 10 18 F7"), h("FF 10 18 F7"))   # echoed ...
    uart.expect(h("00 C0 00 00 00"), b"")             # ... but no answer at 115 200
    activation.power_on(s)
    assert uart.inits == [9600, 115200, 9600] and s.baudrate == 9600
    assert rst.history[-4:] == [0, 1, 0, 1]           # a second reset: the default rate
    uart.done()


def test_pps_refused_resets_to_default_rate():
    s, uart, rst = slot(ATR_38400)
    uart.expect(h("FF 10 13 FC"), b"")                     # mute: refused
    activation.power_on(s)
    assert uart.inits == [9600, 9600] and s.baudrate == 9600
    import sys
    # the activation code leaves RAM after the call
    assert "reader.chips.sam_activation" not in sys.modules


def test_no_sam_in_slot():
    uart = ScriptedUART()
    rst = FakePin(0)
    s = SAMSlot(uart, rst)
    s.atr_first_ms = 5
    try:
        activation.power_on(s)
    except SAMError as e:
        assert e.code == NO_ATR and e.kind == driver_errors.TIMEOUT
    else:
        raise AssertionError("an empty slot powered on")
    assert rst.history == [0, 1, 0, 1]              # two cold resets before NO_ATR stands


def test_sam_silent_at_the_first_reset_answers_the_second():
    uart = ScriptedUART()
    releases = []

    def on_rst(level):
        if level:
            releases.append(level)
            if len(releases) == 2:                  # mute at the first activation only
                uart.reply(ATR_DEFAULT)

    s = SAMSlot(uart, FakePin(0, on_rst))
    s.atr_first_ms = 5
    assert activation.power_on(s).historical == b"ABCD" and len(releases) == 2


def test_t1_only_sam_refused():
    s, uart, rst = slot(with_tck(h("3B 81 01 41")))
    try:
        activation.reset(s)
    except SAMError as e:
        assert e.code == NOT_T0 and e.kind == driver_errors.UNSUPPORTED
    else:
        raise AssertionError("T=1 SAM accepted")


def powered(atr=ATR_DEFAULT, echo=False):
    s, uart, rst = slot(atr, echo)
    activation.power_on(s)
    return s, uart


def test_t0_case2_read_binary_with_nulls():
    s, uart = powered()
    uart.expect(h("00 B0 00 00 0E"), h("60 60 B0") + bytes(range(1, 15)) + h("90 00"))
    data, sw = SAMChannel(s).transceive(h("00 B0 00 00 0E"))
    assert sw == 0x9000 and bytes(data) == bytes(range(1, 15))
    uart.done()


def test_t0_case4_encrypt_then_get_response():
    s, uart = powered()
    data16 = h("1122334455667788 0000000000000000")
    uart.expect(h("80 FA 00 00 10"), h("FA")).expect(data16, h("61 10"))
    uart.expect(h("00 C0 00 00 10"), h("C0") + bytes(range(16)) + h("90 00"))
    out = SAMChannel(s).command(h("80 FA 00 00 10") + data16 + h("00"))      # Le is not sent in T=0
    assert bytes(out) == bytes(range(16))
    uart.done()


def test_t0_begin_sends_the_command_and_leaves_its_answer_for_later():
    s, uart = powered()
    data16 = h("1122334455667788 0000000000000000")
    apdu = h("80 FA 00 00 10") + data16
    uart.expect(h("80 FA 00 00 10"), h("FA")).expect(data16, h("61 10"))
    uart.expect(h("00 C0 00 00 10"), h("C0") + bytes(range(16)) + h("90 00"))
    channel = SAMChannel(s)
    channel.begin(apdu)
    assert uart.any() == 2          # 61 10 waits unread while the caller talks to the card
    assert bytes(channel.command(apdu)) == bytes(range(16))    # read, not sent again
    uart.done()


def test_t0_begin_keeps_an_answer_that_comes_before_the_data():
    s, uart = powered()
    apdu = h("80 DE 47 31 03 AA BB CC")
    uart.expect(h("80 DE 47 31 03"), h("69 85"))        # refused at the header: no ACK
    channel = SAMChannel(s)
    channel.begin(apdu)
    assert channel.transceive(apdu)[1] == 0x6985
    uart.expect(h("00 B0 00 00 02"), h("B0 01 02 90 00"))  # a case 2 command: header only
    channel.begin(h("00 B0 00 00 02"))
    assert bytes(channel.command(h("00 B0 00 00 02"))) == h("01 02")
    uart.done()


def test_t0_byte_by_byte_procedure():
    s, uart = powered()
    uart.expect(h("80 DE 47 31 03"), h("21")).expect(h("AA"), h("21")).expect(h("BB"), h("DE"))
    uart.expect(h("CC"), h("90 00"))
    assert SAMChannel(s).transceive(h("80 DE 47 31 03 AA BB CC"))[1] == 0x9000
    uart.done()


def test_t0_6cxx_resend():
    s, uart = powered()
    uart.expect(h("00 B0 00 00 00"), h("6C 06"))
    uart.expect(h("00 B0 00 00 06"), h("B0 01 02 03 04 05 06 90 00"))
    data, sw = SAMChannel(s).transceive(h("00 B0 00 00 00"))
    assert bytes(data) == h("01 02 03 04 05 06")


def test_t0_case1_and_error_status():
    s, uart = powered()
    uart.expect(h("00 20 00 00 00"), h("69 83"))
    try:
        SAMChannel(s).command(h("00 20 00 00"))
    except APDUError as e:
        assert e.sw == 0x6983 and e.kind == driver_errors.AUTH
    else:
        raise AssertionError("SW 6983 was taken for success")


def test_malformed_apdu_is_refused_before_a_byte_is_sent():
    s, uart = powered()
    for bad in (h("00 B0 00"), h("00 D6 00 00 05 01 02"), h("00 D6 00 00 00 01")):
        try:
            s.exchange(bad, bytearray(16))
        except SAMError as e:
            assert e.code == BAD_APDU and e.kind == driver_errors.PROTOCOL, e
        else:
            raise AssertionError("malformed APDU %s was sent" % bad)
    uart.done()


def test_t0_mute_sam():
    s, uart = powered()
    uart.expect(h("00 B0 00 00 0E"), b"")
    try:
        SAMChannel(s).transceive(h("00 B0 00 00 0E"))
    except SAMError as e:
        assert e.code == MUTE and e.kind == driver_errors.TIMEOUT
    else:
        raise AssertionError("mute SAM not reported")


def test_inverse_convention():
    def inv(data):
        out = bytearray()
        for b in data:
            r = 0
            for i in range(8):
                if b & (1 << i):
                    r |= 0x80 >> i
            out.append(r ^ 0xFF)
        return bytes(out)
    atr = h("3F 02 41 42")
    s, uart, rst = slot(inv(atr))
    assert inv(atr)[0] == 0x03
    uart.expect(inv(h("00 B0 00 00 01")), inv(h("B0 7E 90 00")))
    a = activation.power_on(s)
    assert a.inverse and a.historical == b"AB"
    assert SAMChannel(s).transceive(h("00 B0 00 00 01"))[0][0] == 0x7E


def test_single_wire_echo_is_discarded():
    s, uart = powered(echo=True)
    uart.expect(h("00 B0 00 00 02"), h("B0 12 34 90 00"))
    assert bytes(SAMChannel(s).command(h("00 B0 00 00 02"))) == h("12 34")
