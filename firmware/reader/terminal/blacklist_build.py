"""Building blacklist files of format 2 (docs/blacklist-format.md): the one encoder, used by
the host tools to make a list and by the reader to apply a delta, so both produce the same
bytes and the platform's signed digest of the result checks on the reader.

    b = Builder(f, page_size)     # f: a file open for writing, positioned at 0
    for k in id_keys: b.add(k)    # ascending keys (reader.terminal.blacklist.key)
    for e in ehc_ids: b.add_ehc(e)  # ascending 32-byte electronic health card IDs
    b.finish()                    # writes the index; b.id_pages, b.ehc_pages, b.body_size,
                                  # b.digest (SHA-256 of the body: everything after page 0)

`keys(f, h)` / `ehc_ids(f, h)` read a list's entries back in order; `merge(old, adds,
removes)` is the sorted merge a delta applies.
"""

import hashlib
import struct
from array import array

from micropython import const

from reader.terminal.blacklist import RSPAN, BlacklistError, page_capacity, page_offset

MAX_PAGE_KEYS = const(2048)     # bounds the reader's RAM while it applies a delta
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
    return 12 + 3 * regions + (m * low + 7) // 8 + (m + (span >> low) + 7) // 8


class Builder:
    def __init__(self, f, page_size=4096):
        self.f = f
        self.size = page_size
        self.page = 1                       # page 0 is the header's
        self.id_pages = self.ehc_pages = self.count = self.ehc_count = 0
        self._sha = hashlib.sha256()
        self._index = bytearray()
        self._rests = array("I")
        self._js = bytearray()
        self._regions = bytearray()
        self._last = -1
        self._ehc = bytearray()
        self._last_ehc = b""
        self._ehc_index = bytearray()       # first 8 bytes of each eHC page
        self._buf = bytearray(page_size)
        f.write(bytes(page_size))           # page 0: the header is written over it later

    # -- ID numbers -------------------------------------------------------------------------
    def add(self, k):
        if k <= self._last or self._last_ehc:
            raise BlacklistError("ID number keys must ascend, before any eHC ID: %d after %d"
                                 % (k, self._last))
        region, rest = k >> 27, k & 0x7FFFFFF
        regions = self._regions
        n = len(self._rests)
        new_region = not n or regions[-3:] != region.to_bytes(3, "big")
        if n:
            j = self._js[-1] + new_region
            span = j * RSPAN + rest - self._rests[0]
            if n == MAX_PAGE_KEYS or j > _MAX_REGIONS - 1 or _page_bytes(
                    n + 1, span, len(regions) // 3 + new_region) > page_capacity(
                    self.page, self.size):
                self._flush_ids()
                return self.add(k)
        else:
            j = 0
            self._index += k.to_bytes(6, "big")
        if new_region:
            regions += region.to_bytes(3, "big")
        self._rests.append(rest)
        self._js.append(j)
        self._last = k
        self.count += 1

    def _flush_ids(self):
        rests, js = self._rests, self._js
        m = len(rests)
        if not m:
            return
        first = rests[0]
        span = js[-1] * RSPAN + rests[-1] - first
        low = _low_bits(m, span)
        regions = len(self._regions) // 3
        buf = self._buf
        for i in range(len(buf)):
            buf[i] = 0
        struct.pack_into(">BHBII", buf, 0, regions, m, low, first, span)
        buf[12:12 + 3 * regions] = self._regions
        at = 8 * (12 + 3 * regions)          # bit position of the low parts
        uppers = at + m * low
        uppers = (uppers + 7) & ~7
        mask = (1 << low) - 1
        for i in range(m):
            v = js[i] * RSPAN + rests[i] - first
            if low:
                _put(buf, at + i * low, low, v & mask)
            bit = uppers + (v >> low) + i
            buf[bit >> 3] |= 0x80 >> (bit & 7)
        self._write_page(buf)
        self.id_pages += 1
        self._rests = array("I")
        self._js = bytearray()
        self._regions = bytearray()

    # -- electronic health card IDs ---------------------------------------------------------
    def add_ehc(self, ehc):
        if len(ehc) != 32 or bytes(ehc) <= self._last_ehc:
            raise BlacklistError("electronic health card IDs: 32 bytes each, ascending")
        self._flush_ids()
        per_page = (page_capacity(self.page, self.size) - 2) // 32
        if len(self._ehc) // 32 == per_page:
            self._flush_ehc()
        if not self._ehc:
            self._ehc_index += ehc[0:8]
        self._ehc += ehc
        self._last_ehc = bytes(ehc)
        self.ehc_count += 1

    def _flush_ehc(self):
        if not self._ehc:
            return
        buf = self._buf
        for i in range(len(buf)):
            buf[i] = 0
        n = len(self._ehc)
        buf[0:2] = (n // 32).to_bytes(2, "big")
        buf[2:2 + n] = self._ehc
        self._write_page(buf)
        self.ehc_pages += 1
        self._ehc = bytearray()

    def _write_page(self, buf):
        part = memoryview(buf)[0:page_capacity(self.page, self.size)]
        self.f.write(part)
        self._sha.update(part)
        self.page += 1

    def finish(self):
        self._flush_ids()
        self._flush_ehc()
        index = bytes(self._index) + bytes(self._ehc_index)
        self.f.write(index)
        self._sha.update(index)
        self.body_size = page_offset(self.page, self.size) - self.size + len(index)
        self.digest = self._sha.digest()
        return self


def _put(buf, bit, width, value):
    """Write `value` in `width` bits at bit offset `bit` of buf (MSB first, OR into zeros)."""
    end = bit + width
    while width:
        room = 8 - (bit & 7)
        take = room if room < width else width
        width -= take
        buf[bit >> 3] |= ((value >> width) & ((1 << take) - 1)) << (room - take)
        bit += take
    return end


def keys(f, h):
    """The ID number keys of an open list file (header fields `h`), ascending."""
    size = h["page_size"]
    buf = bytearray(size)
    for page in range(1, 1 + h["id_pages"]):
        f.seek(page_offset(page, size))
        f.readinto(buf)
        regions, m, low, first, span = struct.unpack_from(">BHBII", buf, 0)
        table = bytes(buf[12:12 + 3 * regions])
        at = 8 * (12 + 3 * regions)
        uppers = (at + m * low + 7) & ~7
        pos = uppers
        for i in range(m):
            while not buf[pos >> 3] & (0x80 >> (pos & 7)):
                pos += 1
            high = pos - uppers - i
            v = (high << low) | (_get(buf, at + i * low, low) if low else 0)
            local = first + v
            j = local // RSPAN
            yield (int.from_bytes(table[3 * j:3 * j + 3], "big") << 27) | (local % RSPAN)
            pos += 1


def _get(buf, bit, width):
    value = 0
    while width:
        room = 8 - (bit & 7)
        take = room if room < width else width
        value = (value << take) | ((buf[bit >> 3] >> (room - take)) & ((1 << take) - 1))
        width -= take
        bit += take
    return value


def ehc_ids(f, h):
    """The electronic health card IDs (32 bytes each) of an open list file, ascending."""
    size = h["page_size"]
    head = bytearray(2)
    for page in range(1 + h["id_pages"], 1 + h["id_pages"] + h["ehc_pages"]):
        at = page_offset(page, size)
        f.seek(at)
        f.readinto(head)
        for i in range(head[0] << 8 | head[1]):
            f.seek(at + 2 + 32 * i)
            yield f.read(32)


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
