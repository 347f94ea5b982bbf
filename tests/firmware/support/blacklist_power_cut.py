# Runs inside the `micropython` binary for tests/host/test_blacklist_power_cut.py: sweeps a
# power cut over every block-device operation (program, erase) of a blacklist update on the
# sim NOR flash with littlefs, as reader.terminal.blacklist_update does it, then "boots"
# again (remount, the boot's clean-up) and checks that the reader holds exactly the old list
# or exactly the new one, never a mix and never none, no litter but a resumable download, and
# that the update then completes from where it stopped.
#
# micropython blacklist_power_cut.py DIR MODE     (MODE: list | delta)
# DIR holds old.bin (installed first), update.bin (the signed list or delta), key.hex, and
# old.sha / new.sha: SHA-256 of the old and new lists' keys. Prints "@@result {json}".
import hashlib
import json
import os
import sys
from binascii import b2a_base64

import vfs
from cut_flash import CutFlash, copy
from cut_flash import mount as mount_at
from simflash import NorFlash

from reader.terminal import atomic_file
from reader.terminal import blacklist_build as bb
from reader.terminal import blacklist_update as bu
from reader.terminal.blacklist import HEADER_SIZE, Blacklist, parse_header

PATH = "/fl/blacklist.bin"
CHUNK = 696


class Terminal:
    clock_set = False

    @staticmethod
    def utc():
        return None


class Session:
    def __init__(self, key):
        self.config = {"blacklist_key": key}
        self.terminal = Terminal()


def mount(image, cut=-1):
    return mount_at(image, "/fl", cut)


def update(session, data, kind):
    """begin, the chunks from where the reader is, commit: what hcterm blacklist push sends."""
    answer = bu.serve(session, {"begin": b2a_base64(data[0:HEADER_SIZE]).decode()}, PATH)
    body = data[4096 if kind == 1 else HEADER_SIZE:]
    at = answer["received"]
    while at < len(body):
        answer = bu.serve(session, {"update": answer["update"], "at": at, "data":
                                    b2a_base64(body[at:at + CHUNK]).decode()}, PATH)
        at = answer["received"]
    return bu.serve(session, {"update": answer["update"], "commit": True}, PATH)


def keys_digest():
    with open(PATH, "rb") as f:
        h = parse_header(f.read(HEADER_SIZE))
        sha = hashlib.sha256()
        for k in bb.keys(f, h):
            sha.update(k.to_bytes(6, "big"))
    return h["version"], sha.digest()


def main():
    folder, mode = sys.argv[1], sys.argv[2]
    with open(folder + "/update.bin", "rb") as f:
        data = f.read()
    with open(folder + "/key.hex") as f:
        session = Session(f.read().strip())
    with open(folder + "/old.sha", "rb") as f:
        old_sha = f.read()
    with open(folder + "/new.sha", "rb") as f:
        new_sha = f.read()
    kind = data[5]
    image, base = folder + "/flash.img", folder + "/base.img"
    NorFlash(image, 96)
    vfs.VfsLfs2.mkfs(CutFlash(image))
    mount(image)
    copy(folder + "/old.bin", PATH)
    vfs.umount("/fl")
    copy(image, base)

    flash = mount(image)                     # the whole update once: how many operations
    update(session, data, kind)
    total = flash.ops
    assert keys_digest()[1] == new_sha

    outcomes = {"old": 0, "new": 0}
    for cut in range(total):
        copy(base, image)
        mount(image, cut)
        try:
            update(session, data, kind)      # (a cut in the last removal of the download
        except Exception:                    # noqa: BLE001 - is not an error: the switch
            pass                             # is done, the boot removes what is left)
        mount(image)                         # power back: boot
        atomic_file.clean("/fl")             # (the self-test's clean-ups)
        bu.clean(PATH)
        version, sha = keys_digest()
        status = Blacklist(PATH).status()
        if sha == old_sha and status["installed"]:
            outcomes["old"] += 1
        elif sha == new_sha and status["installed"]:
            outcomes["new"] += 1
        else:
            raise AssertionError("cut %d: the list is neither the old nor the new one (%r)"
                                 % (cut, status))
        litter = [n for n in os.listdir("/fl") if n not in ("blacklist.bin",
                                                            "blacklist.bin.new")]
        if litter:
            raise AssertionError("cut %d: litter %r" % (cut, litter))
        update(session, data, kind) if sha == old_sha else None     # and it completes
        if keys_digest()[1] != new_sha or "blacklist.bin.new" in os.listdir("/fl"):
            raise AssertionError("cut %d: the update did not complete afterwards" % cut)
    print("@@result " + json.dumps({"mode": mode, "cut_points": total, "outcomes": outcomes}))


main()
