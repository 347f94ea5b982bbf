"""`hcterm bench power`: low-power polling against always-on polling, in the same run.

Method (docs/handheld.md): a paced virtual reader (every wire takes its modeled time) of
each board asked for, its firmware set to power_save "off" (the chip polls every 20 ms, its
field always on: the fixed readers' behaviour) and then "on" (the chip powered down for
detect_ms between polls: PN532 PowerDown, MFRC522 soft power-down). In each mode:

- idle for `--idle-s`: the emulated field's polls per second and radio-on fraction (the time
  the transmitter is on over the time elapsed; hcterm.emulator.rf14443.Field.activity), the
  modeled duty cycle;
- `--taps` taps of accepted sample cards, each after a random wait (0 to detect_ms + 50 ms,
  so a tap lands anywhere in the doze): the host's time from the card on the antenna to its
  tap event, and the firmware's own latency_ms (from the poll that found it).

The added tap latency is low-power minus always-on (median and 95th percentile of the host's
times); the added latency is bounded by detect_ms plus a chip wake-up and a poll.
"""

import random
import statistics
import time

from . import argtypes
from .argtypes import positive_int
from .bench_tap import Session

DEFAULT_BOARDS = "sim-handheld,sim-rc522"


def add_arguments(p):
    p.add_argument("--taps", type=positive_int, default=10, help="timed taps per mode")
    p.add_argument("--idle-s", type=float, default=3.0, help="idle seconds measured per mode")
    p.add_argument("--detect-ms", type=int, default=250,
                   help="the low-power mode's detect_ms setting (50-2000, default 250)")
    p.add_argument("--boards", type=argtypes.sim_boards, default=DEFAULT_BOARDS,
                   help=f"comma-separated sim boards (default {DEFAULT_BOARDS})")
    p.add_argument("--seed", type=int, default=1, help="random seed of the tap times")


def run(args):
    rng = random.Random(args.seed)
    result = {"taps": args.taps, "idle_s": args.idle_s, "detect_ms": args.detect_ms,
              "per_board": {}}
    ok = True
    for board in args.boards:
        with Session(board) as s:
            s.warm_up()
            always = _mode(s, "off", args, rng)
            low = _mode(s, "on", args, rng)
        added = {"median_ms": round(low["host_ms"]["median"] - always["host_ms"]["median"], 1),
                 "p95_ms": round(low["host_ms"]["p95"] - always["host_ms"]["p95"], 1)}
        bound = args.detect_ms + 100        # one doze, the wake-up and a poll at most
        figures = {"always_on": always, "low_power": low,
                   "duty_cycle": low["idle"]["radio_on_fraction"],
                   "radio_on_vs_always_on": round(
                       low["idle"]["radio_on_fraction"]
                       / max(always["idle"]["radio_on_fraction"], 1e-9), 4),
                   "added_tap_latency": added,
                   "ok": low["idle"]["radio_on_fraction"] < 0.1 <= always["idle"][
                       "radio_on_fraction"] and low["host_ms"]["max"] - always["host_ms"][
                       "median"] <= bound}
        ok = ok and figures["ok"]
        result["per_board"][board] = figures
    result["ok"] = ok
    return result


def _mode(s, power_save, args, rng):
    s.reader.set_config(power_save=power_save, detect_ms=args.detect_ms)
    time.sleep(0.5)                     # the flow's loop takes the setting
    dozes = s.reader.info()["terminal"].get("dozes", 0)
    s.vr.devices.radio(reset=True)
    time.sleep(args.idle_s)
    idle = s.vr.devices.radio()
    dozes = s.reader.info()["terminal"].get("dozes", 0) - dozes
    host, firmware = [], []
    for _ in range(args.taps):
        time.sleep(rng.uniform(0, (args.detect_ms + 50) / 1000))
        fw_ms, host_ms = s.tap_once()
        firmware.append(fw_ms)
        host.append(host_ms)
    return {"idle": idle, "idle_dozes": dozes,
            "host_ms": _summary(host), "firmware_ms": _summary(firmware)}


def _summary(values):
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 1),
            "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
            "max": round(ordered[-1], 1)}
