"""The PN532's card reader: the chip activates the card (InListPassiveTarget with AutoRATS)
and runs ISO-DEP itself; APDUs go through InDataExchange (reader.protocols.apdu.PN532Channel).

    reader = PN532Reader(kind, chip)   # built by reader.terminal.devices
    card = reader.poll()               # protocols.apdu.Card or None
    card.channel.transceive(apdu)
    reader.release(); reader.reinit()

The MFRC522's counterpart is reader.protocols.rc522_reader.
"""

import reader
from reader.chips.pn532 import CONTROL
from reader.protocols.apdu import Card, NotISODepError, PN532Channel

_PN532_FLAGS = 0x14                # SetParameters: AutoATR_RES | AutoRATS (the chip runs ISO-DEP)
_PN532_PASSIVE_RETRIES = 0x01      # InListPassiveTarget answers D5 4B 00 when no card is there


class PN532Reader:
    """PN532: the chip activates (InListPassiveTarget with AutoRATS) and runs ISO-DEP."""

    def __init__(self, kind, chip):
        self.kind, self.chip = kind, chip
        reader.call(CONTROL, "set_parameters", chip, _PN532_FLAGS)
        reader.call(CONTROL, "set_retries", chip, 0xFF, 0x01, _PN532_PASSIVE_RETRIES)
        self.channel = PN532Channel(chip)

    def poll(self):
        """One InListPassiveTarget -> Card, or None when no card answers."""
        target = self.chip.list_passive_target()
        if target is None:
            return None
        if not target.iso_dep() or target.ats is None:
            raise NotISODepError(target.sak)
        self.channel.tg = target.tg
        return Card(target.uid, target.atqa, target.sak, target.ats, self.channel)

    def release(self):
        self.chip.release(0)

    def reinit(self):
        """After a chip error: wake the chip, SAMConfiguration, replay the settings."""
        self.chip.reinit()
