# The wiring every sim board shares: the SAM slot and the QR scanner on sim UARTs, LED,
# beeper, the flash and the LED colour record; and, for the boards with a PN532 on HSU
# (sim-pn532-uart, sim-handheld: the twins of the real boards that share
# boards/esp32s3_pn532_hsu.py), the PN532's UART and its fastest rate. Each sim board's
# board.py imports what it hands over from here and adds its own (NAME, reader_chip(), the
# SPI boards' bus, the handheld's display, keypad and battery).
from simhal import UART, Pin, record


def pn532_hsu():
    """The PN532's UART (the board's reader_chip() names the chip kind)."""
    return UART("pn532", 115200, timeout=1000, timeout_char=5)


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
