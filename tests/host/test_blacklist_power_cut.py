"""A power cut at every block-device operation of a blacklist update (a full list, then a
delta) on the sim NOR flash with littlefs: afterwards the reader holds exactly the old or
exactly the new list, never a mix and never none, no litter, and the update completes when
the host pushes again (tests/firmware/support/blacklist_power_cut.py runs the firmware's
reader.terminal.blacklist_update under MicroPython; docs/blacklist-format.md)."""

import hashlib
import json
import os

import pytest

from hcterm import blacklist_files as bf
from hcterm.emulator import samples
from hcterm.mpy import BOARDS_DIR, FIRMWARE_DIR, run_micropython

SWEEP = FIRMWARE_DIR.parent / "tests" / "firmware" / "support" / "blacklist_power_cut.py"


def _ids(n, region):
    from reader.cards.idnumber import check_character

    out = []
    for i in range(n):
        first = f"{region:06d}{1950 + i % 60:04d}{1 + i % 12:02d}{1 + i % 28:02d}{i % 997:03d}"
        out.append(first + check_character(first))
    return out


def _keys_sha(entries):
    return hashlib.sha256(b"".join(k.to_bytes(6, "big") for k in entries.keys)).digest()


@pytest.mark.parametrize("mode", ["list", "delta"])
def test_a_power_cut_anywhere_leaves_the_old_or_the_new_list(tmp_path, mode):
    old = bf.read_list("\n".join(_ids(900, 410105)))
    new = bf.read_list("\n".join(_ids(800, 410105) + _ids(150, 650102)))
    key = samples.DEMO_PLATFORM_KEY
    old_file = bf.sign(bf.build_list(old, 1), key)
    if mode == "list":
        update = bf.sign(bf.build_list(new, 2), key)
    else:
        update = bf.sign(bf.build_delta(old_file, new, 2), key)
    (tmp_path / "old.bin").write_bytes(old_file)
    (tmp_path / "update.bin").write_bytes(update)
    (tmp_path / "key.hex").write_text(samples.DEMO_PUBLIC_KEY)
    (tmp_path / "old.sha").write_bytes(_keys_sha(old))
    (tmp_path / "new.sha").write_bytes(_keys_sha(new))
    env = {"MICROPYPATH": os.pathsep.join([str(FIRMWARE_DIR), str(BOARDS_DIR / "sim-common")])}
    out = run_micropython(SWEEP, tmp_path, mode, heapsize="512k", env=env, timeout=600)
    lines = [line for line in out.stdout.splitlines() if line.startswith("@@result ")]
    assert out.returncode == 0 and lines, out.stdout[-3000:] + out.stderr[-2000:]
    result = json.loads(lines[0][9:])
    print(f"power cut sweep ({mode}): {result}")
    # a cut before the switch (the rename's metadata commit) leaves the old list; after it
    # (a delta's download removed last) the new one
    assert result["cut_points"] > 30 and result["outcomes"]["old"] > 0, result
    assert sum(result["outcomes"].values()) == result["cut_points"]
