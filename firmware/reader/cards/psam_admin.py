"""The PSAM's files and PIN (docs/healthcard-app.md): `PSAMAdmin`, a `PSAM` that also
reads the SAM's serial, terminal number, key information and certificates and verifies or
changes its PIN. The self-test, tools and tests use it; a tap needs only reader.cards.psam.PSAM, so
this module is not in RAM while the reader taps.
"""

from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr
from reader.cards.psam import PSAM


def _cn(digits):
    """PIN digits -> CN bytes."""
    return hr.encode(hi.CN, digits, (len(digits) + 1) // 2)


def _bcd(raw):
    return hi.decode(hi.CN, raw)


class PSAMAdmin(PSAM):
    # -- files ------------------------------------------------------------------------------
    def info(self):
        """3F00/0015: serial (10 bytes), version, key card type, command set version, FCI."""
        raw = self.read_binary(0x3F00, 0x0015, 14)
        return {"serial": raw[0:10], "version": raw[10], "key_card_type": raw[11],
                "command_set_version": raw[12], "fci": raw[13]}

    def terminal_number(self):
        """3F00/0016: province(1) city(1) issuer(1) serial(3)."""
        return self.read_binary(0x3F00, 0x0016, 6)

    def key_info(self):
        """DF01/001A: key index, issuer id, receiver id, start and expiry dates."""
        raw = self.read_binary(0xDF01, 0x001A, 25)
        return {"key_index": raw[0], "issuer_id": raw[1:9], "receiver_id": raw[9:17],
                "start_date": _bcd(raw[17:21]), "expiry_date": _bcd(raw[21:25])}

    def issuer_certificate(self):
        return self.read_binary(0xDF01, 0x001B, 0xB4)

    def sam_certificate(self):
        return self.read_binary(0xDF01, 0x001C, 0xBE)

    # -- PIN --------------------------------------------------------------------------------
    def verify_pin(self, digits):
        """0020: raises pin-wrong (tries_left) or pin-blocked."""
        self._command(0x00, 0x20, 0x00, 0x00, _cn(digits), "VERIFY PIN")

    def change_pin(self, old, new):
        data = _cn(old) + b"\xFF" + _cn(new)
        self._command(0x80, 0x5E, 0x01, 0x00, data, "CHANGE PIN")
