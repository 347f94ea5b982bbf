"""Hostile requests: well-framed host link requests whose payloads a careless or malicious
program on the workstation could send (deep nesting, huge numbers, wrong types, unknown
fields, duplicate keys, invalid UTF-8, non-objects, every message code with every shape).
`hcterm bench link-fuzz --hostile` feeds them to the firmware's request parsing under
MicroPython and through a live virtual reader, which must still answer afterwards
(docs/host-link.md "Bounds").
"""

import json
import os
import random
import subprocess
import time

from reader import hostlink

from ..mpy import FIRMWARE_DIR, micropython_binary

# requests a live fuzz must not send: REPL hands the port to the REPL (the link ends by
# design), power-on / apdu / power-off hold or release slots and are the card's business
SKIP_LIVE = (hostlink.REPL, hostlink.POWER_ON, hostlink.APDU, hostlink.POWER_OFF)
_FIELDS = ("fields", "files", "file", "offset", "length", "pin", "old", "new", "slot", "apdu",
           "time", "beep", "led", "display", "begin", "update", "at", "data", "commit",
           "record", "count", "ms", "name", "protocol", "terminal_id", "beeper")


def _nested(rng, limit=1000):
    depth = rng.randrange(1, limit // 2)
    open_, close = rng.choice((("[", "]"), ('{"a":', "}")))
    return (open_ * depth + "1" + close * depth).encode()


def _value(rng, depth=0):
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice((10 ** rng.randrange(20, 300), -(2 ** 70), 1e308, 0.5, -1))
    if kind == 1:
        return "x" * rng.randrange(0, 600)
    if kind == 2:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))] if depth < 3 else []
    if kind == 3:
        return {rng.choice(_FIELDS): _value(rng, depth + 1)} if depth < 3 else {}
    if kind == 4:
        return rng.choice((True, False, None))
    if kind == 5:
        return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(20)))
    if kind == 6:
        return rng.randrange(-5, 300)
    if kind == 7:
        return "%X" % rng.getrandbits(rng.randrange(8, 256))
    return rng.randbytes(rng.randrange(8)).hex()


def hostile_payload(rng):
    """One payload (bytes, at most the link's maximum)."""
    shape = rng.randrange(10)
    if shape == 0:
        out = _nested(rng)
    elif shape == 1:                          # duplicate keys
        key = rng.choice(_FIELDS)
        out = ('{"%s": %s, "%s": %s}' % (key, json.dumps(_value(rng)), key,
                                         json.dumps(_value(rng)))).encode()
    elif shape == 2:                          # invalid UTF-8 inside a string
        out = b'{"pin": "' + rng.randbytes(rng.randrange(1, 40)) + b'"}'
    elif shape == 3:                          # not an object
        out = json.dumps(_value(rng)).encode()
    elif shape == 4:                          # cut short
        whole = json.dumps({rng.choice(_FIELDS): _value(rng)}).encode()
        out = whole[:rng.randrange(len(whole))]
    elif shape == 5:                          # many values
        out = ("[" + ",".join("1" for _ in range(rng.randrange(100, 500))) + "]").encode()
    elif shape == 6:                          # raw garbage
        out = rng.randbytes(rng.randrange(0, 200))
    else:                                     # plausible keys, wrong or extreme values
        obj = {rng.choice(_FIELDS): _value(rng) for _ in range(rng.randrange(1, 5))}
        out = json.dumps(obj, ensure_ascii=rng.random() < 0.5).encode()
    return out[:hostlink.MAX_PAYLOAD]


def corpus(count, seed=1):
    """`count` (message code, payload) pairs: every request code and some unknown ones."""
    rng = random.Random(seed)
    codes = sorted(m for m in hostlink.MESSAGES if m < 0x80) + [0x06, 0x7F, 0x42]
    return [(codes[i % len(codes)], hostile_payload(rng)) for i in range(count)]


_MP_PARSE = """
import sys, time, gc
from reader import hostlink
from reader.terminal.requests import _bounded
path, rounds = sys.argv[1], int(sys.argv[2])
refused = accepted = memory = 0
head = bytearray(2)
gc.collect()
before = gc.mem_free()
t = time.ticks_ms()
for _ in range(rounds):
    with open(path, 'rb') as f:
        while f.readinto(head) == 2:
            p = f.read(head[0] << 8 | head[1])
            try:
                _bounded(p)
                hostlink.unpack(p)
                accepted += 1
            except ValueError:
                refused += 1
            except MemoryError:
                memory += 1
            p = None
gc.collect()
print(accepted, refused, memory, before - gc.mem_free(), time.ticks_diff(time.ticks_ms(), t))
"""


def parse_on_micropython(items, total, workdir, heapsize="96k"):
    """The firmware's request parsing (the bounds check, then the JSON) under MicroPython
    on `total` payloads (the corpus repeated): counts, heap left over, seconds."""
    path = os.path.join(workdir, "hostile.bin")
    with open(path, "wb") as f:
        for _, payload in items:
            f.write(len(payload).to_bytes(2, "big") + payload)
    rounds = max(1, total // len(items))
    env = dict(os.environ, MICROPYPATH=".frozen" + os.pathsep + str(FIRMWARE_DIR))
    proc = subprocess.run([micropython_binary(), "-X", f"heapsize={heapsize}", "-c",
                           _MP_PARSE, path, str(rounds)], capture_output=True, text=True,
                          env=env, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"the firmware's request parsing crashed: {proc.stdout}"
                           f"{proc.stderr}")
    accepted, refused, memory, leaked, ms = (int(x) for x in proc.stdout.split())
    return {"payloads": rounds * len(items), "accepted": accepted, "refused": refused,
            "memory_errors": memory, "heap_left_bytes": leaked, "seconds": ms / 1000}


def live(count, seed=2, heapsize="100k"):
    """`count` hostile requests through a virtual reader's link; then info must answer."""
    from ..link import LinkTimeout, ReaderError
    from ..sim.virtualreader import VirtualReader

    items = [i for i in corpus(count * 2, seed) if i[0] not in SKIP_LIVE][:count]
    answers = {"response": 0, "error": 0}
    lost = 0
    start = time.perf_counter()
    with VirtualReader(heapsize=heapsize) as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            for msg, payload in items:
                try:
                    reader.request_raw(msg, payload)
                    answers["response"] += 1
                except LinkTimeout:
                    lost += 1
                except ReaderError:
                    answers["error"] += 1
            info = reader.info()
            after = bool(info.get("firmware"))
            faults = info["terminal"].get("faults", 0)
        except ReaderError:
            after, faults = False, None
        finally:
            reader.close()
    return {"requests": len(items), "answers": answers, "lost": lost,
            "reader_answers_after": after, "terminal_faults": faults,
            "seconds": round(time.perf_counter() - start, 1)}
