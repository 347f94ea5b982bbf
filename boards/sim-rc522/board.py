# Sim board: the RP2040 + MFRC522 + SAM + QR reader, wired to the emulator.
# Mirrors boards/rp2040-rc522 bus for bus: the MFRC522 on an SPI that, like rp2's, can only
# shift MSB first (asking it for LSB raises ValueError), its chip select and RST line driven
# by the driver; the SAM (clocked at 125 MHz / 35, as the Pico's PWM makes it) and the QR
# scanner on UARTs.
from sim_wiring import beeper, flash, led, led_colour, qr_scanner, sam_slot  # noqa: F401
from simhal import WATCHDOG_MS, Pin, reset_cause, unique_id, watchdog  # noqa: F401
from simspi import SPI, ChipSelect

NAME = "sim-rc522"
SPI_LSB_FIRST = False         # rp2's SPI is MSB only (fine for the RC522, which is MSB first)
SAM_CLOCK_HZ = 3571428        # 125 MHz / 35: 0.006 % above 3.5712 MHz, as on the Pico


def reader_chip():
    spi = SPI("rc522", baudrate=4000000, polarity=0, phase=0, firstbit=SPI.MSB,
              lsb_capable=False)
    return ("rc522", spi, ChipSelect(spi, value=1), Pin("rc522.rst", Pin.OUT, value=1))

