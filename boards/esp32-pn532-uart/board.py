# ESP32-S3 + PN532 on HSU (UART) + PSAM slot on a UART + serial QR scanner.
# Driver-independent: hands ready machine objects over (see README.md for the wiring). The
# wiring is the one boards/esp32s3_pn532_hsu.py holds for this board and the handheld.
from esp32s3_pn532_hsu import (  # noqa: F401 - board contract
    beeper,
    flash,
    led,
    pn532_hsu,
    qr_scanner,
    sam_slot,
    unique_id,
)
from watchdog import WATCHDOG_MS, reset_cause, watchdog  # noqa: F401 - board contract

NAME = "esp32-pn532-uart"


def reader_chip():
    return ("pn532-uart", pn532_hsu())
