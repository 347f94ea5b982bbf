# RP2040 (Pico) + MFRC522 on SPI + PSAM slot on a UART + QR scanner.
# The RC522 shifts MSB first, which is all rp2's hardware SPI can do (a PN532 on rp2 would
# need PN532_SPI(..., soft_lsb=True)). Driver-independent: ready machine objects only.
from machine import PWM, SPI, UART, Pin
from watchdog import WATCHDOG_MS, reset_cause, watchdog  # noqa: F401 - board contract

NAME = "rp2040-rc522"

SPI_ID, SCK, MOSI, MISO = 0, 18, 19, 16
RC522_CS, RC522_RST = 17, 20
SAM_UART, SAM_TX, SAM_RX, SAM_RST, SAM_CLK = 0, 0, 1, 2, 3
QR_UART, QR_TX, QR_RX = 1, 4, 5
LED, BEEPER = 25, 15
SAM_CLOCK_HZ = 3571428        # 125 MHz / 35: 0.006 % above 3.5712 MHz

_sam_clock = None


def reader_chip():
    spi = SPI(SPI_ID, baudrate=4000000, polarity=0, phase=0, firstbit=SPI.MSB,
              sck=Pin(SCK), mosi=Pin(MOSI), miso=Pin(MISO))
    return ("rc522", spi, Pin(RC522_CS, Pin.OUT, value=1), Pin(RC522_RST, Pin.OUT, value=1))


def sam_slot():
    global _sam_clock
    if _sam_clock is None:                    # the SAM's clock: PWM at 50 % duty
        _sam_clock = PWM(Pin(SAM_CLK), freq=SAM_CLOCK_HZ, duty_u16=32768)
    uart = UART(SAM_UART, baudrate=9600, bits=8, parity=0, stop=2, tx=Pin(SAM_TX),
                rx=Pin(SAM_RX), timeout=0, timeout_char=20, rxbuf=512)
    return (uart, Pin(SAM_RST, Pin.OUT, value=0))


def qr_scanner():
    return UART(QR_UART, baudrate=9600, tx=Pin(QR_TX), rx=Pin(QR_RX), timeout=0,
                timeout_char=20, rxbuf=1024)


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
