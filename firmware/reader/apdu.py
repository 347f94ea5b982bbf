"""One APDU channel interface for every chip and slot, with status-word handling in one place.

A channel subclass implements only `_exchange(apdu, out) -> n`: send one command APDU, put
the response (data + SW1 SW2) into `out`, return its length. `APDUChannel.transceive` adds:
- `61xx`: GET RESPONSE `00 C0 00 00 xx` until the card has nothing more, data concatenated;
- `6Cxx`: the same command sent again with Le = xx (once);
and returns `(data, sw)`: `data` is a memoryview into the channel's buffer, valid until the
next call (copy it with bytes() to keep it). `command()` raises `APDUError` unless SW = 9000.

Channels: `PN532Channel` (InDataExchange, the chip runs ISO-DEP), `iso14443_4.TCL` (host-side
T=CL over a raw-frame transceiver), `samslot.SAMSlot` (ISO 7816-3 T=0).
"""

from micropython import const
from reader.driver_errors import ReaderError, AUTH, CARD, UNSUPPORTED, PROTOCOL

_GET_RESPONSE_LIMIT = const(16)

# Status words (ISO/IEC 7816-4 and the health card) -> meaning.
SW = {
    0x9000: "ok",
    0x6281: "part of the returned data may be corrupted",
    0x6282: "end of file or record reached before Le bytes",
    0x6283: "selected file invalidated",
    0x6300: "verification failed",
    0x6400: "execution error, memory unchanged",
    0x6581: "memory failure",
    0x6700: "wrong length",
    0x6881: "logical channel not supported",
    0x6882: "secure messaging not supported",
    0x6981: "command incompatible with the file structure",
    0x6982: "security status not satisfied",
    0x6983: "authentication method blocked",
    0x6984: "referenced data invalidated",
    0x6985: "conditions of use not satisfied",
    0x6986: "command not allowed, no current EF",
    0x6987: "expected secure messaging data objects missing",
    0x6988: "secure messaging data objects incorrect (wrong MAC)",
    0x6A80: "incorrect parameters in the data field",
    0x6A81: "function not supported",
    0x6A82: "file or application not found",
    0x6A83: "record not found",
    0x6A84: "not enough memory space in the file",
    0x6A86: "incorrect parameters P1-P2",
    0x6A88: "referenced data not found",
    0x6B00: "wrong parameters P1-P2",
    0x6D00: "instruction code not supported",
    0x6E00: "class not supported",
    0x6F00: "no precise diagnosis",
}
# SW1 alone, when SW2 is a count.
SW1 = {
    0x61: "more data available (SW2 bytes)",
    0x6C: "wrong Le (SW2 = the right one)",
}
_AUTH = (0x6300, 0x6982, 0x6983, 0x6988)
_UNSUPPORTED = (0x6881, 0x6882, 0x6A81, 0x6D00, 0x6E00)


def sw_meaning(sw):
    meaning = SW.get(sw)
    if meaning:
        return meaning
    if sw & 0xFFF0 == 0x63C0:
        return "verification failed, %d tries left" % (sw & 0x0F)
    return SW1.get(sw >> 8, "unknown status")


class APDUError(ReaderError):
    """A status word other than 9000 (`code` = SW), or a malformed exchange (`code` < 0)."""

    where = "APDU"

    def __init__(self, sw, message=None):
        if sw & 0xFFF0 == 0x63C0 or sw in _AUTH:
            kind = AUTH
        elif sw in _UNSUPPORTED:
            kind = UNSUPPORTED
        elif sw < 0:
            kind = PROTOCOL
        else:
            kind = CARD
        super().__init__(sw, kind, message or "SW %04X: %s" % (sw & 0xFFFF, sw_meaning(sw)))
        self.sw = sw


SHORT_RESPONSE = const(-1)
RESPONSE_TOO_LONG = const(-2)
BAD_APDU = const(-3)


def le_index(apdu):
    """Where a short APDU's Le byte is (or would go): index, and whether Le is present."""
    n = len(apdu)
    if n < 4:
        raise APDUError(BAD_APDU, "APDU shorter than its 4-byte header")
    if n == 4:
        return 4, False
    if n == 5:
        return 4, True
    lc = apdu[4]
    if lc == 0 or n not in (5 + lc, 6 + lc):
        raise APDUError(BAD_APDU, "Lc %d does not match an APDU of %d bytes" % (lc, n))
    return 5 + lc, n == 6 + lc


class APDUChannel:
    """Base of every channel: GET RESPONSE and 6Cxx once, here."""

    def __init__(self, max_response=512):
        self._resp = bytearray(max_response + 2)
        self._respmv = memoryview(self._resp)
        self._cmd = bytearray(5 + 255 + 1)
        self._cmdmv = memoryview(self._cmd)

    def _exchange(self, apdu, out):
        raise NotImplementedError

    def _sw_at(self, at, n):
        if n < 2:
            raise APDUError(SHORT_RESPONSE, "response of %d bytes has no status word" % n)
        return (self._resp[at + n - 2] << 8) | self._resp[at + n - 1]

    def _resend_with_le(self, apdu, le):
        at, _ = le_index(apdu)
        self._cmd[0:at] = apdu[0:at]
        self._cmd[at] = le
        return self._cmdmv[0:at + 1]

    def transceive(self, apdu):
        """Send `apdu`; return (data, sw) after GET RESPONSE / 6Cxx handling."""
        resp = self._respmv
        n = self._exchange(apdu, resp)
        sw = self._sw_at(0, n)
        if sw >> 8 == 0x6C:
            n = self._exchange(self._resend_with_le(apdu, sw & 0xFF), resp)
            sw = self._sw_at(0, n)
        total = n - 2
        for _ in range(_GET_RESPONSE_LIMIT):
            if sw >> 8 != 0x61:
                break
            total = self._get_response(total, sw & 0xFF)
            sw = (self._resp[total] << 8) | self._resp[total + 1]
        return resp[0:total], sw

    def _get_response(self, at, le):
        if at + (le or 256) + 2 > len(self._resp):
            raise APDUError(RESPONSE_TOO_LONG, "response longer than %d bytes" %
                            (len(self._resp) - 2))
        c = self._cmd
        c[0] = 0x00
        c[1] = 0xC0
        c[2] = c[3] = 0
        c[4] = le
        n = self._exchange(self._cmdmv[0:5], self._respmv[at:])
        self._sw_at(at, n)
        return at + n - 2

    def command(self, apdu):
        """transceive() and raise APDUError unless SW = 9000; return the data."""
        data, sw = self.transceive(apdu)
        if sw != 0x9000:
            raise APDUError(sw)
        return data


class PN532Channel(APDUChannel):
    """APDUs through PN532 InDataExchange (the chip runs ISO-DEP; AutoRATS on)."""

    def __init__(self, pn532, tg=1, max_response=512):
        super().__init__(max_response)
        self.pn532 = pn532
        self.tg = tg

    def _exchange(self, apdu, out):
        return self.pn532.data_exchange(self.tg, apdu, out)
