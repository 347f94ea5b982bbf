"""`hcterm bench blacklist --entries N [--json]`: format 2 against format 1 (the baseline) on
the same list of N realistic ID numbers, in one run (docs/blacklist-format.md, "Benchmark").

The list: N distinct ID numbers over some 3,000 synthetic county codes (GB/T 2260's shape:
province, city, county; populations skewed), birth dates 1930-2020 (most in the middle) and
random sequence numbers; as many valid ID numbers drawn the same way but not listed are the
non-members. The host builds both files (build_s: format 2 with the firmware's own encoder,
on CPython) and checks every member and every non-member against format 2 (wrong_answers).
Then the firmware's code under the `micropython` binary, on a littlefs image of the sim NOR
flash (made with littlefs-python), measures a sample of lookups of both formats (speed, flash
blocks read, the index in RAM), the signature check of the list and the application of a
delta of 1 % of the entries.
"""

import random
import tempfile
import time
from pathlib import Path

from reader.terminal import blacklist as bl
from reader.terminal import blacklist_format1 as f1

from .. import blacklist_files as bf
from ..emulator import samples
from ..mpy import BOARDS_DIR, FIRMWARE_DIR, run_micropython
from .argtypes import positive_int

PROVINCES = (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45,
             46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65)
MP_SCRIPT = Path(__file__).with_name("bench_blacklist_mp.py")


def add_arguments(p):
    p.add_argument("--entries", type=positive_int, default=100_000,
                   help="ID numbers on the list (up to 1,000,000; default 100,000)")
    p.add_argument("--sample", type=positive_int, default=5_000,
                   help="members and as many non-members looked up on the unix port")
    p.add_argument("--seed", type=int, default=2026, help="random seed of the synthetic list")


class _Population:
    """Synthetic but realistic ID numbers, as keys (reader.terminal.blacklist.key)."""

    def __init__(self, rng, regions=3000):
        codes = set()
        while len(codes) < regions:
            county = rng.randint(1, 30) if rng.random() < 0.9 else rng.randint(81, 83)
            codes.add(rng.choice(PROVINCES) * 10000 + rng.randint(1, 18) * 100 + county)
        self.regions = sorted(codes)
        self.weights = [1 / (1 + i) ** 0.8 for i in range(regions)]
        rng.shuffle(self.weights)
        self.rng = rng
        self.first = bl.days(1930, 1, 1)
        self.span = bl.days(2020, 12, 31) - self.first

    def draw(self, n):
        rng = self.rng
        regions = rng.choices(self.regions, self.weights, k=n)
        out = []
        for region in regions:
            day = self.first + int(self.span * (rng.random() + rng.random()) / 2)
            out.append((region << 27) | (day * 1000 + rng.randrange(1000)))
        return out


def run(args):
    n = min(args.entries, 1_000_000)
    rng = random.Random(args.seed)
    people = _Population(rng)
    members = set()
    while len(members) < n:
        members.update(people.draw(n - len(members)))
    keys = sorted(members)
    others = []
    while len(others) < n:
        others.extend(k for k in people.draw(n - len(others)) if k not in members)
    ids = [bf.id_number(k) for k in keys]
    other_ids = [bf.id_number(k) for k in others]

    start = time.perf_counter()
    entries = bf.Entries(keys, [], 0)
    list2 = bf.sign(bf.build_list(entries, 1), samples.DEMO_PLATFORM_KEY)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    list1 = f1.build(ids, 1)
    naive_build_s = time.perf_counter() - start
    changed = max(1, n // 200)                     # 0.5 % removed, 0.5 % added: 1 %
    new = bf.Entries(sorted(set(keys[changed:]) | set(others[:changed])), [], 0)
    delta = bf.sign(bf.build_delta(list2, new, 2), samples.DEMO_PLATFORM_KEY)

    with tempfile.TemporaryDirectory(prefix="hcterm-bench-blacklist-") as tmp:
        tmp = Path(tmp)
        (tmp / "list2.bin").write_bytes(list2)
        wrong = _exact(tmp / "list2.bin", ids, other_ids)
        image = _image(tmp, list2, list1, delta)
        sample = rng.sample(range(n), min(args.sample, n))
        (tmp / "members.txt").write_text("\n".join(ids[i] for i in sample))
        (tmp / "others.txt").write_text("\n".join(other_ids[i] for i in sample))
        mp = _on_unix_port(image, tmp, samples.DEMO_PUBLIC_KEY)
    h = bl.parse_header(list2)
    f2, f1r = mp["format2"], mp["format1"]
    return {
        "entries": n, "regions": len(people.regions),
        "bytes_per_entry": round(len(list2) / n, 3),
        "max_block_reads_per_lookup": f2["max_block_reads_per_lookup"],
        "max_pointer_reads_per_lookup": f2["max_pointer_reads_per_lookup"],
        "index_ram_bytes": f2["index_ram_bytes"],
        "lookups_per_s": f2["lookups_per_s"], "lookup_ms_mean": f2["lookup_ms_mean"],
        "build_s": round(build_s, 2), "pages": h["id_pages"],
        "delta_changes": 2 * changed, "delta_bytes": len(delta),
        "delta_apply_s": round(mp["delta"]["apply_s"], 2), "delta_ok": mp["delta"]["ok"],
        "verify_signature_s": round(mp["verify"]["signature_s"], 4),
        "verify_body_digest_s": round(mp["verify"]["body_digest_s"], 3),
        "signature_ok": mp["verify"]["signature_ok"] and mp["verify"]["digest_ok"],
        "wrong_answers": wrong + f2["wrong_answers_sampled"],
        "checked_all_members_and_non_members": 2 * n,
        "sampled_on_unix_port": 2 * len(sample),
        "naive_bytes_per_entry": round(len(list1) / n, 3),
        "naive_max_block_reads_per_lookup": f1r["max_block_reads_per_lookup"],
        "naive_max_pointer_reads_per_lookup": f1r["max_pointer_reads_per_lookup"],
        "naive_index_ram_bytes": f1r["index_ram_bytes"],
        "naive_lookups_per_s": f1r["lookups_per_s"],
        "naive_build_s": round(naive_build_s, 2),
        "naive_wrong_answers": f1r["wrong_answers_sampled"],
        "size_ratio_vs_naive": round(len(list2) / len(list1), 3),
        "lookup_speed_ratio_vs_naive": round(f2["lookups_per_s"] / f1r["lookups_per_s"], 2),
        "ok": wrong == 0 and f2["wrong_answers_sampled"] == 0 and mp["delta"]["ok"] is True,
    }


def _exact(path, ids, other_ids):
    """Wrong answers of format 2 over every member and every non-member (CPython)."""
    store = bl.Blacklist(str(path))
    wrong = sum(1 for i in ids if not store.contains(i))
    wrong += sum(1 for i in other_ids if store.contains(i))
    store.close()
    return wrong


def _image(tmp, list2, list1, delta):
    """A littlefs image of the sim flash (4 KiB blocks) with the three files, room for the
    delta's result beside them."""
    from littlefs import LittleFS

    need = 2 * len(list2) + len(list1) + len(delta)
    blocks = need * 3 // 2 // 4096 + 256
    fs = LittleFS(block_size=4096, block_count=blocks, read_size=32, prog_size=32,
                  lookahead_size=32)
    for name, data in (("list2.bin", list2), ("list1.bin", list1), ("delta.bin", delta)):
        with fs.open(f"/{name}", "wb") as f:
            f.write(data)
    path = tmp / "flash.img"
    path.write_bytes(fs.context.buffer)
    return path


def _on_unix_port(image, tmp, public_key):
    import json
    import os

    env = {"MICROPYPATH": os.pathsep.join([str(FIRMWARE_DIR), str(BOARDS_DIR / "sim-common")])}
    out = run_micropython(MP_SCRIPT, image, tmp / "members.txt", tmp / "others.txt",
                          public_key, heapsize="1m", env=env, timeout=1200)
    for line in out.stdout.splitlines():
        if line.startswith("@@result "):
            return json.loads(line[9:])
    raise RuntimeError(f"the firmware's bench did not finish: {(out.stdout + out.stderr)[-800:]}")
