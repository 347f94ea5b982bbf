# Sim board: the ESP32 + PN532 (SPI) + SAM + QR reader, wired to the emulator.
# Mirrors boards/esp32-pn532-spi bus for bus: the PN532 on an SPI that shifts LSB first in
# hardware (as the ESP32's does), its chip select driven by the driver, its IRQ line (active
# low) read as an input; the SAM and the QR scanner on UARTs.
from sim_wiring import beeper, flash, led, led_colour, qr_scanner, sam_slot  # noqa: F401
from simhal import WATCHDOG_MS, Pin, reset_cause, unique_id, watchdog  # noqa: F401
from simspi import SPI, ChipSelect

NAME = "sim-pn532-spi"
SPI_LSB_FIRST = True          # the ESP32's SPI shifts LSB first: no software bit reversal
SAM_CLOCK_HZ = 3571200        # 3.5712 MHz can oscillator, as on the real board


def reader_chip():
    spi = SPI("pn532", baudrate=1000000, polarity=0, phase=0, firstbit=SPI.LSB)
    return ("pn532-spi", spi, ChipSelect(spi, value=1), Pin("pn532.irq", Pin.IN))

