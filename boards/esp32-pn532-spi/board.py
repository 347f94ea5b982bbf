# ESP32 (WROOM-32) + PN532 on SPI (LSB first in hardware) + PSAM slot + QR scanner.
# Driver-independent: hands ready machine objects over (see README.md for the wiring).
from machine import SPI, UART, Pin
from watchdog import WATCHDOG_MS, reset_cause, watchdog  # noqa: F401 - board contract

NAME = "esp32-pn532-spi"

SPI_ID, SCK, MOSI, MISO = 2, 18, 23, 19        # VSPI
PN532_CS, PN532_IRQ = 5, 4
SAM_UART, SAM_TX, SAM_RX, SAM_RST = 1, 25, 26, 27
QR_UART, QR_TX, QR_RX = 2, 17, 16
LED, BEEPER = 2, 33


def reader_chip():
    spi = SPI(SPI_ID, baudrate=1000000, polarity=0, phase=0, firstbit=SPI.LSB,
              sck=Pin(SCK), mosi=Pin(MOSI), miso=Pin(MISO))
    cs = Pin(PN532_CS, Pin.OUT, value=1)
    irq = Pin(PN532_IRQ, Pin.IN, Pin.PULL_UP)
    return ("pn532-spi", spi, cs, irq)


def sam_slot():
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
    return None


def unique_id():
    # the chip's serial (ESP32: the factory MAC; RP2040: the flash chip's 64-bit id)
    import machine

    return machine.unique_id()
