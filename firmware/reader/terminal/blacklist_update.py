"""Installing a signed blacklist or delta sent over the host link in chunks (docs/host-link.md
blacklist-update, docs/blacklist-format.md "Updates"). Transient: imported per request.

The download lives in /blacklist.bin.new on the flash: its signed header first, then the body
bytes as they arrive, so a reader that restarts in the middle resumes where it was (the
host's next `begin` with the same header answers how much is there). The installed list is
replaced in one step, a rename, and only when the whole body checks against the header's
digest and the header's signature checks with the platform's key (setting blacklist_key):
a power cut at any moment leaves the old list or the new one.

The host link's blacklist-status and blacklist-update requests are served here (not with
the card requests: an update needs no card application in RAM).
"""

import hashlib
import os
from binascii import a2b_base64, hexlify, unhexlify

from reader import call, let_go
from reader.terminal.blacklist import (
    HEADER_SIZE,
    STATEMENT,
    Blacklist,
    BlacklistError,
    parse_header,
)


def blacklist_status(session, obj):
    """The installed list (its staleness too), and the open download, if any."""
    t = session.terminal
    status = t.blacklist_status()
    update = progress(t.blacklist().path)
    if update:
        status["update"] = update
    return status


def blacklist_update(session, obj):
    """begin (the signed header), data (base64 at an offset), commit, abort."""
    from reader import hostlink
    from reader.terminal.session import LinkError

    try:
        return serve(session, obj, session.terminal.blacklist().path)
    except BlacklistError as error:
        raise LinkError(hostlink.BAD_REQUEST, "blacklist: %s" % error) from None


def serve(session, obj, path):
    if "begin" in obj:
        return _begin(session, _b64(obj["begin"], "begin"), path)
    new = path + ".new"
    h, raw = _open_update(new)
    if obj.get("update") != _id(raw):
        raise BlacklistError("update %s is not the one open (%s): send begin again"
                             % (obj.get("update"), _id(raw) if raw else "none"))
    if "data" in obj:
        return _data(new, h, raw, obj)
    if "commit" in obj:
        return _commit(session, new, h, raw, path)
    if "abort" in obj:
        os.remove(new)
        return {"aborted": _id(raw)}
    raise BlacklistError('expected one of "begin", "data", "commit", "abort"')


def progress(path):
    """The open download's {"update", "received", "total"}, or None."""
    h, raw = _open_update(path + ".new", quiet=True)
    if h is None:
        return None
    return {"update": _id(raw), "received": _received(path + ".new", h), "total": _total(h)}


def _b64(text, name):
    try:
        return a2b_base64(text)
    except (ValueError, TypeError):
        raise BlacklistError("%s: base64 expected" % name) from None


def _id(raw):
    return hexlify(hashlib.sha256(raw[0:STATEMENT]).digest()[0:8]).decode() if raw else None


def _total(h):
    if h["kind"] == 1:
        return h["body_size"]
    d = h["delta"]
    return 6 * (d[0] + d[1]) + 32 * (d[2] + d[3])


def _start(h):
    """File offset of the body in the download: a list is stored as it will be installed
    (header page, then the body); a delta's body follows its header."""
    return h["page_size"] if h["kind"] == 1 else HEADER_SIZE


def _received(new, h):
    return os.stat(new)[6] - _start(h)


def _open_update(new, quiet=False):
    try:
        with open(new, "rb") as f:
            raw = f.read(HEADER_SIZE)
        return parse_header(raw), raw
    except (OSError, BlacklistError):
        if quiet:
            return None, None
        raise BlacklistError("no update is open: send begin (with the list's header) again") \
            from None


def check_header(session, raw, installed):
    """The refusals a header can earn before any body byte: its signature (the platform's
    key, setting blacklist_key), a version that does not move forward, a delta whose base is
    not the installed list, an expired or future-dated list."""
    h = parse_header(raw)
    key = session.config.get("blacklist_key", "")
    if not key:
        raise BlacklistError("no platform key is provisioned (setting blacklist_key): "
                             "a reader refuses every list until it has one")
    if raw[STATEMENT:HEADER_SIZE] == bytes(64):
        raise BlacklistError("the list is not signed: sign it with the platform's key "
                             "(hcterm blacklist sign)")
    good = call("terminal.sm2", "verify", unhexlify(key), raw[0:STATEMENT],
                raw[STATEMENT:HEADER_SIZE])
    let_go("terminal.sm3")                  # sm2's import of it goes too
    if not good:
        raise BlacklistError("the signature does not verify with the platform's key: the "
                             "list was altered or signed with another key")
    if h["page_size"] != 4096:
        raise BlacklistError("page size %d: this reader's flash takes 4096" % h["page_size"])
    if h["kind"] == 2:
        if not installed.installed or installed.version != h["base_version"]:
            raise BlacklistError("the delta applies to version %d; this reader holds %s: send "
                                 "that delta's predecessors or a full list"
                                 % (h["base_version"], installed.version if installed.installed
                                    else "no list"))
    elif installed.installed and h["version"] <= installed.version:
        raise BlacklistError("version %d is not newer than the installed version %d: a list "
                             "never rolls back" % (h["version"], installed.version))
    now = session.terminal.utc() if session.terminal else None
    if now is not None and h["expires"] and now > h["expires"]:
        raise BlacklistError("the list expired (its expiry, UTC seconds %d, is past): ask the "
                             "platform for a current one" % h["expires"])
    return h


def _begin(session, raw, path):
    if len(raw) != HEADER_SIZE:
        raise BlacklistError("begin: the %d-byte header expected, got %d bytes"
                             % (HEADER_SIZE, len(raw)))
    installed = Blacklist(path)
    if installed.installed and installed.format == 2 and \
            installed.version == parse_header(raw)["version"]:
        with open(path, "rb") as f:       # the statement's body digest: the same list?
            if f.read(96)[64:96] == raw[64:96]:
                status = installed.status()
                status["already"] = True  # this very list is in force: nothing to send
                return status
    h = check_header(session, raw, installed)
    new = path + ".new"
    old_h, old_raw = _open_update(new, quiet=True)
    if old_raw == raw:
        return {"update": _id(raw), "received": _received(new, h), "total": _total(h)}
    call("terminal.atomic_file", "remove", new)
    need = _start(h) + _total(h)
    if h["kind"] == 2:                      # and room for the list it makes
        need += h["page_size"] + h["body_size"]
    try:
        call("terminal.atomic_file", "check", path, need, "the update")
    except OSError as error:
        raise BlacklistError(str(error)) from None
    with open(new, "wb") as f:
        f.write(raw)
        if h["kind"] == 1:                  # the rest of the header page: zeros
            zeros = bytes(32)
            for _ in range((h["page_size"] - HEADER_SIZE) // 32):
                f.write(zeros)
    return {"update": _id(raw), "received": 0, "total": _total(h)}


def _data(new, h, raw, obj):
    data = _b64(obj["data"], "data")
    received, total = _received(new, h), _total(h)
    if obj.get("at") != received:
        raise BlacklistError("chunk at %s, but %d bytes are in: resume from %d"
                             % (obj.get("at"), received, received))
    if received + len(data) > total:
        raise BlacklistError("chunk runs past the body's %d bytes" % total)
    with open(new, "ab") as f:
        f.write(data)
    return {"update": _id(raw), "received": received + len(data), "total": total}


def _digest(f, start, end):
    sha = hashlib.sha256()
    buf = bytearray(512)
    f.seek(start)
    while start < end:
        n = f.readinto(memoryview(buf)[0:min(512, end - start)])
        if not n:
            break
        sha.update(memoryview(buf)[0:n])
        start += n
    return sha.digest()


def _commit(session, new, h, raw, path):
    received, total = _received(new, h), _total(h)
    if received != total:
        raise BlacklistError("commit with %d of %d bytes: send the rest (from %d) first"
                             % (received, total, received))
    want = h["body_sha256"] if h["kind"] == 1 else h["delta_sha256"]
    with open(new, "rb") as f:
        if _digest(f, _start(h), _start(h) + total) != want:
            call("terminal.atomic_file", "remove", new)
            raise BlacklistError("the body does not match the signed digest: the download "
                                 "was damaged; send the list again")
    if h["kind"] == 2:
        try:
            call("terminal.atomic_file", "replace", path, _write_delta,
                 h["page_size"] + h["body_size"], new, h, raw, path)
        finally:
            let_go("terminal.blacklist_build")
        call("terminal.atomic_file", "remove", new)
    else:
        os.rename(new, path)
    return Blacklist(path).status()


def _write_delta(out, new, h, raw, path):
    """Write the list the delta makes into `out` (reader.terminal.atomic_file.replace), checked
    against the signed digest: a list that does not check is never put in place."""
    from reader.terminal import blacklist_build as bb

    d = h["delta"]
    with open(path, "rb") as old, open(new, "rb") as delta:
        old_h = parse_header(old.read(HEADER_SIZE))
        if old_h["body_sha256"] != h["base_sha256"]:
            raise BlacklistError("the installed list is not the delta's base: send a full list")
        b = bb.Builder(out, h["page_size"])
        b.add_ids(bb.DeltaSource(old, old_h, delta, HEADER_SIZE, d[0],
                                 HEADER_SIZE + 6 * d[0], d[1]))
        at = HEADER_SIZE + 6 * (d[0] + d[1])
        for e in bb.merge(bb.ehc_ids(old, old_h), _ehc_ids(delta, at, d[2]),
                          _ehc_ids(delta, at + 32 * d[2], d[3])):
            b.add_ehc(e)
        b.finish()
    if b.digest != h["body_sha256"] or b.count != h["count"]:
        raise BlacklistError("the list the delta makes does not match its signed digest: "
                             "send a full list")
    out.seek(0)
    out.write(raw)


def _ehc_ids(f, at, n):
    """`n` eHC IDs of 32 bytes from offset `at` of the delta."""
    for i in range(n):
        f.seek(at + 32 * i)
        yield f.read(32)


def clean(path):
    """At boot (after reader.terminal.atomic_file.clean removed a half-built list): a
    download the installed list has overtaken (a cut after the switch, before the download
    was removed) is litter. A download that still applies is kept: the host's next push
    resumes it."""
    h, raw = _open_update(path + ".new", quiet=True)
    installed = Blacklist(path)
    if raw is not None and installed.installed and (
            installed.version >= h["version"] or
            (h["kind"] == 2 and installed.version != h["base_version"])):
        call("terminal.atomic_file", "remove", path + ".new")
