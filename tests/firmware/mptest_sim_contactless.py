# boards: sim-pn532-uart sim-pn532-spi sim-rc522
# simbus: support.emu_driver_benches:{board}
# The contactless reader on each sim board, one run per board (tests/conftest.py): the board's
# board.py through reader.terminal.devices, against its emulated chip (PN532 on HSU, PN532 on
# LSB-first SPI with IRQ, MFRC522 on an MSB-only SPI with RST, where the firmware does ISO
# 14443-3 activation and T=CL itself in FSD-64 frames) and sample card 1: activation, APDUs of
# 1..261 bytes, WTX, R(NAK) retries, card removal, the chip's recovery. Faults are armed
# through the bench UART (tests/support/emu_driver_benches.py).
#
# The tests without a marker run on every board; where the chips answer differently, the
# board's facts below say what it answers. A test marked @only_on(...) exists for those
# boards only.
from harness_boards import BOARD, only_on
from sim_bench_drivers import (
    KH_RECORD,
    READ_CERT,
    READ_KH,
    Bench,
    exchange_lengths,
    expect,
    h,
    load_board,
    raises,
    read_card_number,
    read_certificate,
    select_ef05,
    update_binary,
)

from reader import errors as de
from reader.terminal import devices as hardware

# -- each board's facts: what its chip answers where the boards differ ------------------------
if BOARD == "sim-pn532-uart":
    from reader.chips.pn532 import PN532Error

    KIND = "pn532-uart"

    def check_activation(card):
        assert card.channel.tg == 1

    WTX_STORM = "3,2"                      # 3 S(WTX), WTXM 2, before every answer
    FIRMWARE_WTX = 0                       # the chip answers them: the driver sees none
    PERSISTENT_FAULT = "bad_crc=10"        # more than the chip retries with R(NAK)
    PERSISTENT_ERROR = (de.TRANSMISSION, PN532Error, 0x02)   # InDataExchange status 02: CRC
    REMOVED_ERROR = (de.TIMEOUT, 0x01)     # status 01: the card does not answer
    REMOVED_IN_CHAIN_CODE = 0x2B           # status 2B: the card left the field

elif BOARD == "sim-pn532-spi":
    from reader.chips.pn532 import SYNTAX_ERROR, PN532Error

    KIND = "pn532-spi"

    def check_activation(card):
        # LSB-first SPI with the IRQ line: no software bit reversal, no status polling
        assert reader.chip.irq is not None and not reader.chip.soft_lsb

    WTX_STORM = "5,1"
    FIRMWARE_WTX = 0
    PERSISTENT_FAULT = "parity=10"
    PERSISTENT_ERROR = (de.TRANSMISSION, PN532Error, 0x03)   # status 03: parity
    REMOVED_ERROR = (de.TIMEOUT, 0x01)
    REMOVED_IN_CHAIN_CODE = 0x2B
    POWER_LOSS_ERROR = (PN532Error, SYNTAX_ERROR)            # LowVbat: SAMConfiguration lost

elif BOARD == "sim-rc522":
    from reader.chips.mfrc522 import STUCK, RC522Error
    from reader.protocols.iso14443_4 import NOT_ACTIVE, RETRIES, TCLError

    KIND = "rc522"

    def check_activation(card):
        assert reader.chip.version == 0x92
        ats = reader.channel.ats
        assert ats.fsc == 256 and ats.fwi == 7 and ats.cid and not ats.nad
        assert reader.channel._send_limit == 64          # the FIFO caps our frames

    WTX_STORM = "3,2"
    FIRMWARE_WTX = 3                       # T=CL in the firmware answers each S(WTX)
    PERSISTENT_FAULT = "bad_crc=10"
    PERSISTENT_ERROR = (de.CARD_GONE, TCLError, RETRIES)     # the R(NAK) retries ran out
    REMOVED_ERROR = (de.CARD_GONE, RETRIES)
    REMOVED_IN_CHAIN_CODE = RETRIES
    POWER_LOSS_ERROR = (RC522Error, STUCK)                   # registers lost: no timer

board = load_board(BOARD)
bench = Bench()
reader = hardware.open_card_reader(board)


# -- every board ------------------------------------------------------------------------------
def test_activation_reads_uid_atqa_sak_ats():
    assert reader.kind == KIND
    card = bench.fresh_card(reader)                  # check_card: UID, ATQA, SAK, ATS
    check_activation(card)


def test_apdus_select_read_record_and_long_answer():
    card = bench.fresh_card(reader)
    read_card_number(card.channel)
    read_certificate(card.channel)                   # 184 bytes (RC522: 4 chained I-blocks)


def test_apdus_of_every_length_1_to_261():
    # PN532: 254 bytes and more go out in extended frames (InDataExchange Tg + APDU > 254);
    # RC522: chained I-blocks of 64-byte frames both ways
    exchange_lengths(bench.fresh_card(reader).channel, range(1, 262))


def test_wtx_storm_is_answered():
    channel = bench.fresh_card(reader).channel
    before = channel.wtx_count if FIRMWARE_WTX else 0
    bench("fault", "wtx_storm=" + WTX_STORM)
    read_card_number(channel)
    assert bench("log") == ["wtx_storm"] * 4, bench("log")   # one storm per APDU
    if FIRMWARE_WTX:
        assert channel.wtx_count - before == 4 * FIRMWARE_WTX, channel.wtx_count
    bench("clear")


def test_one_bad_crc_is_recovered_by_r_nak():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("fault", "bad_crc=1")
    expect(channel, READ_KH, KH_RECORD)
    assert bench("log") == ["bad_crc"]


def test_persistent_rf_errors_are_an_error_then_reactivation_works():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("fault", "bad_crc=1")                      # one is recovered ...
    expect(channel, READ_KH, KH_RECORD)
    assert bench("log") == ["bad_crc"]
    bench("fault", PERSISTENT_FAULT)                 # ... more than the retries are not
    kind, cls, code = PERSISTENT_ERROR
    error = raises(kind, channel.transceive, READ_KH)
    assert isinstance(error, cls) and error.code == code, error
    bench("clear")
    read_card_number(bench.fresh_card(reader).channel)


def test_card_removed_before_an_apdu_then_retap():
    channel = bench.fresh_card(reader).channel
    bench("fault", "card_removed_after=0")
    kind, code = REMOVED_ERROR
    error = raises(kind, channel.transceive, READ_KH)
    assert error.code == code, error
    assert reader.poll() is None                     # nobody answers on the antenna
    read_card_number(bench.fresh_card(reader).channel)


def test_card_removed_within_a_chained_apdu_is_card_gone():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("fault", "card_removed_after=1")           # the card takes the first block only
    error = raises(de.CARD_GONE, channel.transceive, update_binary(261))
    assert error.code == REMOVED_IN_CHAIN_CODE, error
    read_card_number(bench.fresh_card(reader).channel)


# -- ISO-DEP bit rates: sample card 8 (TA(1) 77: 212/424/848 each way), card 1 (TA(1) 80) -----
FAST_UID = h("8A5B1E93")                                 # sample card 8
FAST_ATS = h("0D 78 77 70 02 41 01 05 20 21 04 12 08")   # TA(1) 77: DS and DR 2, 4, 8
FAST_KH_RECORD = h("0812") + b"410105199207160023"


def fast_card():
    bench("clear")
    bench("tap", "fast")
    return reader.poll()


def read_fast_card_number(channel):
    select_ef05(channel)
    expect(channel, READ_KH, FAST_KH_RECORD)


def test_card_with_ta1_80_stays_at_106():
    read_card_number(bench.fresh_card(reader).channel)
    assert reader.rates[:2] == [0, 0] and bench("rates") == [0, 0]


def test_card_offering_848_is_read_at_848_both_ways():
    card = fast_card()
    assert card.ats == FAST_ATS and card.uid == FAST_UID
    assert reader.rates[:2] == [3, 3] and bench("rates") == [3, 3]   # the card's own DR, DS
    read_fast_card_number(card.channel)
    read_certificate(card.channel)               # 184 bytes: chained blocks on the RC522


def test_max_rf_caps_the_negotiated_rate():
    reader.max_rf = 2
    try:
        card = fast_card()
        assert reader.rates[:2] == [2, 2] and bench("rates") == [2, 2]
        read_fast_card_number(card.channel)
    finally:
        reader.max_rf = 3


def test_card_that_answers_the_pps_but_keeps_106_falls_back_in_the_same_poll():
    bench("clear")
    bench("tap", "fast")
    bench("fault", "pps_ignored=1")
    card = reader.poll()                        # PPS answered, presence check fails: 106
    assert card is not None and card.uid == FAST_UID
    assert reader.rates[:2] == [0, 0] and bench("rates") == [0, 0]
    assert bench("log") == ["pps_ignored"]
    read_fast_card_number(card.channel)
    reader.release()
    card = reader.poll()                        # the same card stays at 106: no second PPS
    assert reader.rates[:2] == [0, 0] and bench("rates") == [0, 0]
    read_fast_card_number(card.channel)
    reader.release()
    bench("remove")
    assert reader.poll() is None                # it left the field: forgiven
    card = fast_card()
    assert reader.rates[:2] == [3, 3] and bench("rates") == [3, 3]
    read_fast_card_number(card.channel)


# -- PN532 on HSU: the driver recovers the chip by itself ---------------------------------------
@only_on("sim-pn532-uart")
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


@only_on("sim-pn532-uart")
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


@only_on("sim-pn532-uart")
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


# -- PN532 on SPI and MFRC522: after a power loss the caller re-initialises the chip -----------
@only_on("sim-pn532-spi", "sim-rc522")
def test_chip_power_loss_is_a_chip_error_then_reinit():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("powercycle")            # PN532: chip select wakes it, but it sits in LowVbat
    cls, code = POWER_LOSS_ERROR
    error = raises(de.CHIP, channel.transceive, READ_KH)
    assert isinstance(error, cls) and error.code == code, error
    reader.reinit()                # PN532: SAMConfiguration + SetParameters/RFConfiguration
    read_card_number(bench.fresh_card(reader).channel)


# -- PN532 on SPI: the same chip from a port whose SPI shifts MSB first only ------------------
class Rp2Board:
    """The same wiring from a port whose SPI shifts MSB first only, without the IRQ line."""

    NAME = "rp2-pn532-spi"
    SPI_LSB_FIRST = False

    @staticmethod
    def reader_chip():
        from simspi import SPI, ChipSelect

        spi = SPI("pn532", baudrate=1000000, firstbit=SPI.MSB, lsb_capable=False)
        return ("pn532-spi", spi, ChipSelect(spi, value=1), None)


@only_on("sim-pn532-spi")
def test_msb_only_spi_uses_software_bit_reversal_and_status_polling():
    from simspi import SPI

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


# -- MFRC522: T=CL in the firmware, the RST line ----------------------------------------------
@only_on("sim-rc522")
def test_parity_error_once_is_retried():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("fault", "parity=1")
    expect(channel, READ_KH, KH_RECORD)
    assert bench("log") == ["parity"]


@only_on("sim-rc522")
def test_card_removed_within_a_chained_answer():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    bench("fault", "card_removed_after=2")            # after 2 of the 4 answer blocks
    raises(de.CARD_GONE, channel.transceive, READ_CERT)
    read_card_number(bench.fresh_card(reader).channel)


@only_on("sim-rc522")
def test_chip_hard_reset_mid_session_then_reactivation():
    channel = bench.fresh_card(reader).channel
    select_ef05(channel)
    reader.reinit()                                  # RST low/high: the field drops too
    error = raises(de.PROTOCOL, channel.transceive, READ_KH)
    assert error.code == NOT_ACTIVE, error           # the session ended with the reset
    read_card_number(bench.fresh_card(reader).channel)
