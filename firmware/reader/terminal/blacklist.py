"""The offline blacklist store, format 2: one definition of its keys, header, page layout and
lookup (docs/blacklist-format.md; the builder is reader.terminal.blacklist_build, an update's
checks reader.terminal.blacklist_update, format 1 reader.terminal.blacklist_format1).

An ID number is the key (region << 27) | (day * 1000 + sequence): its region code (6 digits),
its birth date as days since 1850-01-01 and its 3-digit sequence; the check character is
derived, so keys and valid ID numbers map one to one (exact answers). A file is a 224-byte
signed header in page 0, then pages of Elias-Fano coded keys, pages of whole 32-byte
electronic health card IDs, and an index (each page's first key) that stays in RAM while the
file is open. Page k is exactly littlefs's data area of the file's block k (page_offset), so a
lookup reads one flash block of list data.

`Blacklist(path)`: `contains(id18)`, `contains_ehc(id_hex)`, `status()`; a missing file is an
empty list, a damaged one says so in `error` and refuses nobody.
"""

import struct

from micropython import const

PATH = "/blacklist.bin"
MAGIC = b"HCBL"
FORMAT = const(2)
HEADER = ">4sBBH14I32s32s32s"      # the signed statement (160 bytes), then a 64-byte signature
STATEMENT = const(160)
HEADER_SIZE = const(224)
RSPAN = const(109573000)           # days 1850-01-01 .. 2149-12-31, times 1000 sequences


class BlacklistError(ValueError):
    pass


def days(year, month, day):
    """Days since 1850-01-01 of a civil date (proleptic Gregorian)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 675639


def key(id18):
    """The key of a valid 18-character ID number (BlacklistError otherwise)."""
    from reader.cards.idnumber import validate  # transient: not held by this module

    if isinstance(id18, (bytes, bytearray)):
        id18 = bytes(id18).decode()
    ok, reason = validate(id18)
    if not ok:
        raise BlacklistError("ID number %r: %s" % (id18, reason))
    day = days(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))
    if not 0 <= day < RSPAN // 1000:
        raise BlacklistError("ID number %r: birth year outside 1850-2149" % id18)
    return (int(id18[0:6]) << 27) | (day * 1000 + int(id18[14:17]))


def page_offset(page, size):
    """File offset of page `page` (littlefs CTZ layout: block k > 0 of a file starts with
    ctz(k) + 1 pointers of 4 bytes; docs/blacklist-format.md)."""
    if page == 0:
        return 0
    k = page - 1
    ones = 0
    while k:
        ones += k & 1
        k >>= 1
    return size + (page - 1) * (size - 8) + 4 * ones


def page_capacity(page, size):
    if page == 0:
        return size
    k, pointers = page, 1
    while not k & 1:
        k >>= 1
        pointers += 1
    return size - 4 * pointers


def parse_header(raw):
    """The header's fields as a dict (BlacklistError when it is not a format 2 header)."""
    if len(raw) < HEADER_SIZE or raw[0:4] != MAGIC or raw[4] != FORMAT or raw[5] not in (1, 2):
        raise BlacklistError("not a blacklist of format %d" % FORMAT)
    v = struct.unpack(HEADER, raw[0:STATEMENT])
    return {"kind": v[2], "version": v[4], "issued": v[5], "expires": v[6], "count": v[7],
            "ehc_count": v[8], "id_pages": v[9], "ehc_pages": v[10], "page_size": v[11],
            "body_size": v[12], "base_version": v[13], "delta": v[14:18], "body_sha256": v[18],
            "base_sha256": v[19], "delta_sha256": v[20]}


class Blacklist:
    """The installed list, its index in RAM (6 bytes per ID page, 8 per eHC page)."""

    def __init__(self, path=PATH):
        self.path = path
        self.version = self.count = self.ehc_count = self.issued = 0
        self.installed = False
        self.error = None
        self.format = FORMAT
        self._pages = self._f = None       # (page size, ID pages, eHC pages)
        self._index = b""
        self._buf = bytearray(32)
        try:
            f = open(path, "rb")
        except OSError:
            return
        with f:
            raw = f.read(44)                # the fields a lookup needs (not the digests)
            size = f.seek(0, 2)
            if raw[0:4] == MAGIC and len(raw) > 4 and raw[4] == 1:
                self.format = 1
            else:
                self._open(f, raw, size)

    def _open(self, f, raw, size):
        # the fields a lookup needs, read in place (no dict of the header kept per tap)
        if len(raw) < 44 or raw[0:4] != MAGIC or raw[4] != FORMAT:
            self.error = "%s: not a blacklist of format %d" % (self.path, FORMAT)
            return
        version, issued, _expires, count, ehc, id_pages, ehc_pages, page, body = \
            struct.unpack_from(">9I", raw, 8)
        if size != page + body:
            self.error = "%s holds %d bytes, its header says %d" % (self.path, size, page + body)
            return
        f.seek(page_offset(1 + id_pages + ehc_pages, page))
        self._index = f.read(6 * id_pages + 8 * ehc_pages)
        self._pages = (page, id_pages, ehc_pages)
        self.version, self.count, self.issued, self.ehc_count = version, count, issued, ehc
        self.installed = True

    def status(self):
        out = {"installed": self.installed, "version": self.version, "count": self.count,
               "ehc_count": self.ehc_count, "issued": self.issued, "format": self.format}
        if self.format == 1:
            from reader.terminal.blacklist_format1 import status

            out.update(status(self.path))
        if self.error:
            out["error"] = self.error
        return out

    def contains(self, id18):
        """True when the ID number is on the list (an invalid one never is: lists hold only
        valid ID numbers)."""
        try:
            k = key(id18)
        except BlacklistError:
            return False
        if self.format == 1:
            from reader.terminal.blacklist_format1 import contains

            return contains(self.path, id18)
        if self._pages is None:
            return False
        size, id_pages, _ = self._pages
        page = _find(self._index, 0, id_pages, 6, k.to_bytes(6, "big"))
        if page < 0:
            return False
        return _in_page(self._file(), page_offset(1 + page, size), k, self._buf)

    def _file(self):
        """The list's file, opened at the first lookup and kept open (no directory lookup
        per check) until close()."""
        if self._f is None:
            self._f = open(self.path, "rb")
        return self._f

    def close(self):
        if self._f is not None:
            self._f.close()
            self._f = None

    def contains_ehc(self, ehc_id):
        """True when the electronic health card ID (64 hex characters) is on the list."""
        if self._pages is None:
            return False
        size, id_pages, ehc_pages = self._pages
        from binascii import unhexlify

        want = unhexlify(ehc_id)
        page = _find(self._index, 6 * id_pages, ehc_pages, 8, want[0:8])
        if page < 0:
            return False
        buf, f = self._buf, self._file()
        at = page_offset(1 + id_pages + page, size)
        before = 0                            # IDs on the eHC pages before this one
        for p in range(page):
            before += page_capacity(1 + id_pages + p, size) // 32
        lo = 0
        hi = min(page_capacity(1 + id_pages + page, size) // 32, self.ehc_count - before)
        while lo < hi:
            mid = (lo + hi) >> 1
            f.seek(at + 32 * mid)
            f.readinto(buf)
            if buf == want:
                return True
            if buf < want:
                lo = mid + 1
            else:
                hi = mid
        return False


def _find(index, base, n, width, want):
    """The last of `n` index entries (`width` bytes from `base`) <= `want`; -1 if none."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        at = base + mid * width
        if index[at:at + width] <= want:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


def _bits(f, at, bit, width, buf):
    """`width` bits (<= 32) of the file from bit `bit` after byte offset `at`, MSB first; reads
    only the bytes that hold them (never past the page)."""
    n = ((bit & 7) + width + 7) >> 3
    f.seek(at + (bit >> 3))
    f.readinto(memoryview(buf)[0:n])
    return (int.from_bytes(buf[0:n], "big") >> (8 * n - (bit & 7) - width)) & ((1 << width) - 1)


def _in_page(f, at, k, buf):
    """Whether key `k` is in the Elias-Fano page at file offset `at` (layout in
    docs/blacklist-format.md): its region in the page's table, then the high part's bucket
    in the upper bits, then the low parts of that bucket."""
    f.seek(at)
    f.readinto(memoryview(buf)[0:13])
    regions, m, low_bits, first, span = buf[0], buf[1] << 8 | buf[2], buf[3], \
        int.from_bytes(buf[4:8], "big"), int.from_bytes(buf[8:13], "big")
    table = f.read(3 * regions)
    region = (k >> 27).to_bytes(3, "big")
    j = 0
    while j < regions and table[3 * j:3 * j + 3] != region:
        j += 1
    if j == regions:
        return False
    v = j * RSPAN + (k & 0x7FFFFFF) - first
    if v < 0 or v > span:
        return False
    lows = at + 13 + 3 * regions
    uppers = lows + (m * low_bits + 7) // 8
    total = m + (span >> low_bits)                  # upper bits: m ones, span >> L zeros
    left = (total + 7) >> 3
    high, low = v >> low_bits, v & ((1 << low_bits) - 1)
    # the bucket of `high`: the ones after the high-th zero of the upper bits (whole bytes
    # skipped while their zeros fall short of it); its elements' low parts are then
    # binary-searched: a few reads, however full the bucket
    pos = zeros = 0
    start = ones = -1
    f.seek(uppers)
    while left:
        n = f.readinto(memoryview(buf)[0:min(left, 32)])
        left -= n
        for i in range(n):
            b = buf[i]
            bit = 0
            if start < 0:
                z = 8 - _ONES[b]
                if zeros + z < high:
                    zeros += z
                    pos += 8
                    continue
                while zeros < high:
                    if not b & (0x80 >> bit):
                        zeros += 1
                    bit += 1
                start, ones = pos + bit, 0
            elif b == 0xFF:
                ones += 8
                pos += 8
                continue
            while bit < 8 and b & (0x80 >> bit):
                ones += 1
                bit += 1
            if bit < 8:
                return _search(f, lows, start - high, ones, low, low_bits, buf)
            pos += 8
    return ones > 0 and _search(f, lows, start - high, ones, low, low_bits, buf)


def _search(f, lows, first, n, low, low_bits, buf):
    """Whether `low` is among the low parts of elements first .. first + n - 1 (sorted)."""
    if not low_bits:
        return n > 0
    lo, hi = first, first + n
    while lo < hi:
        mid = (lo + hi) >> 1
        here = _bits(f, lows, mid * low_bits, low_bits, buf)
        if here == low:
            return True
        if here < low:
            lo = mid + 1
        else:
            hi = mid
    return False


# ones in each byte value: a bytes constant read in place (no table built per import)
_ONES = (
    b"\x00\x01\x01\x02\x01\x02\x02\x03\x01\x02\x02\x03\x02\x03\x03\x04"
    b"\x01\x02\x02\x03\x02\x03\x03\x04\x02\x03\x03\x04\x03\x04\x04\x05"
    b"\x01\x02\x02\x03\x02\x03\x03\x04\x02\x03\x03\x04\x03\x04\x04\x05"
    b"\x02\x03\x03\x04\x03\x04\x04\x05\x03\x04\x04\x05\x04\x05\x05\x06"
    b"\x01\x02\x02\x03\x02\x03\x03\x04\x02\x03\x03\x04\x03\x04\x04\x05"
    b"\x02\x03\x03\x04\x03\x04\x04\x05\x03\x04\x04\x05\x04\x05\x05\x06"
    b"\x02\x03\x03\x04\x03\x04\x04\x05\x03\x04\x04\x05\x04\x05\x05\x06"
    b"\x03\x04\x04\x05\x04\x05\x05\x06\x04\x05\x05\x06\x05\x06\x06\x07"
    b"\x01\x02\x02\x03\x02\x03\x03\x04\x02\x03\x03\x04\x03\x04\x04\x05"
    b"\x02\x03\x03\x04\x03\x04\x04\x05\x03\x04\x04\x05\x04\x05\x05\x06"
    b"\x02\x03\x03\x04\x03\x04\x04\x05\x03\x04\x04\x05\x04\x05\x05\x06"
    b"\x03\x04\x04\x05\x04\x05\x05\x06\x04\x05\x05\x06\x05\x06\x06\x07"
    b"\x02\x03\x03\x04\x03\x04\x04\x05\x03\x04\x04\x05\x04\x05\x05\x06"
    b"\x03\x04\x04\x05\x04\x05\x05\x06\x04\x05\x05\x06\x05\x06\x06\x07"
    b"\x03\x04\x04\x05\x04\x05\x05\x06\x04\x05\x05\x06\x05\x06\x06\x07"
    b"\x04\x05\x05\x06\x05\x06\x06\x07\x05\x06\x06\x07\x06\x07\x07\x08"
)
