"""The PN532's card reader: the chip activates the card (InListPassiveTarget with AutoRATS)
and runs ISO-DEP itself; APDUs go through InDataExchange (reader.protocols.apdu.PN532Channel).

    reader = PN532Reader(kind, chip)   # built by reader.terminal.devices
    card = reader.poll()               # protocols.apdu.Card or None
    card.channel.transceive(apdu)
    reader.release(); reader.reinit()

After the activation the card's ISO-DEP bit rate goes up to the fastest its ATS's TA(1)
allows (InPSL, up to `max_rf`; reader.protocols.bit_rates.choose), checked at once by a
presence check (Diagnose 06) at the new rates: a card that answered the PPS and then fails
is activated again at 106 kbit/s (field off and on: it forgets the PPS) and stays at 106
until it leaves the field. `rates`: [to the card, from the card] codes of the last
activation, then the UID of a card that failed at a higher rate.

The MFRC522's counterpart is reader.protocols.rc522_reader.
"""

import time

import reader
from reader.chips.pn532 import CONTROL
from reader.errors import ReaderError
from reader.protocols.apdu import Card, NotISODepError, PN532Channel
from reader.protocols.bit_rates import choose

_PN532_FLAGS = 0x14                # SetParameters: AutoATR_RES | AutoRATS (the chip runs ISO-DEP)
_PN532_PASSIVE_RETRIES = 0x01      # InListPassiveTarget answers D5 4B 00 when no card is there


class PN532Reader:
    """PN532: the chip activates (InListPassiveTarget with AutoRATS) and runs ISO-DEP."""

    max_rf = 3                     # fastest rate code negotiated (3: 848 kbit/s; 0: 106 only)

    def __init__(self, kind, chip):
        self.kind, self.chip = kind, chip
        reader.call(CONTROL, "set_parameters", chip, _PN532_FLAGS)
        reader.call(CONTROL, "set_retries", chip, 0xFF, 0x01, _PN532_PASSIVE_RETRIES)
        self.channel = PN532Channel(chip)
        self.rates = [0, 0, None]

    def poll(self):
        """One InListPassiveTarget (then InPSL) -> Card, or None when no card answers."""
        target = self.chip.list_passive_target()
        rates = self.rates
        rates[0] = rates[1] = 0
        if target is None:
            rates[2] = None
            return None
        if not target.iso_dep() or target.ats is None:
            raise NotISODepError(target.sak)
        if self.max_rf and target.uid != rates[2]:
            target = self._faster(target)
            if target is None:
                return None
        self.channel.tg = target.tg
        return Card(target.uid, target.atqa, target.sak, target.ats, self.channel)

    def _faster(self, target):
        dri, dsi = choose(target.ats, self.max_rf)
        if not dri and not dsi:
            return target
        chip = self.chip
        try:
            chip.psl(target.tg, dri, dsi)
        except ReaderError as error:
            if error.code < 0:             # the chip's link, not the card
                raise
            dri = dsi = 0                  # no answer to the PPS: both sides stay at 106
        if chip.present():
            self.rates[0], self.rates[1] = dri, dsi
            return target
        self.rates[2] = target.uid         # the PPS was answered but the rates do not work
        reader.call(CONTROL, "rf_field", chip, False)
        reader.call(CONTROL, "rf_field", chip, True)
        time.sleep_ms(5)                   # ISO 14443-3: field on 5 ms before the request
        return chip.list_passive_target()

    def release(self):
        self.chip.release(0)

    def reinit(self):
        """After a chip error: wake the chip, SAMConfiguration, replay the settings."""
        self.chip.reinit()
