"""Protocols (layer 3): they touch only chip drivers.

iso14443_3 (type A activation over a bit-framing chip), iso14443_4 (T=CL block protocol over a
raw-frame chip), apdu (the one APDU channel interface: 61xx/6Cxx, status words; the PN532's
and the SAM slot's channels), and the card reader of each chip: pn532_reader (the chip runs
ISO-DEP), rc522_reader (the firmware runs 14443-3 and T=CL). Both hand over a `Card`, defined
here with the error of a card that cannot carry APDUs (here: the package is in RAM anyway).
"""

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


TRANSIENT = ()   # drivers and channels live as long as the reader runs
