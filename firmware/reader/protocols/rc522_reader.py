"""The MFRC522's card reader: the firmware runs ISO 14443-3 activation and T=CL (ISO 14443-4)
itself, as the chip does neither (the PN532's: reader.protocols.pn532_reader). Imported by
reader.terminal.devices for an rc522 board only.
"""

import gc
import time

from reader.protocols.apdu import Card, NotISODepError


class RC522Reader:
    """MFRC522: ISO 14443-3 activation and T=CL (ISO 14443-4) run by the firmware."""

    def __init__(self, kind, chip):
        gc.collect()
        from reader.chips.mfrc522 import RC522Frames
        from reader.protocols.iso14443_3 import Activator
        from reader.protocols.iso14443_4 import TCL
        self.kind, self.chip = kind, chip
        self.activator = Activator(chip)
        self.channel = TCL(RC522Frames(chip))

    def poll(self):
        """WUPA, anticollision/select, RATS -> Card, or None when no card answers."""
        if self.channel.ats is not None:
            self.channel.deselect()               # end the previous session first
        card = self.activator.activate()
        if card is None:
            return None
        if not card.iso_dep():
            raise NotISODepError(card.sak)
        ats = self.channel.activate()
        return Card(card.uid, card.atqa, card.sak, ats.raw, self.channel)

    def release(self):
        self.channel.deselect()

    def reinit(self):
        """After a chip error: hard reset (RST) and re-initialise; cards in the field are
        power-cycled with the antenna."""
        self.channel.ats = None
        self.chip.init()
        time.sleep_ms(5)                          # field on before the first frame
