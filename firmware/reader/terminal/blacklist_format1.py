"""Format 1 of the blacklist file (sorted 8-byte packed ID numbers after a 16-byte header;
docs/blacklist-format.md "Format 1"): read only, so a reader upgraded from a firmware that
wrote it keeps refusing the listed cards until a format 2 list is installed. It is also the
baseline `hcterm bench blacklist` measures format 2 against (`build`).
"""

import struct

from micropython import const

_HEADER = const(16)
_ENTRY = const(8)


def pack(id18):
    """The 8-byte packed form: first 9 digits, then digits 10-17 x 11 + check value (X = 10)."""
    from reader.cards.idnumber import validate

    ok, reason = validate(id18)
    if not ok:
        raise ValueError("ID number %r: %s" % (id18, reason))
    last = id18[17]
    check = 10 if last in "Xx" else ord(last) - 48
    return struct.pack(">II", int(id18[0:9]), int(id18[9:17]) * 11 + check)


def build(ids, version):
    """A format 1 file (bytes) of ID numbers."""
    entries = sorted(set(pack(i) for i in ids))
    return b"HCBL" + struct.pack(">BBHII", 1, _ENTRY, 0, version, len(entries)) + \
        b"".join(entries)


def status(path):
    with open(path, "rb") as f:
        head = f.read(_HEADER)
        size = f.seek(0, 2)
    version, count = struct.unpack(">II", head[8:16])
    out = {"installed": True, "version": version, "count": count}
    if size != _HEADER + count * _ENTRY:
        out = {"installed": False, "version": 0, "count": 0,
               "error": "%s holds %d bytes, its header says %d entries" % (path, size, count)}
    return out


def contains(path, id18):
    """Binary search over the file: 8 bytes read per step."""
    want = pack(id18)
    entry = bytearray(_ENTRY)
    with open(path, "rb") as f:
        f.seek(12)
        f.readinto(entry)
        lo, hi = 0, int.from_bytes(entry[0:4], "big")
        while lo < hi:
            mid = (lo + hi) >> 1
            f.seek(_HEADER + mid * _ENTRY)
            f.readinto(entry)
            if entry == want:
                return True
            if entry < want:
                lo = mid + 1
            else:
                hi = mid
    return False
