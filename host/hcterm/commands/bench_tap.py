"""`hcterm bench tap`: how long a tap takes, from the card entering the field to its event.

Method (docs/bench-tap.md): virtual readers with wire pacing on (every wire takes its
modeled time at the rates the firmware negotiates: PN532 HSU at the board's fastest, ISO
14443-4 at the fastest the card's TA(1) allows, SAM T=0 after its PPS; card and SAM processing
times of docs/wire-timing.md), with the sample PSAM whose ATR offers 372/12. On each sim
board, `--taps` identity-profile taps of the sample card offering 848 kbit/s, after one
warm-up tap (the first tap brings the SAM up: reset, PPS, SELECT DF01), then as many taps of
the accepted cards that offer 106 kbit/s only. The latency of a tap is the firmware's own
`latency_ms` (from the poll that finds the card to the event queued for the host); the host
side's view (tap to event received, with up to one idle poll and the USB frame) is reported
beside it. Then on the default board:

- the reference flow (config flow=reference: a SELECT walk and an AuthIRK per file, SAM
  kept at 9600 baud without PPS) over the same emulated hardware;
- the wire floor of one tap: the wire timing's counters over the tap (PN532 HSU, RF with the
  card's processing, SAM with its processing), the idle polls in the window taken out;
- the firmware's live heap at the tap's fullest points (config heap_probe) and the qstr pool
  (micropython.qstr_info() at the REPL after the taps).
"""

import random
import re
import statistics
import subprocess
import sys
import time

from ..emulator import samples
from ..sim import boards as sim_boards
from ..sim.virtualreader import DEFAULT_BOARD, VirtualReader, parse_size
from . import argtypes
from .argtypes import positive_int

OK_CARDS = ("adult", "child", "elderly")    # identity read accepted, TA(1) 80: 106 kbit/s
FAST_CARDS = ("fast",)                      # TA(1) 77: 848 kbit/s each way
WIRE_LINKS = ("pn532", "rf", "sam")         # the tap's critical path (host link: after it)
TARGETS = {"host_median_ms": 100.0, "speedup_vs_reference": 3.5, "floor_ratio": 1.15}
EVENT_TIMEOUT = 15.0
IDLE_POLL_S = 0.020     # the firmware's poll interval without a card (terminal.flow.IDLE_MS)
IDLE_SAMPLE_S = 0.5


class BenchError(RuntimeError):
    pass


def add_arguments(p):
    p.add_argument("--taps", type=positive_int, default=20,
                   help="timed taps per board (default 20)")
    p.add_argument("--boards", type=argtypes.sim_boards, default=",".join(sim_boards.sim_names()),
                   help="comma-separated sim boards (default: every sim board)")


def run(args):
    names = list(args.boards)
    default = DEFAULT_BOARD if DEFAULT_BOARD in names else names[0]
    result = {"board": default, "taps": args.taps, "per_board": {}}
    ours = {}
    for name in names:
        with Session(name) as s:
            s.warm_up()
            ours[name] = s.taps(args.taps)
            result.setdefault("rates", {})[name] = s.rates
            s.cards = OK_CARDS
            slow = s.taps(args.taps)
            s.cards = FAST_CARDS
            result.setdefault("per_board_106", {})[name] = _median(slow["firmware"])
            result.setdefault("per_board_host_106", {})[name] = _median(slow["host"])
            if name == default:
                result.update(s.floor())
                result.update(s.heap())
                s.set_flow("reference")
                s.warm_up()
                ref = s.taps(args.taps)
                result["reference_median_ms"] = _median(ref["firmware"])
                result["reference_host_median_ms"] = _median(ref["host"])
                result["reference_first_tap_ms"] = s.first_tap_ms
                s.set_flow("fast")
                result.update(s.qstr_pool())
        result["per_board"][name] = _median(ours[name]["firmware"])
        result.setdefault("per_board_host", {})[name] = _median(ours[name]["host"])
    mine = ours[default]
    result["median_ms"] = _median(mine["firmware"])
    result["p95_ms"] = _p95(mine["firmware"])
    result["host_median_ms"] = _median(mine["host"])
    result["speedup_vs_reference"] = round(result["reference_median_ms"] / result["median_ms"],
                                           2)
    result["floor_ratio"] = round(result["median_ms"] / result["wire_floor_ms"], 2)
    result["targets"] = {
        "host_median_ms<=100 (every board)": max(result["per_board_host"].values())
        <= TARGETS["host_median_ms"],
        "speedup_vs_reference>=3.5":
            result["speedup_vs_reference"] >= TARGETS["speedup_vs_reference"],
        "floor_ratio<=1.15": result["floor_ratio"] <= TARGETS["floor_ratio"],
    }
    result["ok"] = True   # every tap gave its accepted event (else BenchError above)
    return result


def _median(values):
    return round(statistics.median(values), 1)


def _p95(values):
    ordered = sorted(values)
    return round(ordered[max(0, -(-95 * len(ordered) // 100) - 1)], 1)


class Session:
    """One paced virtual reader and its host link."""

    def __init__(self, board):
        self.board = board
        self.vr = VirtualReader(board, pace=True, sam=samples.fast_sam())
        self.reader = None
        self.first_tap_ms = None
        self.cards = FAST_CARDS
        self.rates = None       # rf_kbps and sam_baud of the last tap event
        self._n = 0
        self._phase = random.Random(15)   # the same taps' phases in every run

    def __enter__(self):
        from ..link import Reader

        self.vr.start()
        try:
            self.reader = Reader(self.vr.port, open_timeout=30, timeout=15)
            event = self.reader.next_event(timeout=EVENT_TIMEOUT)
            if event.get("type") != "selftest" or not event.get("ok"):
                raise BenchError(f"{self.board}: the self-test failed: {event}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.reader is not None:
            self.reader.close()
        self.vr.stop()

    # -- taps -----------------------------------------------------------------------------
    def tap_once(self):
        """Tap the next accepted sample card, wait for its tap event and its removal:
        (firmware latency ms, host latency ms)."""
        card = self.cards[self._n % len(self.cards)]
        self._n += 1
        # a person taps at any moment of the reader's idle poll cycle, not in step with the
        # removed event (which comes at the end of a poll): a uniform phase over the interval
        time.sleep(self._phase.uniform(0, IDLE_POLL_S))
        start = time.perf_counter()
        self.vr.devices.tap(card)
        event = self._event("tap", card)
        host_ms = (time.perf_counter() - start) * 1000
        if event.get("status") != "ok":
            raise BenchError(f"{self.board}: the {card} card was not accepted: {event}")
        self.rates = {"rf_kbps": event.get("rf_kbps"), "sam_baud": event.get("sam_baud")}
        self.vr.devices.remove()
        self._event("removed", card)
        return event["latency_ms"], host_ms

    def _event(self, kind, card):
        from ..link import LinkTimeout

        try:
            event = self.reader.next_event(timeout=EVENT_TIMEOUT)
        except LinkTimeout:
            raise BenchError(f"{self.board}: no {kind} event for the {card} card within "
                             f"{EVENT_TIMEOUT:.0f} s") from None
        if event.get("type") != kind:
            raise BenchError(f"{self.board}: expected a {kind} event for the {card} card, "
                             f"got {event}")
        return event

    def warm_up(self):
        self.first_tap_ms = self.tap_once()[0]

    def taps(self, n):
        firmware, host = [], []
        for _ in range(n):
            f, h = self.tap_once()
            firmware.append(f)
            host.append(h)
        return {"firmware": firmware, "host": host}

    def set_flow(self, flow):
        self.reader.set_config(flow=flow)

    # -- the wire floor -----------------------------------------------------------------
    def _counters(self):
        model = self.vr.model
        return {link: model.counters(link) for link in WIRE_LINKS if model.has(link)}

    def _polls(self):
        return self.reader.info()["terminal"]["polls"]

    def floor(self):
        """The wire timing's time of one tap, per wire on its critical path."""
        model = self.vr.model
        # what an idle poll (no card) costs on each wire
        p0 = self._polls()
        model.reset_counters()
        time.sleep(IDLE_SAMPLE_S)
        idle = self._counters()
        idle_polls = max(1, self._polls() - p0)
        # one tap, the counters read at its event
        p0 = self._polls()
        model.reset_counters()
        self.vr.devices.tap(self.cards[0])
        event = self._event("tap", self.cards[0])
        used = self._counters()
        extra = max(0, self._polls() - p0 - 1)       # idle polls in the window
        self.vr.devices.remove()
        self._event("removed", self.cards[0])
        per_link = {}
        total = 0.0
        for link, c in used.items():
            seconds = c.modeled_s - extra * idle[link].modeled_s / idle_polls
            total += seconds
            per_link[link] = {"ms": round(seconds * 1000, 1), "bytes": c.tx_bytes + c.rx_bytes,
                              "exchanges": c.round_trips}
        return {"wire_floor_ms": round(total * 1000, 1), "floor_breakdown": per_link,
                "floor_tap_latency_ms": event["latency_ms"],
                "idle_poll_ms": round(sum(c.modeled_s for c in idle.values()) * 1000
                                      / idle_polls, 2)}

    # -- memory ---------------------------------------------------------------------------
    def heap(self, taps=3):
        """The live heap at the tap's fullest points (after its read, after its event),
        each after a collection (config heap_probe; those taps are not timed)."""
        self.reader.set_config(heap_probe=True)
        for _ in range(taps):
            self.tap_once()
        self.reader.set_config(heap_probe=False)
        raw = self.reader.info()["terminal"]["heap_peak"]
        # the unix port keeps the firmware's ROMFS image and the names' seventh pool in its
        # heap (a board has them in flash); the virtual reader adds them on top of the
        # budget: take them out
        image = self.vr.rom_image.stat().st_size if self.vr.rom_image else 0
        return {"peak_heap_bytes": raw - self.vr.outside_budget, "peak_heap_raw_bytes": raw,
                "rom_image_bytes": image, "qstr_seventh_pool_bytes": self.vr.outside_budget - image,
                "heap_budget": parse_size(self.vr.heapsize)}

    def qstr_pool(self):
        """micropython.qstr_info() of the firmware process after the taps, at the REPL
        (the link hands the port over; mpremote runs it)."""
        self.reader.handoff()
        code = "import micropython;micropython.qstr_info()"
        proc = subprocess.run([sys.executable, "-m", "mpremote", "resume", "connect",
                               str(self.vr.port), "exec", code],
                              capture_output=True, text=True, timeout=30)
        match = re.search(r"n_qstr=(\d+), n_str_data_bytes=(\d+), n_total_bytes=(\d+)",
                          proc.stdout)
        if not match:
            return {"qstr_pool_bytes": None,
                    "qstr_error": (proc.stderr or proc.stdout).strip()[-200:]}
        return {"qstr_pool_bytes": int(match.group(3)), "qstr_count": int(match.group(1))}


def sample_names():
    return [p.stem for p in samples.paths()]
