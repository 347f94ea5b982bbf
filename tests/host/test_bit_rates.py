"""ISO 14443-4 bit rates: what the firmware picks from an ATS's TA(1)
(reader.protocols.bit_rates, pure) and the presence check the PN532 reader runs at the new
rates (Diagnose 06 on the emulated PN532: an R(NAK) on the air, UM0701 7.2.1)."""

import pytest
import test_emulator_datasheets as datasheets
from test_emulator_datasheets import ACK, ATS_106, ATS_FAST, ATS_SAME_D, RSP, UID, with_card

from reader.protocols.bit_rates import choose


def ats_with(ta):
    """An ATS (FSCI 8, FWI 9) with TA(1) `ta`, or with no TA(1) when `ta` is None."""
    if ta is None:
        body = bytes.fromhex("68 90 02 80 73")
    else:
        body = bytes.fromhex("78") + bytes([ta]) + bytes.fromhex("90 02 80 73")
    return bytes([len(body) + 1]) + body


@pytest.mark.parametrize("ta, top, want", [
    (0x80, 3, (0, 0)),      # the sample cards 1-7: 106 only, same D
    (0x00, 3, (0, 0)),
    (None, 3, (0, 0)),      # no TA(1): 106 only
    (0x77, 3, (3, 3)),      # sample card 8: DS and DR 2, 4, 8
    (0xF7, 3, (3, 3)),
    (0x77, 2, (2, 2)),      # capped by the reader (max_rf)
    (0x77, 0, (0, 0)),
    (0x31, 3, (1, 2)),      # DR 2 only, DS 2 and 4: each way its fastest
    (0xB1, 3, (1, 1)),      # the same with bit 8: the fastest D both ways share
    (0x91, 3, (1, 1)),
    (0x84, 3, (0, 0)),      # same D asked, DR 8 offered, no DS: stay at 106
    (0x04, 3, (3, 0)),      # DR 8, DS none: 848 to the card, 106 back
    (0xC3, 3, (0, 0)),      # same D, DS 8 vs DR 2 and 4: no common D
])
def test_choose_the_fastest_rates_ta1_allows(ta, top, want):
    assert choose(ats_with(ta), top) == want


def test_short_or_missing_ats_is_106_only():
    assert choose(None) == choose(b"\x01") == choose(b"\x02\x78") == (0, 0)
    assert choose(b"\x03\x78\x77") == (3, 3)             # TA(1) is the last byte
    assert (choose(ATS_FAST), choose(ATS_106), choose(ATS_SAME_D)) == ((3, 3), (0, 0), (1, 1))


# -- Diagnose 06 on the emulated PN532: a presence check on the air at the rates in use -------
chip, host = datasheets.chip, datasheets.host     # the emulated PN532 on HSU, woken


def test_presence_check_answers_at_the_negotiated_rate(chip, host):
    card, picc = with_card(chip, ats=ATS_FAST)
    assert host.cmd("00 06") == ACK + RSP("01 27")                 # no target activated
    host.cmd("4A 01 00")
    assert host.cmd("4E 01 03 03") == ACK + RSP("4F 00")
    assert host.cmd("00 06") == ACK + RSP("01 00")                 # R(NAK) -> R(ACK) at 848
    assert host.cmd("40 01 00A4000002DDF1") == ACK + RSP("41 00 00A40000 9000")
    assert host.cmd("00 06") == ACK + RSP("01 00")                 # between APDUs too
    assert host.cmd("4E 01 01 01") == ACK + RSP("4F 01")           # no PPS after that


def test_presence_check_at_106(chip, host):
    with_card(chip)
    host.cmd("4A 01 00")
    assert host.cmd("00 06") == ACK + RSP("01 00")


def test_presence_check_fails_when_the_card_kept_its_rate(chip, host):
    card, picc = with_card(chip, ats=ATS_FAST)
    chip.core.faults.pps_ignored()
    host.cmd("4A 01 00")
    assert host.cmd("4E 01 03 03") == ACK + RSP("4F 00")           # PPS answered ...
    assert (picc.dri, picc.dsi) == (0, 0)                          # ... rates kept
    assert host.cmd("00 06") == ACK + RSP("01 01")                 # the chip hears nothing


def test_presence_check_after_the_card_left(chip, host):
    card, picc = with_card(chip, ats=ATS_FAST)
    host.cmd("4A 01 00")
    chip.field.cards.remove(picc)
    assert host.cmd("00 06") == ACK + RSP("01 01")


def test_the_sample_card_offering_848_and_its_rates_on_the_pn532(chip, host):
    from hcterm.emulator.card import load_card
    from hcterm.emulator.rf14443 import Picc
    from hcterm.emulator.samples import SAMPLES_DIR

    picc = Picc(load_card(SAMPLES_DIR / "card-08-fast-zhou-min.json"))
    chip.field.insert(picc)
    listed = host.cmd("4A 01 00")
    assert listed == ACK + RSP("4B 01 01 0004 20 04 8A5B1E93 0D787770024101052021041208")
    assert choose(bytes.fromhex("0D787770024101052021041208")) == (3, 3)
    assert host.cmd("4E 01 03 03") == ACK + RSP("4F 00")
    assert (picc.dri, picc.dsi) == (3, 3) and host.cmd("00 06") == ACK + RSP("01 00")
    assert UID not in listed.hex().upper()
