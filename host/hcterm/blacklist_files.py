"""Blacklist files on the host (docs/blacklist-format.md): read text or CSV lists, build format
2 lists and deltas with the firmware's own encoder (reader.terminal.blacklist_build, so the
reader rebuilds a delta's result byte for byte), sign them with the platform's SM2 key,
verify them, and push them to a reader in resumable chunks.
"""

import base64
import csv
import hashlib
import io
import re
import time
from typing import NamedTuple

from reader.terminal import blacklist as bl
from reader.terminal import blacklist_build as bb

PAGE_SIZE = 4096
CHUNK = 696            # body bytes per blacklist-update request (928 base64 characters)
_EHC = re.compile(r"^[0-9A-Fa-f]{64}$")


class ListError(ValueError):
    """A list, file or key that cannot be used; the message says what and what to do."""


class Entries(NamedTuple):
    keys: list            # ID number keys, ascending (reader.terminal.blacklist.key)
    ehc: list             # electronic health card IDs, 32 bytes each, ascending
    duplicates: int


def read_list(text, name="list"):
    """Text (one entry per line, `#` comments) or CSV (the entry in the first column; a
    header row is skipped) -> Entries. Every bad line is reported, with its number, in one
    ListError; duplicates are merged and counted."""
    keys, ehc, bad = set(), set(), []
    rows = csv.reader(text.splitlines())     # any line ending, a lone CR too
    total = 0
    for number, row in enumerate(rows, 1):
        cell = (row[0] if row else "").split("#", 1)[0].strip()
        if not cell:
            continue
        if number == 1 and not cell[:1].isdigit() and not _EHC.match(cell):
            continue                                    # a CSV header ("id_number,...")
        total += 1
        if _EHC.match(cell):
            ehc.add(bytes.fromhex(cell))
            continue
        try:
            keys.add(bl.key(cell))
        except bl.BlacklistError as error:
            bad.append(f"{name}:{number}: {str(error).replace('ID number ', '')}")
    if bad:
        more = f" (and {len(bad) - 20} more)" if len(bad) > 20 else ""
        raise ListError("bad lines, nothing built:\n  " + "\n  ".join(bad[:20]) + more)
    return Entries(sorted(keys), sorted(ehc), total - len(keys) - len(ehc))


def id_number(k):
    """The 18-character ID number of a key (the inverse of reader.terminal.blacklist.key)."""
    import datetime

    from reader.cards.idnumber import check_character

    rest = k & 0x7FFFFFF
    day = datetime.date(1850, 1, 1) + datetime.timedelta(days=rest // 1000)
    first17 = f"{k >> 27:06d}{day:%Y%m%d}{rest % 1000:03d}"
    return first17 + check_character(first17)


def _body(entries):
    out = io.BytesIO()
    b = bb.Builder(out, PAGE_SIZE)
    b.add_ids(bb.ListSource(entries.keys))
    for e in entries.ehc:
        b.add_ehc(e)
    b.finish()
    return out.getvalue()[PAGE_SIZE:], b


def build_list(entries, version, issued=None, expires=0):
    """An unsigned list file (bytes) of `entries`."""
    body, b = _body(entries)
    fields = {"kind": 1, "version": version, "issued": int(issued or time.time()),
              "expires": expires, "count": b.count, "ehc_count": b.ehc_count,
              "id_pages": b.id_pages, "ehc_pages": b.ehc_pages, "page_size": PAGE_SIZE,
              "body_size": b.body_size, "body_sha256": b.digest}
    head = bb.header(fields)
    return head + bytes(PAGE_SIZE - len(head)) + body


def entries_of(data):
    """The Entries of a list file."""
    h = header(data)
    if h["kind"] != 1:
        raise ListError("a delta, not a list: give the list it was made from")
    f = io.BytesIO(data)
    return Entries(list(bb.keys(f, h)), list(bb.ehc_ids(f, h)), 0)


def build_delta(old, new_entries, version, issued=None, expires=0):
    """An unsigned delta (bytes) from list file `old` to `new_entries`: the adds and removes,
    and the digest of the list it makes (the same bytes a full list of them would have)."""
    h_old = header(old)
    if version <= h_old["version"]:
        raise ListError(f"version {version} must be above the base's {h_old['version']}")
    base = entries_of(old)
    adds = sorted(set(new_entries.keys) - set(base.keys))
    removes = sorted(set(base.keys) - set(new_entries.keys))
    ehc_adds = sorted(set(new_entries.ehc) - set(base.ehc))
    ehc_removes = sorted(set(base.ehc) - set(new_entries.ehc))
    target = header(build_list(new_entries, version, issued, expires))
    body = b"".join(k.to_bytes(6, "big") for k in adds + removes) + \
        b"".join(ehc_adds + ehc_removes)
    fields = dict(target, kind=2, base_version=h_old["version"],
                  delta=(len(adds), len(removes), len(ehc_adds), len(ehc_removes)),
                  base_sha256=h_old["body_sha256"], delta_sha256=hashlib.sha256(body).digest())
    return bb.header(fields) + body


def header(data):
    if len(data) < bl.HEADER_SIZE:
        raise ListError(f"{len(data)} bytes: too short for a blacklist file")
    try:
        return bl.parse_header(data[:bl.HEADER_SIZE])
    except bl.BlacklistError as error:
        raise ListError(str(error)) from None


def sign(data, private_key_hex):
    """The file with its header signed by the platform's key."""
    from .platform_signing import sign as sm2_sign

    header(data)
    signature = sm2_sign(private_key_hex, data[:bl.STATEMENT])
    return data[:bl.STATEMENT] + signature + data[bl.HEADER_SIZE:]


def verify(data, public_key):
    """(True, summary) or (False, reason): the signature and the body's digest."""
    from .platform_signing import verify as sm2_verify

    h = header(data)
    if data[bl.STATEMENT:bl.HEADER_SIZE] == bytes(64):
        return False, "not signed"
    if not sm2_verify(public_key, data[:bl.STATEMENT], data[bl.STATEMENT:bl.HEADER_SIZE]):
        return False, "the signature does not verify with this public key"
    if h["kind"] == 1:
        body, want = data[h["page_size"]:], h["body_sha256"]
        if len(body) != h["body_size"]:
            return False, f"the body has {len(body)} bytes, the header says {h['body_size']}"
    else:
        body, want = data[bl.HEADER_SIZE:], h["delta_sha256"]
    if hashlib.sha256(body).digest() != want:
        return False, "the body does not match the signed digest"
    return True, describe(h)


def describe(h):
    what = "list" if h["kind"] == 1 else f"delta from version {h['base_version']}"
    text = f"{what}, version {h['version']}: {h['count']} ID numbers, " \
           f"{h['ehc_count']} eHC IDs"
    if h["kind"] == 2:
        a, r, ea, er = h["delta"]
        text += f" (+{a} -{r} ID numbers, +{ea} -{er} eHC IDs)"
    issued = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(h["issued"]))
    return text + f", issued {issued}"


def push(reader, data, progress=None):
    """Send a signed list or delta to a reader: begin (the header; the reader says how much
    of this update it already holds), the chunks from there, commit. The old list stays in
    force until the commit; an interrupted push continues where it stopped when run again.
    Returns the reader's blacklist status. `progress(received, total)` after each chunk."""
    h = header(data)
    start = h["page_size"] if h["kind"] == 1 else bl.HEADER_SIZE
    body = data[start:]
    answer = reader.blacklist_update({"begin": _b64(data[:bl.HEADER_SIZE])})
    if answer.get("already"):
        return answer
    update, at = answer["update"], answer["received"]
    if answer["total"] != len(body):
        raise ListError(f"the reader expects a body of {answer['total']} bytes, the file has "
                        f"{len(body)}: the file is damaged")
    if progress:
        progress(at, len(body))
    while at < len(body):
        answer = reader.blacklist_update({"update": update, "at": at,
                                          "data": _b64(body[at:at + CHUNK])})
        at = answer["received"]
        if progress:
            progress(at, len(body))
    return reader.blacklist_update({"update": update, "commit": True})


def _b64(data):
    return base64.b64encode(data).decode()
