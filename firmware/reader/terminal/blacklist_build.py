"""Building blacklist files of format 2 (docs/blacklist-format.md): the one encoder, used by
the host tools to make a list and by the reader to apply a delta, so both produce the same
bytes and the platform's signed digest of the result checks on the reader.

    b = Builder(f, page_size)     # f: a file open for writing, positioned at 0
    b.add_ids(ListSource(keys))   # ascending keys (reader.terminal.blacklist.key), or a
                                  # DeltaSource: the installed list merged with a delta
    for e in ehc_ids: b.add_ehc(e)  # ascending 32-byte electronic health card IDs
    b.finish()                    # writes the index; b.id_pages, b.ehc_pages, b.body_size,
                                  # b.digest (SHA-256 of the body: everything after page 0)

`keys(f, h)` / `ehc_ids(f, h)` read a list's entries back in order; `merge(old, adds,
removes)` is the sorted merge of a delta's eHC IDs.
"""

import hashlib
import struct

from micropython import const

from reader.terminal.blacklist import RSPAN, BlacklistError, page_capacity, page_offset

MAX_PAGE_KEYS = const(65535)    # a page's count is 16 bits
_MAX_REGIONS = const(255)


def header(fields, signature=bytes(64)):
    """The 224-byte header: the 160-byte statement (fields as parse_header gives them) and
    the signature over it."""
    d = fields.get("delta", (0, 0, 0, 0))
    statement = struct.pack(
        ">4sBBH14I32s32s32s", b"HCBL", 2, fields["kind"], 0, fields["version"],
        fields.get("issued", 0), fields.get("expires", 0), fields["count"],
        fields.get("ehc_count", 0), fields.get("id_pages", 0), fields.get("ehc_pages", 0),
        fields.get("page_size", 4096), fields.get("body_size", 0),
        fields.get("base_version", 0), d[0], d[1], d[2], d[3],
        fields.get("body_sha256", bytes(32)), fields.get("base_sha256", bytes(32)),
        fields.get("delta_sha256", bytes(32)))
    return statement + bytes(signature)


def _low_bits(m, span):
    """Elias-Fano's low part width: floor(log2((span + 1) / m)) (no int.bit_length here)."""
    q, low = (span + 1) // m, -1
    while q:
        q >>= 1
        low += 1
    return low


def _page_bytes(m, span, regions):
    low = _low_bits(m, span)
    return 13 + 3 * regions + (m * low + 7) // 8 + (m + (span >> low) + 7) // 8


class Builder:
    """Writes a list's body to `f` from a key source (`ids`: a ListSource, or a DeltaSource
    that merges the installed list with a delta): each page in three passes over the source
    from the page's first key (its extent, its low parts, its high parts), so no page is
    ever in RAM, only a few numbers and the page's region table."""

    def __init__(self, f, page_size=4096):
        self.f = f
        self.size = page_size
        self.page = 1                       # page 0 is the header's
        self.id_pages = self.ehc_pages = self.count = self.ehc_count = 0
        self._sha = hashlib.sha256()
        self._index = bytearray()
        self._ehc_n = 0
        self._last_ehc = b""
        self._ehc_index = bytearray()       # first 8 bytes of each eHC page
        self._in_page = 0                   # bytes written into the current page
        zeros = bytes(32)
        for _ in range(page_size // 32):    # page 0 (not in the digest): the header is
            f.write(zeros)                  # written over it later

    # -- ID numbers -------------------------------------------------------------------------
    def add_ids(self, ids):
        """All the keys of source `ids` (ascending), page by page."""
        while True:
            mark = ids.mark()
            m, regions, first, span = self._extent(ids)
            if not m:
                return
            low = _low_bits(m, span)
            self._index += ((regions[0] << 16 | regions[1] << 8 | regions[2]) << 27
                            | first).to_bytes(6, "big")
            self._write(struct.pack(">BHBI", len(regions) // 3, m, low, first))
            self._write(span.to_bytes(5, "big"))
            self._write(regions)
            bits = _Bits(self._write)
            for v in self._values(ids, mark, m, regions, first):
                bits.put(v & ((1 << low) - 1), low)
            bits.align()
            high = 0
            for v in self._values(ids, mark, m, regions, first):
                bits.put(1, (v >> low) - high + 1)     # the gap in unary: zeros, then a one
                high = v >> low
            bits.align()
            self._end_page()
            self.id_pages += 1
            self.count += m

    def _extent(self, ids):
        """How many keys from here fill a page: (m, region table, first rest, span)."""
        cap = page_capacity(self.page, self.size)
        k = ids.next()
        if k is None:
            return 0, None, 0, 0
        regions = bytearray((k >> 27).to_bytes(3, "big"))
        first, m, j, span = k & 0x7FFFFFF, 1, 0, 0
        while m < MAX_PAGE_KEYS:
            k = ids.next()
            if k is None:
                break
            region = (k >> 27).to_bytes(3, "big")
            new_region = regions[-3:] != region
            if new_region and j == _MAX_REGIONS - 1:
                break
            there = (j + new_region) * RSPAN + (k & 0x7FFFFFF) - first
            if _page_bytes(m + 1, there, len(regions) // 3 + new_region) > cap:
                break
            if new_region:
                regions += region
                j += 1
            m, span = m + 1, there
        return m, regions, first, span

    @staticmethod
    def _values(ids, mark, m, regions, first):
        """The page's m keys again from `mark`, as offsets from its first (the source ends
        after them)."""
        ids.reset(mark)
        j = 0
        for _ in range(m):
            k = ids.next()
            if regions[3 * j:3 * j + 3] != (k >> 27).to_bytes(3, "big"):
                j += 1
            yield j * RSPAN + (k & 0x7FFFFFF) - first

    # -- electronic health card IDs ---------------------------------------------------------
    def add_ehc(self, ehc):
        if len(ehc) != 32 or bytes(ehc) <= self._last_ehc:
            raise BlacklistError("electronic health card IDs: 32 bytes each, ascending")
        if self._ehc_n == page_capacity(self.page, self.size) // 32:
            self._flush_ehc()
        if not self._ehc_n:
            self._ehc_index += ehc[0:8]
        self._write(ehc)
        self._ehc_n += 1
        self._last_ehc = bytes(ehc)
        self.ehc_count += 1

    def _flush_ehc(self):
        if not self._ehc_n:
            return
        self._end_page()
        self.ehc_pages += 1
        self._ehc_n = 0

    # -- pages --------------------------------------------------------------------------------
    def _write(self, data):
        self.f.write(data)
        self._sha.update(data)
        self._in_page += len(data)

    def _end_page(self):
        """Zeros to the page's end."""
        left = page_capacity(self.page, self.size) - self._in_page
        zeros = bytes(32)
        while left > 0:
            self._write(zeros[0:min(32, left)])
            left -= 32
        self.page += 1
        self._in_page = 0

    def finish(self):
        self._flush_ehc()
        self._write(self._index)
        self._write(self._ehc_index)
        self.body_size = page_offset(self.page, self.size) - self.size + len(self._index) + \
            len(self._ehc_index)
        self.digest = self._sha.digest()
        return self


class ListSource:
    """Keys from a sorted list (the host's builds). BlacklistError for one out of order."""

    def __init__(self, keys):
        self.keys, self.i = keys, 0

    def next(self):
        if self.i == len(self.keys):
            return None
        k = self.keys[self.i]
        if self.i and k <= self.keys[self.i - 1]:
            raise BlacklistError("ID number keys must ascend: %d after %d"
                                 % (k, self.keys[self.i - 1]))
        self.i += 1
        return k

    def mark(self):
        return self.i

    def reset(self, mark):
        self.i = mark


class DeltaSource:
    """The keys of the installed list (file `f`, header `h`) without the delta's removes and
    with its adds (6-byte keys at offsets `adds`/`removes` of file `d`, `n_adds`/`n_removes`
    of them): a merge that can go back to a mark. BlacklistError when the delta removes a
    key the list does not hold or adds one it holds."""

    def __init__(self, f, h, d, adds, n_adds, removes, n_removes):
        self.old = _PageKeys(f, h)
        self.d = d
        self.adds, self.n_adds, self.removes, self.n_removes = adds, n_adds, removes, n_removes
        self.a = self.r = 0
        self._e = bytearray(6)

    def _entry(self, at, i):
        self.d.seek(at + 6 * i)
        self.d.readinto(self._e)
        return int.from_bytes(self._e, "big")

    def next(self):
        while True:
            o = self.old.peek()
            a = self._entry(self.adds, self.a) if self.a < self.n_adds else None
            r = self._entry(self.removes, self.r) if self.r < self.n_removes else None
            if r is not None and (o is None or r < o):
                raise BlacklistError("the delta removes an entry the list does not hold")
            if a is not None and (o is None or a < o):
                self.a += 1
                return a
            if o is None:
                return None
            if a == o:
                raise BlacklistError("the delta adds an entry the list already holds")
            self.old.skip()
            if r != o:
                return o
            self.r += 1

    def mark(self):
        return self.old.mark(), self.a, self.r

    def reset(self, mark):
        self.old.reset(mark[0])
        self.a, self.r = mark[1], mark[2]


class _PageKeys:
    """The keys of a list file in order, with a position (page, index) that can be set back:
    decoded through two small windows, never a whole page in RAM."""

    def __init__(self, f, h):
        self.f, self.h = f, h
        self.page = self.i = self.m = 0
        self._head = bytearray(13)
        self._open(0, 0)

    def _open(self, page, skip):
        self.page, self.i, self.m = page, 0, 0
        if page >= self.h["id_pages"]:
            return
        f = self.f
        at = page_offset(1 + page, self.h["page_size"])
        f.seek(at)
        f.readinto(self._head)
        regions, self.m, self.low, self.first = struct.unpack(">BHBI", self._head[0:8])
        f.seek(at + 13)
        self.table = f.read(3 * regions)
        self.lows = _BitReader(f, at + 13 + 3 * regions)
        self.uppers = _BitReader(f, at + 13 + 3 * regions + (self.m * self.low + 7) // 8)
        self.high = 0
        self._next = self._decode()
        for _ in range(skip):
            self.skip()

    def _decode(self):
        if self.i >= self.m:
            return None
        while not self.uppers.bit():
            self.high += 1
        local = self.first + ((self.high << self.low) | self.lows.get(self.low))
        j = local // RSPAN
        return (int.from_bytes(self.table[3 * j:3 * j + 3], "big") << 27) | (local % RSPAN)

    def peek(self):
        return self._next if self.i < self.m else None

    def skip(self):
        self.i += 1
        if self.i < self.m:
            self._next = self._decode()
        elif self.page + 1 < self.h["id_pages"]:
            self._open(self.page + 1, 0)

    def mark(self):
        return self.page, self.i

    def reset(self, mark):
        if mark != (self.page, self.i):
            self._open(mark[0], mark[1])


class _Bits:
    """Bits written MSB first, handed on as whole bytes."""

    def __init__(self, write):
        self.write = write
        self.acc = self.n = 0

    def put(self, value, width):
        self.acc = (self.acc << width) | value
        self.n += width
        if self.n >= 64:
            self._out(self.n >> 3)

    def _out(self, nbytes):
        keep = self.n - 8 * nbytes
        self.write((self.acc >> keep).to_bytes(nbytes, "big"))
        self.acc &= (1 << keep) - 1
        self.n = keep

    def align(self):
        if self.n & 7:
            self.put(0, 8 - (self.n & 7))
        if self.n:
            self._out(self.n >> 3)


class _BitReader:
    """Bits of a file from byte offset `at`, MSB first, through a 32-byte window."""

    def __init__(self, f, at):
        self.f, self.at = f, at
        self.buf = bytearray(32)
        self.pos = self.end = 0             # bit positions in the window

    def _fill(self):
        self.f.seek(self.at)
        n = self.f.readinto(self.buf)
        self.at += n
        self.pos, self.end = 0, 8 * n

    def bit(self):
        if self.pos == self.end:
            self._fill()
        b = (self.buf[self.pos >> 3] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return b

    def get(self, width):
        value = 0
        for _ in range(width):
            value = (value << 1) | self.bit()
        return value


def keys(f, h):
    """The ID number keys of an open list file (header fields `h`), ascending."""
    cursor = _PageKeys(f, h)
    while True:
        k = cursor.peek()
        if k is None:
            return
        yield k
        cursor.skip()


def ehc_ids(f, h):
    """The electronic health card IDs (32 bytes each) of an open list file, ascending."""
    size, left = h["page_size"], h["ehc_count"]
    for page in range(1 + h["id_pages"], 1 + h["id_pages"] + h["ehc_pages"]):
        at = page_offset(page, size)
        for i in range(min(left, page_capacity(page, size) // 32)):
            f.seek(at + 32 * i)
            yield f.read(32)
            left -= 1


def merge(old, adds, removes):
    """The ascending entries of `old` without `removes`, with `adds` (all three ascending).
    BlacklistError when a delta removes an entry not on the list or adds one already on it."""
    old, adds, removes = iter(old), iter(adds), iter(removes)
    o, a, r = next(old, None), next(adds, None), next(removes, None)
    while o is not None or a is not None:
        if a is not None and (o is None or a < o):
            yield a
            a = next(adds, None)
        elif a is not None and a == o:
            raise BlacklistError("the delta adds an entry the list already holds")
        elif r is not None and r == o:
            o, r = next(old, None), next(removes, None)
        elif r is not None and r < o:
            raise BlacklistError("the delta removes an entry the list does not hold")
        else:
            yield o
            o = next(old, None)
    if r is not None:
        raise BlacklistError("the delta removes an entry the list does not hold")
