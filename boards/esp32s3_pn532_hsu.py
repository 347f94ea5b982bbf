# The wiring the ESP32-S3 readers with a PN532 on HSU share (boards/esp32-pn532-uart and
# boards/esp32s3-handheld; the pin table: esp32-pn532-uart/README.md): the PN532 on UART1, the
# PSAM slot on UART2, the serial QR scanner on UART0, LED, beeper, flash and unique id. Each of
# those boards' manifest.py freezes this module beside its board.py, which imports what it
# hands over from here and adds its own (NAME, reader_chip(), the handheld's display, keypad
# and battery).
# ESP32-S3 because the host link/REPL runs on native USB-CDC, leaving all three hardware
# UARTs for the PN532, the SAM and the QR scanner (a classic ESP32 has only two spare UARTs).
from machine import UART, Pin

PN532_UART, PN532_TX, PN532_RX = 1, 17, 18
SAM_UART, SAM_TX, SAM_RX, SAM_RST = 2, 15, 16, 7
QR_UART, QR_TX, QR_RX = 0, 43, 44
LED, BEEPER = 2, 1


def pn532_hsu():
    """The PN532's UART (the board's reader_chip() names the chip kind)."""
    return UART(PN532_UART, baudrate=115200, tx=PN532_TX, rx=PN532_RX, timeout=0,
                timeout_char=5, rxbuf=512)


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
    # the chip's serial (ESP32: the factory MAC)
    import machine

    return machine.unique_id()
