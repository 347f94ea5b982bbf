# simbus: support.emu_driver_benches:sim_rc522
# The MFRC522 driver with the firmware's ISO 14443-3 activation and T=CL on the sim-rc522
# board (MSB-only SPI, RST line) through reader.terminal.devices, against the emulated MFRC522 and
# sample card 1: activation, APDUs of 1..261 bytes in FSD-64 frames (chaining both ways),
# WTX, R(NAK) retries, card removal, chip reset.
from sim_bench_drivers import (
    KH_RECORD,
    READ_CERT,
    READ_KH,
    Bench,
    exchange_lengths,
    expect,
    load_board,
    raises,
    read_card_number,
    read_certificate,
    select_ef05,
)

from reader import errors as de
from reader.chips.mfrc522 import STUCK, RC522Error
from reader.protocols.iso14443_4 import NOT_ACTIVE, RETRIES, TCLError
from reader.terminal import devices as hardware

board = load_board("sim-rc522")
bench = Bench()
reader = hardware.open_card_reader(board)



def test_activation_reads_uid_atqa_sak_ats():
    assert reader.kind == "rc522" and reader.chip.version == 0x92
    bench.fresh_card(reader)
    ats = reader.channel.ats
    assert ats.fsc == 256 and ats.fwi == 7 and ats.cid and not ats.nad
    assert reader.channel._send_limit == 64          # the FIFO caps our frames


def test_apdus_select_read_record_and_long_chained_answer():
    card = bench.fresh_card(reader)
    read_card_number(card.channel)
    read_certificate(card.channel)                   # 184 bytes: 4 chained I-blocks


def test_apdus_of_every_length_1_to_261():
    exchange_lengths(bench.fresh_card(reader).channel, range(1, 262))


def test_wtx_storm_is_answered_and_waited_for():
    channel = bench.fresh_card(reader).channel
    before = channel.wtx_count
    bench("fault", "wtx_storm=3,2")
    read_card_number(channel)
    assert channel.wtx_count - before == 12           # 3 per APDU, 4 APDUs
    assert bench("log") == ["wtx_storm"] * 4, bench("log")


def test_one_bad_crc_is_recovered_by_r_nak_persistent_is_an_error():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("fault", "bad_crc=1")
    expect(channel, READ_KH, KH_RECORD)
    assert bench("log") == ["bad_crc"]
    bench("fault", "bad_crc=10")
    error = raises(de.CARD_GONE, channel.transceive, READ_KH)
    assert isinstance(error, TCLError) and error.code == RETRIES, error
    read_card_number(bench.fresh_card(reader).channel)


def test_parity_error_once_is_retried():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("fault", "parity=1")
    expect(channel, READ_KH, KH_RECORD)
    assert bench("log") == ["parity"]


def test_card_removed_then_retap():
    channel = bench.fresh_card(reader).channel
    bench("fault", "card_removed_after=0")
    error = raises(de.CARD_GONE, channel.transceive, READ_KH)
    assert error.code == RETRIES, error
    assert reader.poll() is None                     # no ATQA to WUPA
    read_card_number(bench.fresh_card(reader).channel)


def test_card_removed_within_a_chained_answer():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("fault", "card_removed_after=2")            # after 2 of the 4 answer blocks
    raises(de.CARD_GONE, channel.transceive, READ_CERT)
    read_card_number(bench.fresh_card(reader).channel)


def test_chip_hard_reset_mid_session_then_reactivation():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    reader.reinit()                                  # RST low/high: the field drops too
    error = raises(de.PROTOCOL, channel.transceive, READ_KH)
    assert error.code == NOT_ACTIVE, error           # the session ended with the reset
    read_card_number(bench.fresh_card(reader).channel)


def test_chip_power_loss_is_a_chip_error_then_reinit():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("powercycle")                              # registers lost: no timer, no field
    error = raises(de.CHIP, channel.transceive, READ_KH)
    assert isinstance(error, RC522Error) and error.code == STUCK, error
    reader.reinit()
    read_card_number(bench.fresh_card(reader).channel)
