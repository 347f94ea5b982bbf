"""Security commands of the emulated health card (a mixin of card.HealthCard).

0084 GET CHALLENGE, 0082 EXTERNAL AUTHENTICATE, 0020 VERIFY, 805E CHANGE PIN and the MAC-
protected lock commands 841E/8418/8416. The scheme is docs/card-crypto.md; the state they use
(`data`, `_df`, `_granted`, `_challenges`, `_rng`) belongs to HealthCard.
"""

from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr

from . import cardcrypto as cc

SW_OK = b"\x90\x00"


def sw(value):
    return bytes((value >> 8, value & 0xFF))


class CardSecurity:
    # -- authentication -------------------------------------------------------------------
    def _get_challenge(self, cmd):
        if cmd.p1 or cmd.p2:
            return sw(0x6A86)
        if cmd.le is None:
            return sw(0x6700)
        if cmd.le != 8:
            return sw(0x6C08)
        challenge = bytes(self._rng(8))
        self._challenges = (self._challenges + [challenge])[-2:]
        return challenge + SW_OK

    def _take_session(self, key_name):
        """Session key of `key_name` from the latest challenge, consuming the challenges."""
        if not self._challenges or key_name not in self.data.keys:
            return None
        challenge = self._challenges[-1]
        self._challenges = []
        return cc.session_key(self.data.keys[key_name], challenge)

    def _external_authenticate(self, cmd):
        if cmd.p1 != 0x00:
            return sw(0x6A86)
        if len(cmd.data) != 17:
            return sw(0x6700)
        names = [k[0] for k in hi.KEYS if k[3] == self._df.name and k[4] == cmd.p2]
        if not names:
            return sw(0x6A88)
        if not self._challenges:
            return sw(0x6984)
        previous = self._challenges[-2] if len(self._challenges) == 2 else None
        session = self._take_session(names[0])
        x, terminal_data, version = cmd.data[:8], cmd.data[8:16], cmd.data[16]
        if version != 0x01:
            return sw(0x6A80)
        if names[0].startswith("UK_") and terminal_data != previous:
            return sw(0x6300)
        if cc.cryptogram(session, terminal_data) != x:
            return sw(0x6300)
        self._granted.add(names[0])
        return SW_OK

    # -- PIN and locks ---------------------------------------------------------------------
    def _pin_bytes(self):
        digits = self.data.pin
        return hr.encode(hi.CN, digits, (len(digits) + 1) // 2)

    def _pin_failed(self):
        self.data.pin_tries_left = max(0, self.data.pin_tries_left - 1)
        self.pin_verified = False
        return sw(0x63C0 | self.data.pin_tries_left)

    def _verify(self, cmd):
        if cmd.p1 or cmd.p2:
            return sw(0x6A86)
        if self.data.pin_tries_left == 0:
            return sw(0x6983)
        if not cmd.data:
            return sw(0x63C0 | self.data.pin_tries_left)
        if bytes(cmd.data) != self._pin_bytes():
            return self._pin_failed()
        self.data.pin_tries_left = self.data.pin_max_tries
        self.pin_verified = True
        return SW_OK

    def _change_pin(self, cmd):
        if cmd.p1 != 0x01 or cmd.p2 != 0x00:
            return sw(0x6A86)
        if self.data.pin_tries_left == 0:
            return sw(0x6983)
        old, sep, new = bytes(cmd.data).partition(b"\xFF")
        digits = hi.decode(hi.CN, new) if sep else ""
        if not sep or not 2 <= len(new) <= 6 or not digits.isdigit() or len(digits) < 4 \
                or hr.encode(hi.CN, digits, len(new)) != new:
            return sw(0x6A80)
        if old != self._pin_bytes():
            return self._pin_failed()
        self.data.pin = digits
        self.data.pin_tries_left = self.data.pin_max_tries
        return SW_OK

    def _mac_command(self, cmd):
        """Check a 4-byte MAC command (STK_DDF1 session); None when good, else the SW."""
        if cmd.p1 or cmd.p2:
            return sw(0x6A86)
        if len(cmd.data) != 4:
            return sw(0x6700)
        session = self._take_session("STK_DDF1")
        if session is None:
            return sw(0x6984)
        if cc.command_mac(session, cmd.header + b"\x04") != cmd.data:
            return sw(0x6988)
        return None

    def _application_block(self, cmd):
        error = self._mac_command(cmd)
        if error is None:
            self.data.application_locked = True
        return error or SW_OK

    def _application_unblock(self, cmd):
        error = self._mac_command(cmd)
        if error is None:
            self.data.application_locked = False
        return error or SW_OK

    def _card_block(self, cmd):
        error = self._mac_command(cmd)
        if error is None:
            self.data.card_locked = True
        return error or SW_OK
