"""`hcterm bench NAME`: measurements of the reader stack, one line of JSON with --json.

Benchmarks are listed in BENCHES: name -> (help, add_arguments(parser), run(args) -> dict).
Add one by writing those two functions (here or in a module of its own) and a line in the
table; `run` returns the figures, `hcterm bench` prints them and exits 1 if "ok" is False.
"""

import importlib
import json
import tempfile
import time


def _link_fuzz_arguments(p):
    from .argtypes import count, positive_int, share

    p.add_argument("--frames", type=positive_int, default=100_000,
                   help="frames in the codec fuzz")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same stream)")
    p.add_argument("--requests", type=count, default=100,
                   help="requests through a noisy link to a virtual reader (0: skip)")
    p.add_argument("--noise", type=share, default=0.05,
                   help="share of chunks the noisy link damages")
    p.add_argument("--hostile", action="store_true",
                   help="instead: well-framed requests with hostile payloads (deep nesting, "
                   "huge numbers, wrong types, duplicate keys, invalid UTF-8, every message "
                   "code): FRAMES of them through the firmware's request parsing under "
                   "MicroPython, REQUESTS through a live virtual reader")


def link_fuzz(args):
    """Both decoders (CPython, and the firmware's under MicroPython) on one stream of random,
    mutated and garbage frames; then requests through a noisy link to a virtual reader.
    With --hostile: hostile_fuzz."""
    from ..link.fuzz import decode_in_chunks, decode_on_micropython, digest, fuzz_stream

    if args.hostile:
        return hostile_fuzz(args)

    stream, expected = fuzz_stream(args.frames, seed=args.seed)
    got, counters, host_s = decode_in_chunks(stream, seed=args.seed + 1)
    with tempfile.TemporaryDirectory() as work:
        mp_count, mp_sha, mp_s = decode_on_micropython(stream, work)
    result = {
        "frames": args.frames, "bytes": len(stream), "good_frames": len(expected),
        "host": {"decoded": len(got), "exact": got == expected, "seconds": round(host_s, 3),
                 "frames_per_s": _rate(args.frames, host_s), "counters": counters},
        "firmware": {"decoded": mp_count, "exact": mp_sha == digest(expected),
                     "seconds": round(mp_s, 3), "frames_per_s": _rate(args.frames, mp_s)},
    }
    ok = result["host"]["exact"] and result["firmware"]["exact"]
    if args.requests:
        result["noisy_link"] = noisy_requests(args.requests, args.noise, args.seed)
        ok = ok and result["noisy_link"]["lost"] == 0
    result["ok"] = ok
    return result


def hostile_fuzz(args):
    from ..link import hostile

    items = hostile.corpus(min(args.frames, 5000), seed=args.seed)
    with tempfile.TemporaryDirectory() as work:
        parsing = hostile.parse_on_micropython(items, args.frames, work)
    result = {"firmware_parsing": parsing}
    ok = parsing["memory_errors"] == 0 and parsing["heap_left_bytes"] < 1024
    if args.requests:
        result["live"] = hostile.live(args.requests, seed=args.seed + 1)
        ok = ok and result["live"]["reader_answers_after"] and result["live"]["lost"] == 0 \
            and not result["live"]["terminal_faults"]
        result["reader_answers_after"] = result["live"]["reader_answers_after"]
    result["ok"] = ok
    return result


def _rate(count, seconds):
    """count/seconds, rounded; a run too short for the clock counts as 1 µs."""
    return round(count / max(seconds, 1e-6))


def noisy_requests(count, rate, seed):
    """`count` config-set/get pairs through a LineNoise proxy: every acknowledged request
    must be answered, every answer must be the right one."""
    from ..link import LinkTimeout, Reader
    from ..link.fuzz import LineNoise, PortProxy
    from ..sim.virtualreader import VirtualReader

    noise = LineNoise(rate, seed)
    lost = wrong = 0
    with VirtualReader() as vr:
        proxy = PortProxy(vr.port)
        try:
            reader = Reader(proxy.url, open_timeout=30)
            proxy.noise = noise
            start = time.perf_counter()
            for n in range(count):
                name = f"T{n}"
                try:
                    reader.set_config(terminal_id=name)
                    if reader.config()["terminal_id"] != name:
                        wrong += 1
                except LinkTimeout:
                    lost += 1
            seconds = time.perf_counter() - start
            link = reader.info()["link"] if not lost else {}
            reader.close()
        finally:
            proxy.close()
    return {"requests": 2 * count, "noise_events": noise.events, "lost": lost,
            "wrong": wrong, "seconds": round(seconds, 3),
            "host_retransmits": reader.stats["retransmits"],
            "host_duplicates": reader.stats["duplicates"], "reader_link": link}


def _module(name):
    """(add_arguments, run) of the bench module `name` (hcterm.commands.NAME), imported only
    when its bench is asked for."""
    def module():
        return importlib.import_module(f"{__package__}.{name}")

    return (lambda p: module().add_arguments(p)), (lambda args: module().run(args))


BENCHES = {
    "link-fuzz": ("fuzz the host link codec on both ends and run requests over a noisy line",
                  _link_fuzz_arguments, link_fuzz),
    "bridge": ("event latency device -> WebSocket and requests/s through the bridge (1 and "
               "8 virtual readers)", *_module("bench_bridge")),
    "blacklist": ("blacklist format 2 against format 1 on N ID numbers: size, flash blocks "
                  "and RAM per lookup, lookups/s on the unix port, build, delta, signature",
                  *_module("bench_blacklist")),
    "soak": ("many taps on one reader at its flow budget: problems, heap over time, latency "
             "of the first and last taps", *_module("bench_soak")),
    "power": ("low-power polling against always-on polling on paced virtual readers: polls/s, "
              "modeled radio-on fraction, added tap latency", *_module("bench_power")),
    "tap": ("tap latency on paced virtual readers: our flow per sim board, the reference "
            "flow, the wire floor, the firmware's peak heap", *_module("bench_tap")),
    "fleet": ("one delta to N simulated bridges and a few virtual readers on a local "
              "Mosquitto: delta latency to all, audit loss and duplicates, broker msgs/s",
              *_module("bench_fleet")),
    "flash": ("hcterm flash on paced virtual readers: full deploy, one changed module, "
              "against mpremote cp -r of the sources; N readers at once",
              *_module("bench_flash")),
    "journal": ("taps with the host unplugged and power cuts, then delivered: duplicates, "
                "lost, append_ms_p99", *_module("bench_journal")),
}


def register(subparsers):
    p = subparsers.add_parser("bench", help="measure the reader stack (link fuzz, …)")
    benches = p.add_subparsers(dest="bench", metavar="BENCH")
    for name, (help_text, add_arguments, run_bench) in BENCHES.items():
        b = benches.add_parser(name, help=help_text)
        b.add_argument("--json", action="store_true", help="one JSON object")
        add_arguments(b)
        b.set_defaults(func=_runner(run_bench))
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _runner(run_bench):
    def run(args):
        result = run_bench(args)
        if args.json:
            print(json.dumps(result, sort_keys=True))
        else:
            for key, value in result.items():
                print(f"{key:12} {value}")
        return 0 if result.get("ok", True) else 1
    return run

