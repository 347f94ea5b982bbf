# Sim board: the handheld (ESP32-S3 + PN532 (HSU) + SAM + QR reader), wired to the emulator.
# Mirrors boards/esp32s3-handheld: same buses and lines, backed by the sim bus (the reader's
# wiring is sim-pn532-uart's: boards/sim-common/sim_wiring.py holds it).
from sim_wiring import (  # noqa: F401 - board contract
    HSU_MAX_BAUD,
    beeper,
    flash,
    led,
    led_colour,
    pn532_hsu,
    qr_scanner,
    sam_slot,
)
from simhal import WATCHDOG_MS, Pin, reset_cause, unique_id, watchdog  # noqa: F401

NAME = "sim-handheld"


def reader_chip():
    return ("pn532-uart", pn532_hsu())


# -- keypad and battery (the handheld's; docs/firmware-drivers.md "Board contract") ---------
# The keypad's rows and columns are GPIO lines `keypad.r0`..`r3` (driven) and `keypad.c0`..
# `c3` (read, pull-ups) of the emulated 4x4 matrix; the battery is an ADC input through a 2:1
# divider (the emulated cell: `hcterm battery --mv`).
BATTERY_DIVIDER = 2
BATTERY_CHECK_MS = 1000     # how often the flow looks at the battery (the real board: 60 s)
LOW_POWER_POLL = True       # a battery board polls at a low duty cycle between taps


def keypad():
    rows = tuple(Pin("keypad.r%d" % i, Pin.OUT, value=0) for i in range(4))
    # (the pull-ups: an undriven sim line reads 1, as a real one with its pull-up)
    cols = tuple(Pin("keypad.c%d" % i, Pin.IN) for i in range(4))
    return rows, cols


def battery_mv():
    from simadc import ADC

    return ADC("battery").read_uv() * BATTERY_DIVIDER // 1000


# -- the display (docs/display.md): a 128x64 SSD1306 on I2C at 0x3C, emulated on the sim bus;
# micropython-lib's driver (frozen into the ROMFS image from the venv) talks to it
DISPLAY_I2C, DISPLAY_ADDR = "i2c0", 0x3C
FONT = "/font16.hcf"       # the display font (hcterm.fontbuild), on the flash as on a board


def display():
    from simi2c import I2C
    from ssd1306 import SSD1306_I2C

    return SSD1306_I2C(128, 64, I2C(DISPLAY_I2C, freq=400000), addr=DISPLAY_ADDR)
