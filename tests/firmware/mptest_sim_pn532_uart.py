# simbus: support.emu_driver_benches:sim_pn532_uart
# The PN532 HSU driver on the sim-pn532-uart board (boards/sim-pn532-uart/board.py through
# reader.terminal.devices) against the emulated PN532 and sample card 1: activation, APDUs of 1..261
# bytes, WTX, R(NAK) retries, card removal, and the chip's recovery (NACK, lost ACK, line
# noise, power loss). Faults are armed through the bench UART (tests/simbeds_drivers.py).
from sim_bench_drivers import (
    KH_RECORD,
    READ_KH,
    Bench,
    exchange_lengths,
    expect,
    load_board,
    raises,
    read_card_number,
    read_certificate,
    select_ef05,
    update_binary,
)

from reader import errors as de
from reader.chips.pn532 import PN532Error
from reader.terminal import devices as hardware

board = load_board("sim-pn532-uart")
bench = Bench()
reader = hardware.open_card_reader(board)



def test_activation_reads_uid_atqa_sak_ats():
    assert reader.kind == "pn532-uart"
    card = bench.fresh_card(reader)
    assert card.channel.tg == 1


def test_apdus_select_read_record_and_long_answer():
    card = bench.fresh_card(reader)
    read_card_number(card.channel)
    read_certificate(card.channel)


def test_apdus_of_every_length_1_to_261():
    # 254 bytes and more go out in extended frames (InDataExchange Tg + APDU > 254)
    exchange_lengths(bench.fresh_card(reader).channel, range(1, 262))


def test_wtx_storm_is_answered_by_the_chip():
    channel = bench.fresh_card(reader).channel
    bench("fault", "wtx_storm=3,2")               # 3 S(WTX), WTXM 2, before every answer
    read_card_number(channel)
    assert bench("log") == ["wtx_storm"] * 4, bench("log")   # one storm per APDU
    bench("clear")


def test_one_bad_crc_is_recovered_by_r_nak():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("fault", "bad_crc=1")
    expect(channel, READ_KH, KH_RECORD)
    assert bench("log") == ["bad_crc"]


def test_persistent_bad_crc_is_a_transmission_error_then_reactivation_works():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("fault", "bad_crc=10")
    error = raises(de.TRANSMISSION, channel.transceive, READ_KH)
    assert isinstance(error, PN532Error) and error.code == 0x02, error
    bench("clear")
    read_card_number(bench.fresh_card(reader).channel)


def test_card_removed_before_an_apdu_then_retap():
    channel = bench.fresh_card(reader).channel
    bench("fault", "card_removed_after=0")
    error = raises(de.TIMEOUT, channel.transceive, READ_KH)
    assert error.code == 0x01, error
    assert reader.poll() is None                  # D5 4B 00: nobody on the antenna
    read_card_number(bench.fresh_card(reader).channel)


def test_card_removed_within_a_chained_apdu_is_card_gone():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("fault", "card_removed_after=1")        # the card takes the first of two blocks
    error = raises(de.CARD_GONE, channel.transceive, update_binary(261))
    assert error.code == 0x2B, error
    read_card_number(bench.fresh_card(reader).channel)


def test_chip_nack_and_lost_ack_trigger_one_recovery_each():
    chip = reader.chip
    bench.fresh_card(reader)
    before = chip.recoveries
    bench("fault", "chip_nack=1")
    assert chip.firmware_version() == (0x32, 1, 6, 7)
    bench("fault", "lost_ack=1")
    assert chip.firmware_version() == (0x32, 1, 6, 7)
    assert chip.recoveries == before + 2
    assert bench("log") == ["chip_nack", "lost_ack"]
    # settings were replayed: AutoRATS still on
    read_card_number(bench.fresh_card(reader).channel)


def test_line_noise_before_a_frame():
    chip = reader.chip
    channel = bench.fresh_card(reader).channel
    before = chip.recoveries
    bench("arm", "garbage", "1", "0", "55AA0103")   # noise before the ACK: skipped
    select_ef05(channel)
    bench("arm", "garbage", "1", "1", "00FF0312")   # a false start code before the answer
    expect(channel, READ_KH, KH_RECORD)             # bad LCS -> NACK -> the answer again
    assert bench("log") == ["garbage", "garbage"]
    assert chip.firmware_version() == (0x32, 1, 6, 7)
    assert chip.recoveries == before                # no stale frame was left behind


def test_chip_power_loss_is_recovered_and_the_card_reactivated():
    chip = reader.chip
    channel = bench.fresh_card(reader).channel
    before = chip.recoveries
    bench("powercycle")                            # LowVbat, asleep: the next frame is lost
    assert chip.firmware_version() == (0x32, 1, 6, 7)
    assert chip.recoveries == before + 1           # re-wake, SAMConfiguration, replay
    error = raises(de.CHIP, channel.transceive, READ_KH)
    assert error.code == 0x27, error               # the chip forgot its target
    read_card_number(bench.fresh_card(reader).channel)
