"""The MFRC522's card reader: the firmware runs ISO 14443-3 activation and T=CL (ISO 14443-4)
itself, as the chip does neither (the PN532's: reader.protocols.pn532_reader). Imported by
reader.terminal.devices for an rc522 board only.

After RATS the bit rate goes up to the fastest the ATS's TA(1) allows (a PPS frame, then the
chip's TxMode/RxMode speeds; up to `max_rf`), checked by a presence check at the new rates,
with a fall back to 106 kbit/s in the same poll: reader.protocols.bit_rates, in RAM only for
a card whose TA(1) offers more than 106. `rates`: [to the card, from the card] codes of the
last activation, then the UID of a card that failed at a higher rate.
"""

import gc
import time

import reader
from reader.protocols.apdu import Card, NotISODepError


class RC522Reader:
    """MFRC522: ISO 14443-3 activation and T=CL (ISO 14443-4) run by the firmware."""

    max_rf = 3                     # fastest rate code negotiated (3: 848 kbit/s; 0: 106 only)

    def __init__(self, kind, chip):
        gc.collect()
        from reader.chips.mfrc522 import RC522Frames
        from reader.protocols.iso14443_3 import Activator
        from reader.protocols.iso14443_4 import TCL
        self.kind, self.chip = kind, chip
        self.activator = Activator(chip)
        self.channel = TCL(RC522Frames(chip))
        self.rates = [0, 0, None]

    def poll(self):
        """WUPA, anticollision/select, RATS (then PPS) -> Card, or None when no card answers."""
        if self.channel.ats is not None:
            self.channel.deselect()               # end the previous session first
        rates = self.rates
        if rates[0] or rates[1]:
            # activation is at 106 kbit/s (reader.protocols.bit_rates: transient)
            reader.call("protocols.bit_rates", "rc522", self, None, None)
        card = self.activator.activate()
        if card is None:
            rates[2] = None
            return None
        if not card.iso_dep():
            raise NotISODepError(card.sak)
        ats = self.channel.activate()
        raw = ats.raw           # a TA(1) offering more than 106 (bits 7-5, 3-1): PPS
        if self.max_rf and card.uid != rates[2] and len(raw) > 2 and raw[1] & 0x10 and \
                raw[2] & 0x77:
            ats = reader.call("protocols.bit_rates", "rc522", self, card.uid, ats)
            if ats is None:
                return None
        return Card(card.uid, card.atqa, card.sak, ats.raw, self.channel)

    def release(self):
        self.channel.deselect()

    def reinit(self):
        """After a chip error: hard reset (RST) and re-initialise; cards in the field are
        power-cycled with the antenna."""
        self.channel.ats = None
        self.rates[0] = self.rates[1] = 0
        self.chip.init()
        time.sleep_ms(5)                          # field on before the first frame
