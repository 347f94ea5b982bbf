"""One APDU channel interface for every chip and slot, with status-word handling in one place.

A channel subclass implements only `_exchange(apdu, out) -> n`: send one command APDU, put
the response (data + SW1 SW2) into `out`, return its length. `APDUChannel.transceive` adds:
- `61xx`: GET RESPONSE `00 C0 00 00 xx` until the card has nothing more, data concatenated;
- `6Cxx`: the same command sent again with Le = xx (once);
and returns `(data, sw)`: `data` is a memoryview into the channel's buffer, valid until the
next call (copy it with bytes() to keep it). `command()` raises `APDUError` unless SW = 9000.

Channels: `PN532Channel` (InDataExchange, the chip runs ISO-DEP), `iso14443_4.TCL` (host-side
T=CL over a raw-frame transceiver), `SAMChannel` (the SAM slot's ISO 7816-3 T=0,
reader.chips.sam_slot). `Card`: an activated contactless card with its channel, as each chip's
card reader (reader.protocols.pn532_reader, rc522_reader) hands it over.
"""

from micropython import const

from reader.errors import AUTH, CARD, PROTOCOL, UNSUPPORTED, ReaderError, table_entries, table_text

_GET_RESPONSE_LIMIT = const(16)

# Status words (ISO/IEC 7816-4 and the health card) -> meaning, as a bytes constant read in
# place (flash / the ROMFS image), in reader.errors' format with 2-byte codes: SW1 SW2, the
# text, "\n". `SW` (a module
# attribute, below) gives it as a dict for the host and tests.
_SW_TEXT = (
    b"\x90\x00ok\n"
    b"\x62\x81part of the returned data may be corrupted\n"
    b"\x62\x82end of file or record reached before Le bytes\n"
    b"\x62\x83selected file invalidated\n"
    b"\x63\x00verification failed\n"
    b"\x64\x00execution error, memory unchanged\n"
    b"\x65\x81memory failure\n"
    b"\x67\x00wrong length\n"
    b"\x68\x81logical channel not supported\n"
    b"\x68\x82secure messaging not supported\n"
    b"\x69\x81command incompatible with the file structure\n"
    b"\x69\x82security status not satisfied\n"
    b"\x69\x83authentication method blocked\n"
    b"\x69\x84referenced data invalidated\n"
    b"\x69\x85conditions of use not satisfied\n"
    b"\x69\x86command not allowed, no current EF\n"
    b"\x69\x87expected secure messaging data objects missing\n"
    b"\x69\x88secure messaging data objects incorrect (wrong MAC)\n"
    b"\x6A\x80incorrect parameters in the data field\n"
    b"\x6A\x81function not supported\n"
    b"\x6A\x82file or application not found\n"
    b"\x6A\x83record not found\n"
    b"\x6A\x84not enough memory space in the file\n"
    b"\x6A\x86incorrect parameters P1-P2\n"
    b"\x6A\x88referenced data not found\n"
    b"\x6B\x00wrong parameters P1-P2\n"
    b"\x6D\x00instruction code not supported\n"
    b"\x6E\x00class not supported\n"
    b"\x6F\x00no precise diagnosis\n"
)
_AUTH = (0x6300, 0x6982, 0x6983, 0x6988)
_UNSUPPORTED = (0x6881, 0x6882, 0x6A81, 0x6D00, 0x6E00)


def sw_meaning(sw):
    meaning = table_text(_SW_TEXT, sw, 2)
    if meaning is not None:
        return meaning
    if sw & 0xFFF0 == 0x63C0:
        return "verification failed, %d tries left" % (sw & 0x0F)
    if sw >> 8 == 0x61:                        # SW1 alone, when SW2 is a count
        return "more data available (SW2 bytes)"
    if sw >> 8 == 0x6C:
        return "wrong Le (SW2 = the right one)"
    return "unknown status"


def __getattr__(name):
    # SW {sw: meaning} built when asked for (host, tests); the firmware reads _SW_TEXT.
    if name == "SW":
        return {sw: _SW_TEXT[a:b].decode() for sw, a, b in table_entries(_SW_TEXT, 2)}
    raise AttributeError(name)


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
        super().__init__(sw, kind=kind, message=message or "SW %04X: %s"
                         % (sw & 0xFFFF, sw_meaning(sw)))
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
    """Base of every channel: GET RESPONSE and 6Cxx once, here. `max_response`: the longest
    answer kept (default 256: a short APDU's Le maximum; the SW comes on top)."""

    def __init__(self, max_response=256):
        self._resp = bytearray(max_response + 2)
        self._respmv = memoryview(self._resp)
        self._gr = bytearray(5)        # GET RESPONSE (61xx: every T=0 case 2/4 command)
        self._cmd = None               # a 6Cxx re-send (rare): allocated on first use, kept

    def _exchange(self, apdu, out):
        raise NotImplementedError

    def begin(self, apdu):
        """Start `apdu` where the link lets its answer wait (SAMChannel); here a no-op: the
        next transceive(apdu) sends it."""

    def _sw_at(self, at, n):
        if n < 2:
            raise APDUError(SHORT_RESPONSE, "response of %d bytes has no status word" % n)
        return (self._resp[at + n - 2] << 8) | self._resp[at + n - 1]

    def _resend_with_le(self, apdu, le):
        at, _ = le_index(apdu)
        if self._cmd is None:
            self._cmd = bytearray(5 + 255 + 1)
        self._cmd[0:at] = apdu[0:at]
        self._cmd[at] = le
        return memoryview(self._cmd)[0:at + 1]

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
        c = self._gr
        c[1] = 0xC0
        c[4] = le
        n = self._exchange(c, self._respmv[at:])
        self._sw_at(at, n)
        return at + n - 2

    def command(self, apdu):
        """transceive() and raise APDUError unless SW = 9000; return the data."""
        data, sw = self.transceive(apdu)
        if sw != 0x9000:
            raise APDUError(sw)
        return data


class Card:
    """An activated ISO 14443-4 card: `uid`, `atqa`, `sak`, `ats` (bytes, TL first) and
    `channel`, the APDU channel to it (`transceive(apdu) -> (data, sw)`)."""

    def __init__(self, uid, atqa, sak, ats, channel):
        self.uid, self.atqa, self.sak, self.ats, self.channel = uid, atqa, sak, ats, channel


class NotISODepError(ReaderError):
    """A card without ISO 14443-4 (SAK bit 6 clear): it cannot carry APDUs."""

    where = "card"

    def __init__(self, sak):
        super().__init__(sak, kind=UNSUPPORTED, message="card with SAK %02X is not ISO "
                         "14443-4: not a health card" % sak)


class PN532Channel(APDUChannel):
    """APDUs through PN532 InDataExchange (the chip runs ISO-DEP; AutoRATS on)."""

    def __init__(self, pn532, tg=1, max_response=256):
        super().__init__(max_response)
        self.pn532 = pn532
        self.tg = tg

    def _exchange(self, apdu, out):
        return self.pn532.data_exchange(self.tg, apdu, out)


class SAMChannel(APDUChannel):
    """APDUs through the SAM slot (reader.chips.sam_slot.SAMSlot, powered on): T=0 answers
    case 2 and 4 commands with 61xx, so GET RESPONSE is the rule here."""

    def __init__(self, slot, max_response=256):
        super().__init__(max_response)
        self.slot = slot
        self._early = -1               # an answer that came while beginning, -1: none

    def begin(self, apdu):
        """Send `apdu` without waiting for its answer (the SAM works while the caller talks
        to the card); the next transceive(apdu) reads it."""
        self._early = self.slot.exchange(apdu, self._respmv, True)

    def _exchange(self, apdu, out):
        n = self._early
        self._early = -1
        return n if n >= 0 else self.slot.exchange(apdu, out)
