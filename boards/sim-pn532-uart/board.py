# Sim board: the ESP32 + PN532 (HSU) + SAM + QR reader, wired to the emulator.
# Mirrors boards/esp32-pn532-uart: same buses and lines, backed by the sim bus.
from simhal import UART, WATCHDOG_MS, Pin, record, reset_cause, unique_id, watchdog  # noqa: F401

NAME = "sim-pn532-uart"


def reader_chip():
    return ("pn532-uart", UART("pn532", 115200, timeout=1000, timeout_char=5))


def sam_slot():
    return (UART("sam", 9600, timeout=1000, timeout_char=20), Pin("sam.rst", Pin.OUT, value=0))


def qr_scanner():
    return UART("qr", 9600, timeout=0, timeout_char=20)


def led():
    return Pin("led", Pin.OUT, value=0)


def beeper():
    return Pin("beeper", Pin.OUT, value=0)


def flash():
    return None  # the sim "port" (simboot.py) mounts the sim flash at /, as a board's ROM does


def led_colour(name):
    # the status LED's colour, recorded by the virtual reader ("green", "red", "amber", "off")
    record("led", colour=name)

# The PN532's HSU runs at this rate after set-up (SetSerialBaudrate; the chip starts at
# 115200): the board's traces between the MCU and the PN532 are short.
HSU_MAX_BAUD = 921600
