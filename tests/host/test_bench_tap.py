"""`hcterm bench tap`, a small run: paced taps on the default sim board, the reference flow,
the wire floor and the firmware's heap; the figures are present and consistent."""

import json
import subprocess
import sys

from hcterm.sim.virtualreader import DEFAULT_HEAP, QSTR_POOL_HEAP, parse_size


def test_bench_tap_small_run():
    out = subprocess.run([sys.executable, "-m", "hcterm.cli", "bench", "tap", "--json",
                          "--taps", "3", "--boards", "sim-pn532-uart"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    for key in ("median_ms", "p95_ms", "per_board", "reference_median_ms",
                "speedup_vs_reference", "wire_floor_ms", "floor_ratio", "peak_heap_bytes",
                "qstr_pool_bytes", "heap_budget"):
        assert key in r, key
    assert r["ok"] is True and r["taps"] == 3, r
    assert list(r["per_board"]) == ["sim-pn532-uart"], r
    assert r["per_board"]["sim-pn532-uart"] == r["median_ms"], r
    # paced: a tap cannot beat its wires, and our flow is no slower than the naive one
    assert 0 < r["wire_floor_ms"] <= r["median_ms"] <= r["p95_ms"] < 2000, r
    assert r["floor_ratio"] == round(r["median_ms"] / r["wire_floor_ms"], 2) >= 1.0, r
    assert r["reference_median_ms"] > r["median_ms"], r
    assert r["speedup_vs_reference"] == round(r["reference_median_ms"] / r["median_ms"], 2), r
    assert set(r["floor_breakdown"]) == {"pn532", "rf", "sam"}, r
    assert abs(sum(v["ms"] for v in r["floor_breakdown"].values()) - r["wire_floor_ms"]) < 0.5, r
    # the live heap of the firmware, without the ROMFS image the unix port keeps in its heap
    assert 10_000 < r["peak_heap_bytes"] < r["heap_budget"] == parse_size(DEFAULT_HEAP), r
    # and without the names' seventh qstr pool the sim allocates at boot (also "flash")
    assert r["peak_heap_raw_bytes"] == r["peak_heap_bytes"] + r["rom_image_bytes"] + \
        r["qstr_seventh_pool_bytes"], r
    assert r["qstr_seventh_pool_bytes"] == QSTR_POOL_HEAP, r
    assert 1000 < r["qstr_pool_bytes"] < 100_000, r
