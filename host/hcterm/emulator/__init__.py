"""The other side of every wire the firmware drives: card, SAM, reader chips, QR scanner.

Runs in CPython on the host, inside `hcterm sim` / `hcterm emu` and in tests.
"""

from .card import load_card  # noqa: E402,F401  (issue 3: the emulated health card)
from .chipfaults import ChipFaults  # noqa: E402,F401  (issue 4: chip/line/air faults)
from .mfrc522 import Mfrc522  # noqa: E402,F401  (issue 4: emulated MFRC522 on SPI)
from .pn532_hsu import Pn532Uart  # noqa: E402,F401  (issue 4: emulated PN532 on HSU)
from .pn532_spi import Pn532Spi  # noqa: E402,F401  (issue 4: emulated PN532 on SPI)
from .qrscanner import QrScanner  # noqa: E402,F401  (issue 4: serial QR scanner module)
from .rf14443 import Field, Picc  # noqa: E402,F401  (issue 4: the card on the air)
from .samslot import SamFaults, SamSlot  # noqa: E402,F401  (issue 4: contact SAM slot, T=0)
from .wire_timing import WireTiming  # noqa: E402,F401  (issue 4: wire timing)
