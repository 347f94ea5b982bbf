"""The MFRC522's card reader: the firmware runs ISO 14443-3 activation and T=CL (ISO 14443-4)
itself, as the chip does neither (the PN532's: reader.protocols.pn532_reader). Imported by
reader.terminal.devices for an rc522 board only.

After RATS the bit rate goes up to the fastest the ATS's TA(1) allows (a PPS frame, then the
chip's TxMode/RxMode speeds; up to `max_rf`), checked at once by a presence check (R(NAK))
at the new rates: a card that answered the PPS and then fails is activated again at 106
kbit/s (antenna off and on: it forgets the PPS) and stays at 106 until it leaves the field.
`rates`: the (to the card, from the card) codes of the last activation.
"""

import gc
import time

from reader.protocols.apdu import Card, NotISODepError
from reader.protocols.bit_rates import choose


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
        self.rates = (0, 0)
        self._slow = None          # UID of a card that failed at a higher rate

    def poll(self):
        """WUPA, anticollision/select, RATS (then PPS) -> Card, or None when no card answers."""
        if self.channel.ats is not None:
            self.channel.deselect()               # end the previous session first
        if self.rates != (0, 0):
            self.chip.set_speeds(0, 0)            # activation is at 106 kbit/s
            self.rates = (0, 0)
        card = self.activator.activate()
        if card is None:
            self._slow = None
            return None
        if not card.iso_dep():
            raise NotISODepError(card.sak)
        ats = self.channel.activate()
        if self.max_rf and card.uid != self._slow:
            ats = self._faster(card.uid, ats)
            if ats is None:
                return None
        return Card(card.uid, card.atqa, card.sak, ats.raw, self.channel)

    def _faster(self, uid, ats):
        dri, dsi = choose(ats.raw, self.max_rf)
        if not dri and not dsi:
            return ats
        tcl, chip = self.channel, self.chip
        if tcl.pps(dri, dsi):
            chip.set_speeds(dri, dsi)
            if tcl.present():
                self.rates = (dri, dsi)
                return ats
            chip.set_speeds(0, 0)
        elif tcl.present():                       # no answer to the PPS: still at 106
            return ats
        self._slow = uid                          # the rates do not work with this card
        tcl.ats = None
        chip.antenna(False)
        time.sleep_ms(5)                          # the card loses power: back to IDLE, 106
        chip.antenna(True)
        time.sleep_ms(5)                          # field on before the first frame
        card = self.activator.activate()
        return tcl.activate() if card is not None else None

    def release(self):
        self.channel.deselect()

    def reinit(self):
        """After a chip error: hard reset (RST) and re-initialise; cards in the field are
        power-cycled with the antenna."""
        self.channel.ats = None
        self.rates = (0, 0)
        self.chip.init()
        time.sleep_ms(5)                          # field on before the first frame
