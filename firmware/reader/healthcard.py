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

Reads follow health-card.md §3: DDF1/EF05 by tag without authentication, every other file
after AuthIRK of its DF, records by number (P2=04), binaries in 128-byte chunks. Entries are
read grouped by DF and file, so each DF is selected and authenticated once per read. The card
number KH and the ID number SFZH must carry a valid MOD 11-2 check character, else the read
fails with kind invalid-data: nothing is returned half-checked. Whole files (photo, cyclic,
index, EE/ED) are read by reader.healthcard_files, imported only when a profile asks for one.
"""

from micropython import const

from reader import healthcard_items as hi
from reader import idnumber
from reader.healthcard_auth import CardSession
from reader.healthcard_errors import INVALID_DATA, HealthCardError

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
    key = b"\n" + name.encode() + b" "
    at = _PROFILES.find(key)
    if at < 0:
        raise ValueError("no profile %r: the profiles are %s" % (name, ", ".join(_names())))
    start = at + len(key)
    return tuple(str(_PROFILES[start:_PROFILES.find(b"\n", start)], "ascii").split())


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
            item = hi.item_at(rows[at])
            if not item[0].startswith(df):
                break
            if item[0] != prev:
                prev = item[0]
                first = hi.first_row(prev)
            steps.append((item[0], rows[at] - first + 1, item, item[5]))
            at += 1
        if others:
            for info in hi.each_file():
                path = info[0]
                if info[1] != hi.LINEAR and path.startswith(df) and path in others:
                    steps.append((path, 0, None, path))
    for path in _VISITS:
        if path in others:
            steps.append((path, 0, None, path))
    return steps


def check_id_number(value, where):
    """An AN ID number (bytes) with a valid MOD 11-2 check character -> its text."""
    try:
        text = value.decode()
    except UnicodeError:
        text = None
    ok, reason = idnumber.validate(text) if text else (False, "not ASCII text")
    if not ok:
        raise HealthCardError(INVALID_DATA, 0, where, "ID number %r: %s" % (value, reason))
    return text


class HealthCard(CardSession):
    """Reads of one tapped card (see the module docstring); writes: healthcard_write."""

    def __init__(self, channel, psam, ats, scratch=None, **kw):
        """`scratch`: a buffer of at least SCRATCH_SIZE bytes for the binary files (photo,
        EE/ED), best allocated once at boot; None allocates one on the first binary read."""
        super().__init__(channel, psam, ats, **kw)
        self._scratch = scratch

    def read(self, profile="identity"):
        """The entries of `profile` -> dict; raises HealthCardError, never returns part."""
        if self.city8 is None:
            self.power_up()
        out = {}
        for path, number, item, key in plan(profile):
            if item is not None:
                out[key] = self.read_item(item, number)
            else:
                out[key] = self.read_file(path)
        return out

    # -- items ----------------------------------------------------------------------------------
    def read_item(self, item, number=0):
        """One ITEMS tuple -> its decoded value (ID numbers checked)."""
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
        if item[5] in _ID_FIELDS:
            check_id_number(value, "%s %s" % (path, item[5]))
        return value

    def read_field(self, field):
        item = hi.item_by_field(field)
        if item is None:
            raise ValueError("no item %r" % field)
        return self.read_item(item)

    # -- files: reader.healthcard_files, imported when a read or write needs a whole file --
    def read_file(self, path):
        """A whole file: a linear file's items (dict by field), cyclic records (list of dicts,
        newest first), index flags (list of bools), the photo (bytes), an EE/ED record (dict),
        "DF03/EE" / "DF03/ED" (every used record)."""
        from reader import healthcard_files
        return healthcard_files.read_file(self, path)

    def read_binary(self, offset, out):
        """READ BINARY of the selected EF from `offset` into `out`, in 128-byte chunks."""
        from reader import healthcard_files
        return healthcard_files.read_binary(self, offset, out)

    def read_visits(self, kind):
        """Every used inpatient ("EE") or outpatient ("ED") record -> {number: record}."""
        from reader import healthcard_files
        return healthcard_files.read_visits(self, kind)

    def _scratch_view(self, size):
        """The first `size` bytes of the session's scratch buffer (SCRATCH_SIZE, allocated
        on first use unless given)."""
        if self._scratch is None or len(self._scratch) < SCRATCH_SIZE:
            self._scratch = bytearray(SCRATCH_SIZE)
        return memoryview(self._scratch)[0:size]
