"""The contactless reader the terminal polls: a chip driver with its activation path.

    reader = PN532Reader(kind, chip)   # or rc522reader.RC522Reader; built by reader.hardware
    card = reader.poll()               # Card or None; card.channel.transceive(apdu)
    reader.release(); reader.reinit()

Kept apart from reader.hardware (which reads the board contract once and leaves RAM): the
reader object lives as long as the firmware runs, and with it the module of its class.
"""


from reader.driver_errors import UNSUPPORTED, ReaderError

_PN532_FLAGS = 0x14                # SetParameters: AutoATR_RES | AutoRATS (the chip runs ISO-DEP)
_PN532_PASSIVE_RETRIES = 0x01      # InListPassiveTarget answers D5 4B 00 when no card is there


class HardwareError(ReaderError):
    where = "board"

    def __init__(self, message):
        super().__init__(0, UNSUPPORTED, message)


class Card:
    """An activated ISO 14443-4 card: `uid`, `atqa`, `sak`, `ats` (bytes, TL first) and
    `channel`, the APDU channel to it (`transceive(apdu) -> (data, sw)`)."""

    def __init__(self, uid, atqa, sak, ats, channel):
        self.uid, self.atqa, self.sak, self.ats, self.channel = uid, atqa, sak, ats, channel


def _not_iso_dep(sak):
    raise HardwareError("card with SAK %02X is not ISO 14443-4: not a health card" % sak)


class PN532Reader:
    """PN532: the chip activates (InListPassiveTarget with AutoRATS) and runs ISO-DEP."""

    def __init__(self, kind, chip):
        from reader.apdu import PN532Channel
        self.kind, self.chip = kind, chip
        chip.set_parameters(_PN532_FLAGS)
        chip.set_retries(0xFF, 0x01, _PN532_PASSIVE_RETRIES)
        self.channel = PN532Channel(chip)

    def poll(self):
        """One InListPassiveTarget -> Card, or None when no card answers."""
        target = self.chip.list_passive_target()
        if target is None:
            return None
        if not target.iso_dep() or target.ats is None:
            _not_iso_dep(target.sak)
        self.channel.tg = target.tg
        return Card(target.uid, target.atqa, target.sak, target.ats, self.channel)

    def release(self):
        self.chip.release(0)

    def reinit(self):
        """After a chip error: wake the chip, SAMConfiguration, replay the settings."""
        self.chip.reinit()
