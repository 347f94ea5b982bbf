# Handheld: ESP32-S3 + PN532 on HSU (UART) + PSAM slot on a UART + serial QR scanner; display,
# keypad and battery are added by the handheld work (issue 14).
# ESP32-S3 because the host link/REPL runs on native USB-CDC, leaving all three hardware
# UARTs for the PN532, the SAM and the QR scanner (a classic ESP32 has only two spare UARTs).
# Driver-independent: hands ready machine objects over (see README.md for the wiring).
from machine import UART, Pin
from watchdog import WATCHDOG_MS, reset_cause, watchdog  # noqa: F401 - board contract

NAME = "esp32s3-handheld"

PN532_UART, PN532_TX, PN532_RX = 1, 17, 18
SAM_UART, SAM_TX, SAM_RX, SAM_RST = 2, 15, 16, 7
QR_UART, QR_TX, QR_RX = 0, 43, 44
LED, BEEPER = 2, 1


def reader_chip():
    uart = UART(PN532_UART, baudrate=115200, tx=PN532_TX, rx=PN532_RX, timeout=0,
                timeout_char=5, rxbuf=512)
    return ("pn532-uart", uart)


def sam_slot():
    # ISO 7816-3 character frame: 8 data bits, even parity, 2 stop bits; 9600 = 3.5712 MHz/372
    uart = UART(SAM_UART, baudrate=9600, bits=8, parity=0, stop=2, tx=SAM_TX, rx=SAM_RX,
                timeout=0, timeout_char=20, rxbuf=512)
    return (uart, Pin(SAM_RST, Pin.OUT, value=0))


def qr_scanner():
    return UART(QR_UART, baudrate=9600, tx=QR_TX, rx=QR_RX, timeout=0, timeout_char=20,
                rxbuf=1024)


def led():
    return Pin(LED, Pin.OUT, value=0)


def beeper():
    return Pin(BEEPER, Pin.OUT, value=0)


def flash():
    return None  # the port mounts its own littlefs partition at /


def unique_id():
    # the chip's serial (ESP32: the factory MAC; RP2040: the flash chip's 64-bit id)
    import machine

    return machine.unique_id()


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
