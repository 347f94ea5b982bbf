# Runs inside the `micropython` binary for `hcterm bench journal` (append_ms_p99): times N
# appends of a real tap event's payload to the offline tap journal
# (reader.terminal.journal) on the sim NOR flash with littlefs, and, as the baseline in the
# same run, N settings changes (reader.terminal.settings.store: a temporary file, then a
# rename). Prints "@@result {json}" with the p50/p99 of each in milliseconds.
#
# micropython journal_timing.py DIR N
import gc
import json
import sys
import time

import vfs
from simflash import NorFlash

from reader.terminal import settings
from reader.terminal.journal import Journal

# the tap event of sample card 1 as the firmware sends it (identity profile)
TAP = (b'{"uid":"8A3F21C7","KH":"410105198503154213","XM":"D5C5CEB0","XB":"01","MZ":"01",'
       b'"CSRQ":"19850315","SFZH":"410105198503154213","KYXQ":"20350101",'
       b'"blacklist_stale":true,"expiry_checked":false,"status":"ok","latency_ms":176.2}')


class Clock:
    clock_offset = 0
    clock_set = True


class Session:
    config = {"journal_max": 10000, "journal_full": "refuse"}
    terminal = Clock()
    board = None


def percentiles(ms):
    ms.sort()
    return ms[len(ms) // 2], ms[min(len(ms) - 1, len(ms) * 99 // 100)]


def main():
    folder, count = sys.argv[1], int(sys.argv[2])
    flash = NorFlash(folder + "/timing.img", 256)       # 1 MiB, as a sim board's
    vfs.VfsLfs2.mkfs(flash)
    vfs.mount(vfs.VfsLfs2(flash), "/t")
    journal = Journal("/t/journal", Session(), {})
    appends = []
    for _ in range(count):
        gc.collect()                 # (the figure is the append's, not a collection's)
        start = time.ticks_us()
        assert journal.put(0x80, TAP, time.time()) is True
        appends.append(time.ticks_diff(time.ticks_us(), start) / 1000)
    values = dict(settings.DEFAULTS)
    stores = []
    for n in range(count):
        gc.collect()
        start = time.ticks_us()
        settings.store("/t/config.json", values, {"terminal_id": "ROOM-%d" % n})
        stores.append(time.ticks_diff(time.ticks_us(), start) / 1000)
    a50, a99 = percentiles(appends)
    s50, s99 = percentiles(stores)
    print("@@result " + json.dumps({
        "appends": count, "append_ms_p50": round(a50, 2), "append_ms_p99": round(a99, 2),
        "baseline": "settings.store (a temporary file, then a rename)",
        "baseline_store_ms_p50": round(s50, 2), "baseline_store_ms_p99": round(s99, 2)}))


main()
