"""The offline blacklist store: one definition of its file format (docs/blacklist-format.md).

A file of 8-byte packed ID numbers, sorted ascending, after a 16-byte header:

    0  4  magic b"HCBL"
    4  1  format version (1)
    5  1  entry size (8)
    6  2  reserved (00 00)
    8  4  list version (big endian), given by the card management platform
    12 4  entry count (big endian)

`pack(id18)`: an 18-character ID number (MOD 11-2 checked) -> 8 bytes, struct ">II" of
(int(first 9 digits), int(digits 10..17) * 11 + check value, X = 10). Byte order = numeric
order of the ID, so the file is sorted as bytes.

`Blacklist(path)`: `contains(id18)` by binary search over the file (16 + 8 bytes read per
step, nothing loaded into RAM), `status()`. `Writer(path, version)` builds a new file from
entries in ascending order (streamed: the host sorts, the reader only checks the order) and
replaces the old file atomically on `commit()`. `parse_text(lines)` / `build(lines,
version)`: a plain text list (one ID per line, `#` comments) -> packed entries / file bytes
(the host tools use them; the reader uses them for small lists).
"""

import os
import struct

from micropython import const

PATH = "/blacklist.bin"
MAGIC = b"HCBL"
FORMAT = const(1)
ENTRY = const(8)
HEADER = const(16)
_TMP = ".tmp"


class BlacklistError(ValueError):
    pass


def pack(id18):
    """The 8-byte packed form of a valid 18-character ID number (BlacklistError otherwise)."""
    from reader.cards.idnumber import validate  # transient: not held by this module

    if isinstance(id18, (bytes, bytearray)):
        id18 = bytes(id18).decode()
    ok, reason = validate(id18)
    if not ok:
        raise BlacklistError("ID number %r: %s" % (id18, reason))
    last = id18[17]
    check = 10 if last in "Xx" else ord(last) - 48
    return struct.pack(">II", int(id18[0:9]), int(id18[9:17]) * 11 + check)


def unpack(entry):
    """8 packed bytes -> the 18-character ID number."""
    hi, lo = struct.unpack(">II", entry)
    check = lo % 11
    return "%09d%08d%s" % (hi, lo // 11, "X" if check == 10 else chr(48 + check))


def header(version, count):
    return MAGIC + struct.pack(">BBHII", FORMAT, ENTRY, 0, version, count)


def parse_text(lines):
    """Lines of a text list -> sorted, de-duplicated packed entries (a list of bytes).
    Blank lines and `#` comments are skipped; a bad ID raises BlacklistError with its line."""
    entries = []
    n = 0
    for line in lines:
        n += 1
        if isinstance(line, (bytes, bytearray)):
            line = bytes(line).decode()
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            entries.append(pack(text))
        except BlacklistError as error:
            raise BlacklistError("line %d: %s" % (n, error)) from None
    entries.sort()
    out = []
    for e in entries:
        if not out or out[-1] != e:
            out.append(e)
    return out


def build(lines, version):
    """A whole blacklist file (bytes) from the lines of a text list."""
    entries = parse_text(lines)
    return header(version, len(entries)) + b"".join(entries)


class Writer:
    """Writes a new list to `path + ".tmp"`, entries in strictly ascending order; `commit()`
    checks the count and renames it over `path` (a power cut keeps the old list)."""

    def __init__(self, path, version):
        if not isinstance(version, int) or not 0 <= version <= 0xFFFFFFFF:
            raise BlacklistError("version must be an integer 0..4294967295")
        self.path = path
        self.version = version
        self.count = 0
        self._last = None
        self._f = open(path + _TMP, "wb")
        self._f.write(header(version, 0))

    def add(self, entry):
        if len(entry) != ENTRY:
            raise BlacklistError("entry of %d bytes, expected 8" % len(entry))
        if self._last is not None and entry <= self._last:
            raise BlacklistError("entry %d (%s) is not above the one before: send the list "
                                 "sorted (reader.terminal.blacklist.pack order), without duplicates"
                                 % (self.count + 1, unpack(entry)))
        self._f.write(entry)
        self._last = bytes(entry)
        self.count += 1

    def add_id(self, id18):
        self.add(pack(id18))

    def commit(self):
        f = self._f
        f.seek(0)
        f.write(header(self.version, self.count))
        f.close()
        self._f = None
        os.rename(self.path + _TMP, self.path)

    def abort(self):
        if self._f is not None:
            self._f.close()
            self._f = None
        try:
            os.remove(self.path + _TMP)
        except OSError:
            pass


class Blacklist:
    """The installed list. `contains()` keeps the file closed between lookups; a missing
    file is an empty list of version 0 (status says "installed": False)."""

    def __init__(self, path=PATH):
        self.path = path
        self._buf = bytearray(HEADER)
        self._entry = bytearray(ENTRY)
        self.version = 0
        self.count = 0
        self.installed = False
        self.error = None
        self.reload()

    def reload(self):
        self.version = self.count = 0
        self.installed = False
        self.error = None
        try:
            with open(self.path, "rb") as f:
                n = f.readinto(self._buf)
                size = f.seek(0, 2)
        except OSError:
            return
        b = self._buf
        if n != HEADER or b[0:4] != MAGIC or b[4] != FORMAT or b[5] != ENTRY:
            self.error = "%s is not a blacklist file of format %d" % (self.path, FORMAT)
            return
        _f, _e, _r, version, count = struct.unpack(">BBHII", b[4:16])
        if size != HEADER + count * ENTRY:
            self.error = "%s holds %d bytes, its header says %d entries" % (
                self.path, size, count)
            return
        self.version, self.count, self.installed = version, count, True

    def status(self):
        out = {"installed": self.installed, "version": self.version, "count": self.count}
        if self.error:
            out["error"] = self.error
        return out

    def contains(self, id18):
        """True when the ID number is on the list (binary search over the file)."""
        if not self.count:
            return False
        key = pack(id18)
        lo, hi = 0, self.count
        entry = self._entry
        with open(self.path, "rb") as f:
            while lo < hi:
                mid = (lo + hi) >> 1
                f.seek(HEADER + mid * ENTRY)
                f.readinto(entry)
                if entry == key:
                    return True
                if entry < key:
                    lo = mid + 1
                else:
                    hi = mid
        return False

    def replace_text(self, lines, version):
        """Install a text list (small lists: sorted in RAM)."""
        w = Writer(self.path, version)
        try:
            for e in parse_text(lines):
                w.add(e)
            w.commit()
        except Exception:
            w.abort()
            raise
        self.reload()
        return self.status()
