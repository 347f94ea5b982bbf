"""The emulated SSD1306 against its datasheet (hcterm.emulator.ssd1306): I2C control bytes,
the three addressing modes with their windows, parameters spread over transactions, what
the chip ignores, the glass; and its I2C on the sim bus (an address nobody answers)."""

import socket

import pytest

from hcterm.emulator.ssd1306 import Ssd1306
from hcterm.sim.bus import I2C_NAK, SimBus


def cmd(chip, *codes):
    """Commands the way micropython-lib's driver sends them: each byte as `80 xx`."""
    for code in codes:
        assert chip.on_write(bytes((0x80, code))) == 2


def data(chip, payload):
    assert chip.on_write(b"\x40" + bytes(payload)) == len(payload) + 1


def lit_chip():
    chip = Ssd1306()
    cmd(chip, 0x8D, 0x14, 0xAF)
    return chip


def test_page_mode_is_the_reset_mode_and_wraps_in_its_page():
    chip = Ssd1306()
    cmd(chip, 0xB2, 0x05, 0x17)            # page 2, column 0x75 (low 5, high 7)
    data(chip, range(1, 13))               # 11 bytes to column 127, then back to column 0
    assert chip.gddram[2 * 128 + 0x75:2 * 128 + 128] == bytes(range(1, 12))
    assert chip.gddram[2 * 128] == 12 and chip.page == 2


def test_horizontal_mode_walks_its_column_and_page_window():
    chip = Ssd1306()
    cmd(chip, 0x20, 0x00, 0x21, 16, 17, 0x22, 1, 2)
    data(chip, [1, 2, 3, 4, 5])
    at = chip.gddram
    assert (at[128 + 16], at[128 + 17], at[256 + 16], at[256 + 17]) == (5, 2, 3, 4)


def test_vertical_mode_goes_down_the_pages_first():
    chip = Ssd1306()
    cmd(chip, 0x20, 0x01, 0x21, 0, 1, 0x22, 0, 1)
    data(chip, [1, 2, 3, 4])
    assert (chip.gddram[0], chip.gddram[128], chip.gddram[1], chip.gddram[129]) == (1, 2, 3, 4)


def test_a_command_stream_and_parameters_across_transactions():
    chip = Ssd1306()
    chip.on_write(b"\x80\x81")              # contrast: its value comes in the next one
    assert chip.contrast == 0x7F
    chip.on_write(b"\x80\x40")
    assert chip.contrast == 0x40 and chip.start_line == 0     # 40 was a parameter here
    chip.on_write(b"\x00\xaf\xa7\xc8")      # Co = 0: every byte to the STOP is a command
    assert chip.display_on and chip.inverse and chip.com_remap


def test_what_the_chip_ignores():
    chip = Ssd1306()
    cmd(chip, 0x20, 0x03)                   # addressing mode 03: invalid
    cmd(chip, 0xA8, 0x0E)                   # multiplex ratio 15: "0 to 14 are invalid"
    cmd(chip, 0xFF)                         # no command of the datasheet
    assert (chip.mode, chip.mux) == (2, 64)
    assert chip.ignored == [0x03, 0x0E, 0xFF]


def test_the_glass_is_dark_until_the_display_and_its_supply_are_on():
    chip = Ssd1306()
    data(chip, [0xFF] * 128)
    assert not any(any(row) for row in chip.image())
    cmd(chip, 0xAF)                         # on, but no charge pump: no light
    assert not any(any(row) for row in chip.image())
    cmd(chip, 0x8D, 0x14)
    assert any(any(row) for row in chip.image())
    cmd(chip, 0xA5)                         # entire display on
    assert all(all(row) for row in chip.image())


def test_remaps_orient_the_glass():
    chip = lit_chip()
    cmd(chip, 0x20, 0x00)
    data(chip, [0x01])                      # column 0, page 0, bit 0: RAM pixel (0, 0)
    cmd(chip, 0xA1, 0xC8)                   # the driver's orientation: (0, 0) top left
    assert chip.image()[0][0] and sum(map(sum, chip.image())) == 1
    cmd(chip, 0xA0, 0xC0)                   # neither remap: the image turned half round
    assert chip.image()[63][127] and sum(map(sum, chip.image())) == 1
    cmd(chip, 0xA1, 0xC8, 0xA7)             # inverse: every other pixel lit
    assert not chip.image()[0][0] and sum(map(sum, chip.image())) == 128 * 64 - 1
    cmd(chip, 0xA6, 0x41)                   # start line 1: RAM line 1 on the top row
    assert not chip.image()[0][0] and chip.image()[63][0]
    cmd(chip, 0x40, 0xA8, 31)               # multiplex 32: COM0-31 only, scanned from 31
    glass = chip.image()                    # (C8): COM32-63, the top half, stay dark
    assert glass[32][0] and not any(any(row) for row in glass[:32])


def test_only_its_two_addresses():
    assert Ssd1306(0x3D).address == 0x3D
    with pytest.raises(ValueError, match="0x3C or 0x3D"):
        Ssd1306(0x3E)


def test_on_the_sim_bus_a_missing_address_is_not_acknowledged(tmp_path):
    chip = Ssd1306()
    with SimBus(tmp_path / "bus", i2cs={"i2c0": [chip]}):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(tmp_path / "bus" / "i2c-i2c0.sock"))
            stream = sock.makefile("rwb")
            stream.write(b"W\x3c\x00\x02\x80\xaf")
            stream.flush()
            assert stream.read(2) == b"\x00\x02" and chip.display_on
            stream.write(b"W\x3d\x00\x02\x80\xae")
            stream.flush()
            assert int.from_bytes(stream.read(2), "big") == I2C_NAK and chip.display_on
            stream.write(b"R\x3c\x00\x01")
            stream.flush()
            assert stream.read(3) == b"\x00\x00\x00"     # status: D6 = 0, the display is on
