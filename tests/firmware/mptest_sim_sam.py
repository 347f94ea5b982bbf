# simbus: support.emu_driver_benches:sim_rc522
# The SAM slot driver (ISO 7816-3: ATR, PPS, T=0) on the sim-rc522 board (SAM clocked at the
# Pico's 125 MHz / 35) through reader.terminal.devices, against the emulated slot with the sample
# Henan PSAM (host/hcterm/emulator/samples/sam-henan.json).
from sim_bench_drivers import Bench, expect, h, load_board

import reader
from reader import errors as de
from reader.chips.sam_slot import NO_ATR, SAMError
from reader.protocols.apdu import SAMChannel
from reader.terminal import devices

board = load_board("sim-rc522")
bench = Bench()
sam = devices.open_sam_slot(board)
channel = SAMChannel(sam)

ATR = h("3B 1A 13 48 43 50 53 41 4D 00 00 23 01")    # T0 1A: TA1 13 (Fi 372, Di 4), 10 hist.
EF0015 = h("41010000000000002301 10 06 01 00")        # serial, version, key type, cmd set, FCI
CARD_NO8 = h("4101052019031601")                      # sample card 1 (ATS bytes 5..12)
RANDOM8 = h("0102030405060708")
PLAIN = h("00112233445566778899AABBCCDDEEFF")
# SM4-ECB of PLAIN under the session key of UK_DDF1 (key id 2A) diversified for CARD_NO8
# and RANDOM8, as the sample PSAM computes it.
CIPHER = h("A42F8270EB6EF41528A4387F70A3C580")


def powered():
    bench("samfault", "none")
    atr = reader.call("chips.sam_activation", "power_on", sam)
    assert atr.raw == ATR
    return atr


def test_atr_is_parsed_and_pps_raises_the_rate():
    atr = powered()
    assert not atr.inverse and atr.protocols == (0,) and not atr.specific
    assert atr.ta1 == 0x13 and atr.fi == 372 and atr.di == 4
    assert atr.historical == h("48435053414D00002301")   # "HCPSAM" 00 00 23 01
    assert board.SAM_CLOCK_HZ == 3571428
    assert sam.baudrate == 3571428 * 4 // 372 == 38402   # the card runs at 38400: in tolerance


def test_select_and_read_binary_0015():
    powered()
    expect(channel, h("00A40000020015"), b"")                   # case 3: INS ACK, data, 9000
    expect(channel, h("00B000000E"), EF0015)                    # case 2: INS ACK, 14 bytes, 9000


def test_wrong_le_is_corrected_once_by_6cxx():
    powered()
    expect(channel, h("00A40000020015"), b"")
    expect(channel, h("00B0000010"), EF0015)                    # 6C0E -> re-sent with Le 0E


def test_case4_answers_come_through_61xx_and_get_response():
    powered()
    expect(channel, h("00A4000002DF01"), h("6F048302DF01"))     # 61 06 -> 00C0000006
    expect(channel, h("80DE272A10") + CARD_NO8 + RANDOM8, b"")  # load and diversify UK_DDF1
    expect(channel, h("80FA000010") + PLAIN, CIPHER)            # 61 10 -> 00C0000010
    expect(channel, h("80FA000010") + PLAIN, b"", 0x6985)       # the session key served once


def test_unknown_file_and_class_are_status_words():
    powered()
    expect(channel, h("00A40000020099"), b"", 0x6A82)
    expect(channel, h("FFCA000000"), b"", 0x6E00)


def test_null_procedure_bytes_from_a_slow_sam():
    bench("samfault", "slow:20")                  # 20 NULL (60) bytes before every answer
    assert reader.call("chips.sam_activation", "power_on", sam).raw == ATR
    expect(channel, h("00A40000020015"), b"")
    expect(channel, h("00B000000E"), EF0015)
    bench("samfault", "none")


def test_mute_slot_is_a_clear_timeout_then_a_sam_answers_again():
    bench("samfault", "mute")
    error = None
    try:
        reader.call("chips.sam_activation", "power_on", sam)
    except SAMError as e:
        error = e
    assert error is not None and error.code == NO_ATR and error.kind == de.TIMEOUT, error
    assert "no SAM in the slot" in error.message
    powered()
    expect(channel, h("00A40000020015"), b"")


# -- the sample PSAM whose ATR offers F=372/D=12 (sam-henan-fast.json) -------------------------
FAST_ATR = h("3B 1A 18 48 43 50 53 41 4D 00 00 23 02")   # TA1 18: Fi 372, Di 12


def fast_sam(fault="none"):
    bench("sam", "fast")
    bench("samfault", fault)
    return reader.call("chips.sam_activation", "power_on", sam)


def test_sam_offering_372_12_runs_at_115200():
    try:
        atr = fast_sam()
        assert atr.raw == FAST_ATR and (atr.fi, atr.di) == (372, 12)
        # 3.571428 MHz * 12 / 372: 0.006 % over 115 200, within the UART's tolerance
        assert (sam.etu, sam.baudrate) == (31, 115207), (sam.etu, sam.baudrate)
        expect(channel, h("00A40000020015"), b"")
        expect(channel, h("00B000000E"), h("41010000000000002302 10 06 01 00"))
    finally:
        bench("sam", "default")
        powered()


def test_sam_that_echoes_the_pps_but_keeps_its_rate_is_reset_to_9600():
    try:
        atr = fast_sam("pps-ignored")           # the check after the PPS gets no answer
        assert atr.raw == FAST_ATR
        assert (sam.etu, sam.baudrate) == (372, 9600), (sam.etu, sam.baudrate)
        expect(channel, h("00A40000020015"), b"")
    finally:
        bench("sam", "default")
        powered()


def test_uart_slower_than_the_sam_keeps_a_rate_it_reaches():
    sam.max_baud = 57600                        # 115 207 is out of reach: the PPS asks 372/4,
    try:                                        # which this SAM refuses (only TA1 or 11): reset
        fast_sam()
        assert sam.baudrate == 9600, sam.baudrate
    finally:
        sam.max_baud = 115200
        bench("sam", "default")
        powered()
