"""An activated ISO 14443-4 card, as every chip's card reader hands it to the terminal, and
the error of a card that cannot carry APDUs."""

from reader.errors import UNSUPPORTED, ReaderError


class Card:
    """An activated ISO 14443-4 card: `uid`, `atqa`, `sak`, `ats` (bytes, TL first) and
    `channel`, the APDU channel to it (`transceive(apdu) -> (data, sw)`)."""

    def __init__(self, uid, atqa, sak, ats, channel):
        self.uid, self.atqa, self.sak, self.ats, self.channel = uid, atqa, sak, ats, channel


class NotISODepError(ReaderError):
    """A card without ISO 14443-4 (SAK bit 6 clear): it cannot carry APDUs."""

    where = "card"

    def __init__(self, sak):
        super().__init__(sak, UNSUPPORTED, "card with SAK %02X is not ISO 14443-4: not a "
                         "health card" % sak)
