"""The handheld's emulated parts and the chips' power-down, at their own level: the 4x4
keypad matrix as the board's lines see it, the battery divider, PN532 PowerDown (UM0701
§7.2.11: RF off, targets gone, only the enabled interfaces wake it) and MFRC522 soft
power-down (data sheet §8.6.2), and the field's poll and radio-on accounting."""

import time

import pytest

from hcterm.emulator.battery import Battery, BatteryError
from hcterm.emulator.keypad import Keypad, KeypadError
from hcterm.emulator.mfrc522 import COMMAND, TX_CONTROL, Mfrc522
from hcterm.emulator.pn532_spi import Pn532Spi
from hcterm.emulator.rf14443 import Picc
from hcterm.sim.bus import SimBus
from tests.host.test_pn532_hsu import ACK, RSP, Host, StandInCard


# -- keypad -------------------------------------------------------------------------------------
def test_a_held_key_pulls_its_column_low_only_while_its_row_is_low():
    pad = Keypad()
    assert pad.lines == {"c0": 1, "c1": 1, "c2": 1, "c3": 1}
    pad.hold("6")                            # row 1, column 2
    assert pad.lines["c2"] == 1               # every row high: nothing joins
    pad.on_line("r0", 0)
    assert pad.lines["c2"] == 1               # another row low
    pad.on_line("r1", 0)
    assert pad.lines == {"c0": 1, "c1": 1, "c2": 0, "c3": 1}
    pad.release("6")
    assert pad.lines["c2"] == 1


def test_the_sim_bus_reads_the_keypad_lines(tmp_path):
    pad = Keypad()
    bus = SimBus(tmp_path, gpios={"keypad": pad})
    bus.control({"op": "pin", "name": "keypad.r3", "value": 0})
    pad.hold("#")                             # row 3, column 2
    assert bus.control({"op": "pin?", "name": "keypad.c2"}) == {"value": 0}
    assert bus.control({"op": "pin?", "name": "keypad.c1"}) == {"value": 1}


def test_press_holds_and_releases_each_key_in_turn():
    pad = Keypad()
    start = time.monotonic()
    pad.press("12#", hold_s=0.01, gap_s=0.01)
    assert pad.pressed == ["1", "2", "#"]
    assert time.monotonic() - start >= 0.06
    assert pad.lines == {"c0": 1, "c1": 1, "c2": 1, "c3": 1}
    with pytest.raises(KeypadError, match="no key 'x'"):
        pad.press("1x")
    assert pad.pressed == ["1", "2", "#"]     # checked before any key went down


# -- battery ------------------------------------------------------------------------------------
def test_the_adc_sees_half_the_cell_through_the_divider(tmp_path):
    cell = Battery(mv=3700)
    bus = SimBus(tmp_path, adcs={"battery": cell})
    assert bus.control({"op": "adc", "name": "battery"}) == {"uv": 1_850_000}
    cell.set_mv(3400)
    assert bus.control({"op": "adc", "name": "battery"}) == {"uv": 1_700_000}
    assert "no ADC input named 'x'" in bus.control({"op": "adc", "name": "x"})["error"]
    with pytest.raises(BatteryError, match="2500-4500"):
        cell.set_mv(12000)


# -- PN532 PowerDown ----------------------------------------------------------------------------
def _awake_with_card(chip):
    h = Host(chip)
    assert h.cmd("1401", wake=True) == ACK + RSP("15")
    h.cmd("3205FF0101")
    chip.field.insert(Picc(StandInCard()))
    assert h.cmd("4A0100")[6 + 5:6 + 9] == bytes.fromhex("D54B0101")  # found: Tg 1
    assert chip.field.rf_on and chip.core.targets
    return h


def test_pn532_powerdown_switches_the_field_off_and_hsu_wakes_it():
    from hcterm.emulator.pn532_hsu import Pn532Uart

    chip = Pn532Uart()
    h = _awake_with_card(chip)
    assert h.cmd("1610") == ACK + RSP("1700")      # WakeUpEnable: HSU
    assert chip.core.asleep and not chip.field.rf_on and not chip.core.targets
    assert h.send(b"\x00" + bytes.fromhex("0000FF02FED4022A00")) == b""  # lost: woke it
    assert not chip.core.asleep
    assert h.cmd("02") == ACK + RSP("0332010607")


def test_pn532_powerdown_without_hsu_in_wakeupenable_stays_asleep():
    from hcterm.emulator.pn532_hsu import Pn532Uart

    chip = Pn532Uart()
    h = _awake_with_card(chip)
    assert h.cmd("1620") == ACK + RSP("1700")      # only SPI may wake it
    assert h.cmd("02", wake=True) == b""
    assert chip.core.asleep


def test_pn532_spi_chip_select_wakes_only_if_enabled():
    chip = Pn532Spi()
    chip.core.wake_sources = 0x10                   # as after PowerDown(HSU)
    chip.core.asleep = True
    chip.on_select(True)
    chip.on_select(False)
    assert chip.core.asleep
    chip.core.wake_sources = 0x20
    chip.on_select(True)
    assert not chip.core.asleep


def test_the_field_counts_polls_and_radio_on_time():
    from hcterm.emulator.pn532_hsu import Pn532Uart

    chip = Pn532Uart()
    h = Host(chip)
    h.cmd("1401", wake=True)
    h.cmd("3205FF0101")
    chip.field.activity(reset=True)
    for _ in range(3):
        assert h.cmd("4A0100") == ACK + RSP("4B00")
    time.sleep(0.05)
    on = chip.field.activity()
    assert on["polls"] == 3 and on["radio_on_fraction"] > 0.95
    h.cmd("1610")
    chip.field.activity(reset=True)
    time.sleep(0.05)
    off = chip.field.activity()
    assert off["polls"] == 0 and off["radio_on_fraction"] == 0.0 and off["seconds"] >= 0.05


# -- MFRC522 soft power-down ----------------------------------------------------------------------
def test_mfrc522_soft_power_down_and_wake_up():
    now = [0.0]
    chip = Mfrc522(clock=lambda: now[0])
    chip.write(TX_CONTROL, 0x83)
    assert chip.field.rf_on
    chip.write(COMMAND, 0x10)                       # PowerDown
    assert not chip.field.rf_on and chip.read(COMMAND) & 0x10
    chip.write(TX_CONTROL, 0x83)                    # kept, but the drivers stay off
    assert not chip.field.rf_on and chip.read(TX_CONTROL) == 0x83
    chip.write(COMMAND, 0x00)                       # wake: 1024 clocks (75.5 µs)
    assert chip.read(COMMAND) & 0x10                # still waking
    now[0] += 80e-6
    assert chip.read(COMMAND) & 0x10 == 0
    assert chip.field.rf_on and chip.power_downs == 1
