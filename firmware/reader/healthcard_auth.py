"""A health card session: power-up, file selection, AuthIRK / AuthUK through the PSAM, PIN.

The APDUs are those of shared/domain/health-card.md §3, byte for byte. The session remembers
the selected DF and EF (never selects twice) and the keys the card granted in the current DF
(each key is authenticated once; the card forgets its grants when another DF is selected, and
so does the session). Every failure raises `HealthCardError` (healthcard_errors.py).
"""

from micropython import const

from reader import healthcard_items as hi
from reader.driver_errors import ReaderError
from reader.healthcard_errors import (
    INVALID_DATA,
    LOCKED,
    HealthCardError,
    card_sw_error,
    link_error,
)

_BUF = const(5 + 255 + 1)
# The terminal's 8 bytes of AuthIRK (the vendor DLL's constant; health-card.md §3).
TERMINAL8 = b"\x11\x22\x33\x44\x55\x66\x77\x88"


class CardSession:
    """One tapped card: `channel` carries its APDUs (e.g. apdu.PN532Channel), `psam` is a
    psam.PSAM with DF01 selected, `ats` the card's ATS (TL first; cardNo8 = ats[5:13])."""

    def __init__(self, channel, psam, ats, terminal8=TERMINAL8):
        if ats is None or len(ats) < 13:
            raise HealthCardError(INVALID_DATA, 0, "ATS", "the ATS is %s: cardNo8 needs bytes "
                                  "5..12" % ("missing" if ats is None else "%d bytes" % len(ats)))
        self.channel = channel
        self.psam = psam
        self.card_no8 = bytes(ats[5:13])
        self.terminal8 = terminal8
        self.city_code = None
        self.city8 = None
        self.df = None          # name of the selected DF ("DDF1" …), None = unknown
        self.ef = None          # path of the selected EF ("DDF1/EF05"), None = none
        self.granted = []       # key names the card granted in the selected DF
        self.apdus = 0          # card APDUs sent (for measurements)
        self._buf = bytearray(_BUF)
        self._mv = memoryview(self._buf)
        self._rand = bytearray(16)   # R1 | R2 (R alone in the first 8)
        self._rmv = memoryview(self._rand)
        self._x = bytearray(8)

    # -- APDUs to the card --------------------------------------------------------------------
    def _put(self, cla, ins, p1, p2, p3):
        b = self._buf
        b[0] = cla
        b[1] = ins
        b[2] = p1
        b[3] = p2
        b[4] = p3

    # `what` (a constant or a path) and `detail` name the failing step; the message is only
    # formatted when something fails, so a successful APDU allocates no text.
    def _transceive(self, n, what, detail=None):
        self.apdus += 1
        try:
            return self.channel.transceive(self._mv[0:n])
        except ReaderError as error:
            raise link_error(error, _where(what, detail)) from None

    def _ok(self, n, what, detail=None):
        data, sw = self._transceive(n, what, detail)
        if sw != 0x9000:
            raise card_sw_error(sw, _where(what, detail))
        return data

    # -- files --------------------------------------------------------------------------------
    def _select(self, fid, name):
        self._put(0x00, 0xA4, 0x00, 0x00, 2)
        self._buf[5] = fid >> 8
        self._buf[6] = fid & 0xFF
        data, sw = self._transceive(7, "SELECT", name)
        if sw == 0x6283 and fid == 0xDDF1:
            raise HealthCardError(LOCKED, sw, "SELECT DDF1", "SW 6283: the health "
                                  "application is locked")
        if sw != 0x9000:
            raise card_sw_error(sw, "SELECT " + name)

    def select_df(self, df):
        if self.df == df:
            return
        self.df = self.ef = None
        self.granted = []
        self._select(int(df, 16), df)          # "DDF1" -> DDF1, "DF02" -> DF02
        self.df = df

    def select_ef(self, path):
        """Select "DF03/EE01" (its DF first when needed)."""
        if self.ef == path:
            return
        self.select_df(path[0:4])
        self.ef = None
        self._select(int(path[5:9], 16), path)
        self.ef = path

    def power_up(self):
        """SELECT DDF1, EF05, read the city code (tag 39) and build city8."""
        self.select_ef("DDF1/EF05")
        item = hi.item_by_field("YYCSDM")
        self.city_code = self.read_tagged(item)
        if len(self.city_code) < 2:
            raise HealthCardError(INVALID_DATA, 0, "DDF1/EF05 YYCSDM",
                                  "city code %r has no province digits" % self.city_code)
        self.city8 = self.city_code[0:2].encode() + b"000000"

    def read_tagged(self, item):
        """READ RECORD by tag (P2=00) in the selected EF -> the decoded value."""
        self._put(0x00, 0xB2, item[1], 0x00, item[2] + 2)
        return _decode(item, self._ok(5, item[0], item[5]))

    def read_numbered(self, item, number):
        """READ RECORD number `number` (P2=04, Le 00) -> the decoded TLV value of `item`."""
        self._put(0x00, 0xB2, number, 0x04, 0x00)
        return _decode(item, self._ok(5, item[0], item[5]))

    # -- authentication -----------------------------------------------------------------------
    def challenge(self, at=0):
        """GET CHALLENGE -> the 8 bytes kept in self._rand[at:at+8]."""
        self._put(0x00, 0x84, 0x00, 0x00, 0x08)
        r = self._ok(5, "GET CHALLENGE")
        if len(r) != 8:
            raise HealthCardError(INVALID_DATA, len(r), "GET CHALLENGE",
                                  "challenge of %d bytes" % len(r))
        self._rand[at:at + 8] = r
        return self._rmv[at:at + 8]

    def _two_level(self, key):
        return self.city8 if key[1] >> 4 == 4 else None

    def authenticate(self, key_name):
        """AuthIRK (IRK_*) or AuthUK (UK_*) of `key_name`, once per DF visit."""
        if key_name in self.granted:
            return
        key = hi.key_info(key_name)
        self.select_df(key[3])
        if key_name[0] == "I":
            random = self.challenge()
            terminal = self.terminal8
        else:
            terminal = self.challenge(0)          # R1: the card's "terminal data"
            random = self.challenge(8)            # R2: diversifies the session key
        self.psam.cryptogram(key, self.card_no8, self._two_level(key), random, terminal,
                             self._x)
        self._put(0x00, 0x82, 0x00, key[4], 0x11)
        b = self._buf
        b[5:13] = self._x
        b[13:21] = terminal
        b[21] = 0x01
        self._ok(22, "EXTERNAL AUTHENTICATE", key_name)
        self.granted.append(key_name)


def _where(what, detail):
    return what if detail is None else "%s %s" % (what, detail)


def _decode(item, record):
    try:
        return hi.decode_item(item, record)
    except ValueError as error:
        raise HealthCardError(INVALID_DATA, 0, _where(item[0], item[5]), str(error)) \
            from None
