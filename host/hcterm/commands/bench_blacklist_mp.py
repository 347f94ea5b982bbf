# Runs inside the `micropython` binary for `hcterm bench blacklist` (bench_blacklist.py): mounts
# the littlefs image the host made (format 2 and format 1 lists, a signed delta) on the sim NOR
# flash, then measures lookups (speed, flash blocks read, answers), the signature check and
# the delta's application. Prints one JSON line.
#
# micropython bench_blacklist_mp.py IMAGE MEMBERS OTHERS PUBLIC_KEY_HEX
import gc
import json
import sys
import time

import vfs
from simflash import NorFlash


class CountingFlash(NorFlash):
    """Which blocks littlefs reads, and how: 32-byte reads at offset 0 are its skip-list
    pointers (read size); longer ones are data (its 128-byte cache)."""

    def __init__(self, path):
        super().__init__(path)
        self.reads = None

    def readblocks(self, block, buf, offset=0):
        if self.reads is not None:
            self.reads.append((block, len(buf)))
        super().readblocks(block, buf, offset)


def lookups(flash, store, ids, want, check):
    worst_blocks = worst_pointers = wrong = 0
    start = time.ticks_us()
    for i in ids:
        flash.reads = []
        if check(store, i) != want:
            wrong += 1
        worst_blocks = max(worst_blocks, len(set(r[0] for r in flash.reads if r[1] > 32)))
        worst_pointers = max(worst_pointers, len([r for r in flash.reads if r[1] <= 32]))
    flash.reads = None
    return time.ticks_diff(time.ticks_us(), start), worst_blocks, worst_pointers, wrong


def measure(flash, path, members, others):
    from reader.terminal.blacklist import Blacklist

    gc.collect()
    before = gc.mem_alloc()
    store = Blacklist(path)
    store.contains(members[0])                    # opens the file once
    gc.collect()
    index_ram = gc.mem_alloc() - before

    def check(s, i):
        return s.contains(i)

    t1, b1, p1, w1 = lookups(flash, store, members, True, check)
    t2, b2, p2, w2 = lookups(flash, store, others, False, check)
    store.close()
    n = len(members) + len(others)
    return {"lookups_per_s": round(n * 1e6 / (t1 + t2)), "max_block_reads_per_lookup":
            max(b1, b2), "max_pointer_reads_per_lookup": max(p1, p2),
            "wrong_answers_sampled": w1 + w2, "index_ram_bytes": index_ram,
            "lookup_ms_mean": round((t1 + t2) / n / 1000, 3)}


def main():
    image, members_path, others_path, key = sys.argv[1:5]
    flash = CountingFlash(image)
    vfs.mount(vfs.VfsLfs2(flash), "/fl")
    with open(members_path) as f:
        members = f.read().split()
    with open(others_path) as f:
        others = f.read().split()
    out = {"format2": measure(flash, "/fl/list2.bin", members, others),
           "format1": measure(flash, "/fl/list1.bin", members, others)}

    # the signature: SM2 over the header, then the body's SHA-256 (what an install checks)
    from binascii import unhexlify

    from reader.terminal import blacklist_update as bu
    from reader.terminal.blacklist import HEADER_SIZE, STATEMENT, parse_header
    from reader.terminal.sm2 import verify

    with open("/fl/list2.bin", "rb") as f:
        raw = f.read(HEADER_SIZE)
        h = parse_header(raw)
        start = time.ticks_us()
        good = verify(unhexlify(key), raw[0:STATEMENT], raw[STATEMENT:HEADER_SIZE])
        sig_us = time.ticks_diff(time.ticks_us(), start)
        start = time.ticks_us()
        digest_ok = bu._digest(f, h["page_size"], h["page_size"] + h["body_size"]) == \
            h["body_sha256"]
        body_us = time.ticks_diff(time.ticks_us(), start)
    out["verify"] = {"signature_ok": good, "digest_ok": digest_ok,
                     "signature_s": sig_us / 1e6, "body_digest_s": body_us / 1e6}

    # the delta: applied as a reader does (a new list built from the old one and the delta)
    with open("/fl/delta.bin", "rb") as f:
        raw = f.read(HEADER_SIZE)
    dh = parse_header(raw)
    gc.collect()
    start = time.ticks_us()
    try:
        bu._apply_delta("/fl/delta.bin", dh, raw, "/fl/list2.bin")
        delta_ok = True
    except Exception as error:  # noqa: BLE001 - reported in the result
        delta_ok = "%s: %s" % (type(error).__name__, error)
    out["delta"] = {"apply_s": time.ticks_diff(time.ticks_us(), start) / 1e6, "ok": delta_ok}
    print("@@result " + json.dumps(out))


main()
