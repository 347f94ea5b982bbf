# Handheld: ESP32-S3 + PN532 on HSU (UART) + PSAM slot on a UART + serial QR scanner, wired
# as esp32-pn532-uart (boards/esp32s3_pn532_hsu.py holds that wiring for both), plus a
# display, a keypad and a battery. Driver-independent: hands ready machine objects over (see
# README.md for the wiring).
from esp32s3_pn532_hsu import (  # noqa: F401 - board contract
    beeper,
    flash,
    led,
    pn532_hsu,
    qr_scanner,
    sam_slot,
    unique_id,
)
from machine import Pin
from watchdog import WATCHDOG_MS, reset_cause, watchdog  # noqa: F401 - board contract

NAME = "esp32s3-handheld"


def reader_chip():
    return ("pn532-uart", pn532_hsu())


# -- keypad and battery (docs/firmware-drivers.md "Board contract"; wiring in README.md) -----
KEYPAD_ROWS = (5, 6, 11, 12)     # driven (push-pull), low between scans
KEYPAD_COLS = (13, 14, 21, 47)   # read, internal pull-ups
BATTERY_ADC = 4                  # GPIO4 = ADC1 channel 3 (ADC2 is unusable with Wi-Fi on)
BATTERY_DIVIDER = 2              # 100k/100k from the cell to GND: the pin sees half
BATTERY_CHECK_MS = 60000
LOW_POWER_POLL = True            # on battery: poll at a low duty cycle between taps


def keypad():
    rows = tuple(Pin(n, Pin.OUT, value=0) for n in KEYPAD_ROWS)
    cols = tuple(Pin(n, Pin.IN, Pin.PULL_UP) for n in KEYPAD_COLS)
    return rows, cols


def battery_mv():
    # ESP32-S3 ADC with 11 dB attenuation reads up to ~3.1 V; read_uv() applies the chip's
    # factory calibration
    from machine import ADC

    adc = ADC(Pin(BATTERY_ADC), atten=ADC.ATTN_11DB)
    return adc.read_uv() * BATTERY_DIVIDER // 1000


# -- the display: a 128x64 SSD1306 module on I2C0 (SDA GPIO8, SCL GPIO9, address 0x3C: SA0
# low), driven by micropython-lib's ssd1306 (manifest.py: require("ssd1306"))
DISPLAY_SDA, DISPLAY_SCL, DISPLAY_ADDR = 8, 9, 0x3C
FONT = "/font16.hcf"       # the display font, in the littlefs image (hcterm image build)


def display():
    from machine import I2C
    from ssd1306 import SSD1306_I2C

    i2c = I2C(0, sda=Pin(DISPLAY_SDA), scl=Pin(DISPLAY_SCL), freq=400000)
    return SSD1306_I2C(128, 64, i2c, addr=DISPLAY_ADDR)
