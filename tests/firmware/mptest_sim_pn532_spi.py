# simbus: support.emu_driver_benches:sim_pn532_spi
# The PN532 SPI driver on the sim-pn532-spi board (LSB-first SPI, IRQ line) through
# reader.terminal.devices against the emulated PN532 and sample card 1: activation, APDUs of 1..261
# bytes, WTX, R(NAK) retries, card removal, power loss; and the same chip from an MSB-only
# port (rp2) with the driver's software bit reversal.
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
)
from simspi import SPI, ChipSelect

from reader import errors as de
from reader.chips.pn532 import SYNTAX_ERROR, PN532Error
from reader.terminal import devices as hardware

board = load_board("sim-pn532-spi")
bench = Bench()
reader = hardware.open_card_reader(board)



def test_activation_over_lsb_first_spi_with_irq():
    assert reader.kind == "pn532-spi"
    assert reader.chip.irq is not None and not reader.chip.soft_lsb
    bench.fresh_card(reader)


def test_apdus_select_read_record_and_long_answer():
    card = bench.fresh_card(reader)
    read_card_number(card.channel)
    read_certificate(card.channel)


def test_apdus_of_every_length_1_to_261():
    exchange_lengths(bench.fresh_card(reader).channel, range(1, 262))


def test_wtx_storm_is_answered_by_the_chip():
    channel = bench.fresh_card(reader).channel
    bench("fault", "wtx_storm=5,1")
    read_card_number(channel)
    assert bench("log") == ["wtx_storm"] * 4, bench("log")


def test_one_bad_crc_is_recovered_by_r_nak_persistent_is_an_error():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("fault", "bad_crc=1")
    expect(channel, READ_KH, KH_RECORD)
    assert bench("log") == ["bad_crc"]
    bench("fault", "parity=10")
    error = raises(de.TRANSMISSION, channel.transceive, READ_KH)
    assert error.code == 0x03, error
    read_card_number(bench.fresh_card(reader).channel)


def test_card_removed_then_retap():
    channel = bench.fresh_card(reader).channel
    bench("fault", "card_removed_after=0")
    error = raises(de.TIMEOUT, channel.transceive, READ_KH)
    assert error.code == 0x01, error
    assert reader.poll() is None
    read_card_number(bench.fresh_card(reader).channel)


def test_chip_power_loss_then_reinit():
    channel = bench.fresh_card(reader).channel
    bench("powercycle")            # chip select wakes it, but it sits in LowVbat
    error = raises(de.CHIP, channel.transceive, READ_KH)
    assert isinstance(error, PN532Error) and error.code == SYNTAX_ERROR, error
    reader.reinit()                # SAMConfiguration + SetParameters/RFConfiguration replayed
    read_card_number(bench.fresh_card(reader).channel)


class Rp2Board:
    """The same wiring from a port whose SPI shifts MSB first only, without the IRQ line."""

    NAME = "rp2-pn532-spi"
    SPI_LSB_FIRST = False

    @staticmethod
    def reader_chip():
        spi = SPI("pn532", baudrate=1000000, firstbit=SPI.MSB, lsb_capable=False)
        return ("pn532-spi", spi, ChipSelect(spi, value=1), None)


def test_msb_only_spi_uses_software_bit_reversal_and_status_polling():
    try:
        SPI("pn532", firstbit=SPI.LSB, lsb_capable=False)
    except ValueError:
        pass
    else:
        raise AssertionError("an MSB-only SPI accepted firstbit=LSB")
    rp2 = hardware.open_card_reader(Rp2Board)
    assert rp2.chip.soft_lsb and rp2.chip.irq is None
    assert rp2.chip.firmware_version() == (0x32, 1, 6, 7)
    card = bench.fresh_card(rp2)
    read_card_number(card.channel)
    exchange_lengths(card.channel, (1, 4, 5, 6, 253, 254, 255, 260, 261))
