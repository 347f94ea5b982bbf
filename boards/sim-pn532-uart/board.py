# Sim board: the ESP32 + PN532 (HSU) + SAM + QR reader, wired to the emulator.
# Mirrors boards/esp32-pn532-uart: same buses and lines, backed by the sim bus (the wiring
# boards/sim-common/sim_wiring.py holds for every sim board, with the PN532 on HSU).
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
from simhal import WATCHDOG_MS, reset_cause, unique_id, watchdog  # noqa: F401

NAME = "sim-pn532-uart"


def reader_chip():
    return ("pn532-uart", pn532_hsu())
