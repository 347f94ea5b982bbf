"""The Resident Health Card application: read the files and items a profile asks for.

    card = HealthCard(channel, psam, ats)     # channel: apdu.PN532Channel etc.; psam: PSAM
    card.power_up()                           # DDF1, EF05, city code -> city8
    data = card.read("identity")              # {"KH": b"4101…", "XM": b"\\xd5\\xc5…", …}

A profile is a PROFILES name or a sequence of entries (docs/healthcard-app.md):
- an item's interface field name ("KH", "XM", "GMWZMC" is not one: cyclic files are whole);
- a linear file path ("DF01/EF06": all its items);
- "DDF1/EF07" (photo: the JPEG bytes), "DF02/EF07" / "DF02/EF08" (allergy / immunisation
  records, newest first, dicts by field), "DF03/EF05" / "DF03/EF06" (index: True = used),
  "DF03/EE01" … "DF03/ED05" (one record), "DF03/EE" / "DF03/ED" (every used record).
Results are keyed by field name for items and by the entry for files. Values: AN -> bytes
(GBK, 00 padding stripped; the host decodes text), CN -> digit string, B -> bytes.

Reads follow the card's command sequences (WS/T 543-2017; docs/healthcard-app.md): DDF1/EF05
by tag without authentication, every other file after AuthIRK of its DF, records by number
(P2=04), binaries in 128-byte chunks. Entries are read grouped by DF and file, so each DF is
selected and authenticated once per read. The card
number KH and the ID number SFZH must carry a valid MOD 11-2 check character, else the read
fails with kind invalid-data: nothing is returned half-checked. Whole files (photo, cyclic,
index, EE/ED) are read by reader.cards.healthcard_files, imported only when a profile asks for one.
"""

from micropython import const

from reader.cards import healthcard_items as hi
from reader.cards import idnumber
from reader.cards.healthcard_errors import (
    INVALID_DATA,
    LOCKED,
    HealthCardError,
    card_sw_error,
    link_error,
)
from reader.errors import ReaderError, table_line

SCRATCH_SIZE = const(3267)     # the largest binary file: ED0n (3013 + 64 + 190)

# The named profiles, one a line: name, then its entries. A bytes constant read in place
# (`profile_entries(name)`); PROFILES, a dict of tuples, is built when asked for (host tools).
_PROFILES = (
    b"\nidentity KH XM XB MZ CSRQ SFZH KYXQ"
    b"\nissuer DDF1/EF05"
    b"\ncardholder DDF1/EF05 DDF1/EF06 DDF1/EF08"
    b"\ncontacts DF01/EF05 DF01/EF06 DF01/EF07 DF01/EF08"
    b"\nclinical DF02/EF05 DF02/EF06 DF02/EF07 DF02/EF08"
    b"\nrecords DF03/EF05 DF03/EF06 DF03/EE DF03/ED"
    b"\nfull DDF1/EF05 DDF1/EF06 DDF1/EF07 DDF1/EF08 DF01/EF05 DF01/EF06 DF01/EF07 DF01/EF08"
    b" DF02/EF05 DF02/EF06 DF02/EF07 DF02/EF08 DF03/EF05 DF03/EF06 DF03/EE DF03/ED"
    b"\n"
)


def profile_entries(name):
    """The entries of the named profile (a tuple of str); ValueError for an unknown name."""
    line = table_line(_PROFILES, name)
    if line is None:
        raise ValueError("no profile %r: the profiles are %s" % (name, ", ".join(_names())))
    return tuple(line.split())


def _names():
    return [str(line.split(b" ")[0], "ascii") for line in _PROFILES.split(b"\n") if line]


def __getattr__(name):
    if name == "PROFILES":
        return {n: profile_entries(n) for n in _names()}
    raise AttributeError(name)


_ID_FIELDS = ("KH", "SFZH")
_DFS = ("DDF1", "DF01", "DF02", "DF03")
_VISITS = ("DF03/EE", "DF03/ED")


def plan(profile):
    """The profile's entries as (path, record number, item or None, result key) tuples, grouped
    by DF (DDF1, DF01, DF02, DF03) and file in the card's order, so a read selects and
    authenticates each DF once (pure; ValueError names an unknown entry). Reads the item
    table in place (healthcard_items.item_rows): only the items asked for become tuples."""
    steps = []
    for step in _steps(profile):
        if isinstance(step, int):
            item = hi.item_at(step >> 8)
            steps.append((item[0], step & 0xFF, item, item[5]))
        else:
            steps.append((step, 0, None, step))
    return steps


def _steps(profile):
    """`plan` as a read walks it: an item as one small int (its row in the item table << 8 |
    its record number), a whole file as its path; HealthCard.read makes each item's tuple
    only when it reads it (a list of tuples held through the read was ~2 KB of the tap's
    peak)."""
    entries = profile_entries(profile) if isinstance(profile, str) else profile
    rows = []
    others = []
    for entry in entries:
        found = hi.item_rows(entry)
        if found:
            rows.extend(found)
        elif hi.file_info(entry) is not None or entry in _VISITS:
            others.append(entry)
        else:
            raise ValueError("profile entry %r is neither an item field nor a file" % entry)
    rows.sort()              # table order: DDF1, DF01, DF02, DF03, files and records in order
    steps = []
    at = 0
    for df in _DFS:
        first = -1
        prev = None
        while at < len(rows):
            if at and rows[at] == rows[at - 1]:
                at += 1
                continue
            path = hi.item_path(rows[at])
            if not path.startswith(df):
                break
            if path != prev:
                prev = path
                first = hi.first_row(prev)
            steps.append(rows[at] << 8 | (rows[at] - first + 1))
            at += 1
        if others:
            for info in hi.each_file():
                path = info[0]
                if info[1] != hi.LINEAR and path.startswith(df) and path in others:
                    steps.append(path)
    for path in _VISITS:
        if path in others:
            steps.append(path)
    return steps


def check_id_number(value, where, field=None):
    """An AN ID number (bytes) with a valid MOD 11-2 check character -> its text. `where`
    names it; with `field`, `where` is its file (None: the field's own) and the name
    "DDF1/EF05 KH" is only formatted on failure (a good read allocates no text)."""
    try:
        text = value.decode()
    except UnicodeError:
        text = None
    ok, reason = idnumber.validate(text) if text else (False, "not ASCII text")
    if not ok:
        if field is not None:
            where = "%s %s" % (where or hi.item_by_field(field)[0], field)
        raise HealthCardError(INVALID_DATA, 0, where, "ID number %r: %s" % (value, reason))
    return text


# -- the card session (docs/healthcard-app.md, docs/card-crypto.md) ---------------------------
# Power-up, file selection, AuthIRK / AuthUK through the PSAM. The APDUs are those of §3, byte
# for byte. The session remembers the selected DF and EF (never selects twice) and the keys
# the card granted in the current DF (each key is authenticated once; the card forgets its
# grants when another DF is selected, and so does the session). Every failure raises
# `HealthCardError` (healthcard_errors.py).

_BUF = const(5 + 255 + 1)
# The terminal's 8 bytes of AuthIRK (the vendor reader DLL's constant).
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

    def authenticate(self, key_name, work=None):
        """AuthIRK (IRK_*) or AuthUK (UK_*) of `key_name`, once per DF visit; `work` (a
        callable: card commands that keep the challenge) runs while the SAM works
        (psam.PSAM.cryptogram)."""
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
                             self._x, work)
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


class HealthCard(CardSession):
    """Reads of one tapped card (see the module docstring); writes: healthcard_write."""

    def __init__(self, channel, psam, ats, scratch=None, **kw):
        """`scratch`: a buffer of at least SCRATCH_SIZE bytes for the binary files (photo,
        EE/ED), best allocated once at boot; None allocates one on the first binary read."""
        super().__init__(channel, psam, ats, **kw)
        self._scratch = scratch
        self._ahead = None      # the overlap's state: steps, next, stop, EF path, results

    def read(self, profile="identity"):
        """The entries of `profile` -> dict; raises HealthCardError, never returns part (an ID
        number with a wrong check character fails the read at its end)."""
        if self.city8 is None:
            self.power_up()
        out = {}
        steps = _steps(profile)
        for at in range(self._overlap(steps, out), len(steps)):
            step = steps[at]
            if isinstance(step, int):
                item = hi.item_at(step >> 8)
                out[item[5]] = self.read_item(item, step & 0xFF, False)
            else:
                out[step] = self.read_file(step)
        # the ID numbers' check characters once all is read: reader.cards.idnumber comes in
        # after the authentications, not at the read's fullest point (the SAM and the card)
        for field in _ID_FIELDS:
            if field in out:
                check_id_number(out[field], None, field)
        return out

    def _overlap(self, steps, out):
        """AuthIRK of DDF1 before its first protected item, the SAM's 80DE and 80FA running
        while the card answers the public DDF1/EF05 reads before that item, else selects its
        EF (docs/card-crypto.md, "Overlap") -> the number of steps done."""
        at = 0
        for step in steps:
            if not isinstance(step, int):
                return 0
            path = hi.item_path(step >> 8)
            if path != "DDF1/EF05":
                break
            at += 1
        else:
            return 0
        if not path.startswith("DDF1"):
            return 0
        self._ahead = [steps, 0, at, path, out]
        self.authenticate(hi.read_key(path), self._card_step)
        while self._ahead[1] < at:
            self._card_step()
        self._ahead = None
        return at

    def _card_step(self):
        """The card's part of the overlap: the next public read, else the SELECT."""
        ahead = self._ahead
        if ahead[1] < ahead[2]:
            step = ahead[0][ahead[1]]
            ahead[1] += 1
            item = hi.item_at(step >> 8)
            ahead[4][item[5]] = self.read_item(item, step & 0xFF, False)
        else:
            self.select_ef(ahead[3])

    # -- items ----------------------------------------------------------------------------------
    def read_item(self, item, number=0, check=True):
        """One ITEMS tuple -> its decoded value (ID numbers checked unless `check` is False:
        `read` checks them at its end)."""
        path = item[0]
        if item[5] == "YYCSDM" and self.city_code is not None:
            return self.city_code
        if path == "DDF1/EF05":
            self.select_ef(path)
            value = self.read_tagged(item)
        else:
            self.authenticate(hi.read_key(path))
            self.select_ef(path)
            value = self.read_numbered(item, number or hi.record_number(path, item[1]))
        if check and item[5] in _ID_FIELDS:
            check_id_number(value, path, item[5])
        return value

    def read_field(self, field):
        item = hi.item_by_field(field)
        if item is None:
            raise ValueError("no item %r" % field)
        return self.read_item(item)

    # -- files: reader.cards.healthcard_files, imported when a read or write needs a whole file --
    def read_file(self, path):
        """A whole file: a linear file's items (dict by field), cyclic records (list of dicts,
        newest first), index flags (list of bools), the photo (bytes), an EE/ED record (dict),
        "DF03/EE" / "DF03/ED" (every used record)."""
        from reader.cards import healthcard_files
        return healthcard_files.read_file(self, path)

    def read_binary(self, offset, out):
        """READ BINARY of the selected EF from `offset` into `out`, in 128-byte chunks."""
        from reader.cards import healthcard_files
        return healthcard_files.read_binary(self, offset, out)

    def read_visits(self, kind):
        """Every used inpatient ("EE") or outpatient ("ED") record -> {number: record}."""
        from reader.cards import healthcard_files
        return healthcard_files.read_visits(self, kind)

    def _scratch_view(self, size):
        """The first `size` bytes of the session's scratch buffer (SCRATCH_SIZE, allocated
        on first use unless given)."""
        if self._scratch is None or len(self._scratch) < SCRATCH_SIZE:
            self._scratch = bytearray(SCRATCH_SIZE)
        return memoryview(self._scratch)[0:size]
