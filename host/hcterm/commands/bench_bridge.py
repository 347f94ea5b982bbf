"""`hcterm bench bridge`: the bridge on 127.0.0.1 in front of virtual readers.

- Event latency, device -> WebSocket: from the moment a card is put on a virtual reader's
  antenna (`devices.tap`) to the tap event (or the error event the tap produced) arriving at
  a WebSocket client of the bridge; p50/p99 over `--samples` taps. When the firmware sends
  no event for a tap, QR scans are measured instead (`devices.scan` -> the qr event), and if
  neither, events injected at the Reader client's receiving thread (the bridge's own part
  only). `event_source` says which was measured.
- Requests per second through the bridge with 1 and 8 readers: POST /api/readers/{id}/apdu
  (a SELECT to the SAM: HTTP -> bridge -> host link -> firmware -> emulated SAM and back),
  `--clients` concurrent clients per reader for `--seconds`; plus GET /api/readers (the
  bridge alone) for comparison.
Loopback only; every loop is bounded in count and time.
"""

import asyncio
import io
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

QR_TEXT = "272EB52D0696FD625B6F3E1A830728532779BEB87520CC83948C50A43F439F58:1"
TOKEN = "bench-token"


def add_arguments(p):
    from .argtypes import positive_float, positive_int

    p.add_argument("--samples", type=positive_int, default=30, help="events timed")
    p.add_argument("--seconds", type=positive_float, default=3.0,
                   help="length of each request run")
    p.add_argument("--clients", type=positive_int, default=2,
                   help="concurrent HTTP clients per reader")
    p.add_argument("--readers", type=positive_int, nargs="+", default=[1, 8],
                   help="reader counts for the request runs")


def run(args):
    return asyncio.run(asyncio.wait_for(_bench(args), 60 + 20 * len(args.readers)
                                        + args.samples + 3 * args.seconds * len(args.readers)))


def _percentiles(values):
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def pick(q):
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"count": len(ordered), "p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "max_ms": round(ordered[-1], 2), "mean_ms": round(statistics.mean(ordered), 2)}


class _Bench:
    def __init__(self, count, work):
        from ..sim.virtualreader import VirtualReader

        self.readers = [VirtualReader(flash=Path(work) / f"r{n}.img") for n in range(count)]

    async def __aenter__(self):
        import aiohttp

        from ..bridge.app import create_app, start_site
        from ..bridge.logs import bridge_logger

        for vr in self.readers:
            await asyncio.to_thread(vr.start)
        self.app = create_app([vr.port for vr in self.readers], TOKEN,
                              log=bridge_logger(io.StringIO()))
        self.runner, self.url = await start_site(self.app)
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        await self._connected()
        return self

    async def _connected(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with self.http.get(self.url + "/api/readers") as r:
                states = [x["state"] for x in (await r.json())["readers"]]
            if all(s == "connected" for s in states):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"readers not connected within {timeout} s: {states}")

    async def __aexit__(self, *exc):
        await self.http.close()
        await self.runner.cleanup()
        for vr in self.readers:
            await asyncio.to_thread(vr.stop)


async def _next(ws, types, timeout):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, None
        try:
            msg = await ws.receive(timeout=left)
        except asyncio.TimeoutError:
            return None, None
        event = json.loads(msg.data)
        if event["type"] in types:
            return time.perf_counter(), event


async def _event_latency(bench, samples):
    from ..bridge.app import KEY_MANAGER

    vr = bench.readers[0]
    ws = await bench.http.ws_connect(bench.url + "/api/events")
    try:
        await asyncio.sleep(0.5)   # let the boot's events pass
        while (await _next(ws, {"selftest", "state", "hello"}, 0.3))[1] is not None:
            pass
        for source, trigger, types, undo in (
                ("card tap (devices.tap -> tap/error event)", lambda: vr.devices.tap("adult"),
                 {"tap", "error"}, vr.devices.remove),
                ("QR scan (devices.scan -> qr event)", lambda: vr.devices.scan(QR_TEXT),
                 {"qr"}, None)):
            times, kinds, device_ms = [], {}, []
            for n in range(samples):
                start = time.perf_counter()
                trigger()
                arrived, event = await _next(ws, types, 5 if n == 0 else 3)
                if event is None:
                    break
                times.append((arrived - start) * 1000)
                kinds[event["type"]] = kinds.get(event["type"], 0) + 1
                if isinstance(event.get("latency_ms"), (int, float)):
                    device_ms.append(event["latency_ms"])
                if undo:
                    undo()
                    await _next(ws, {"removed"}, 0.5)
                await asyncio.sleep(0.05)
            if times:
                out = {"event_source": source, "event_types": kinds, **_percentiles(times)}
                if device_ms:
                    out["firmware_latency_ms"] = _percentiles(device_ms)
                return out
        # neither: the bridge's own part, from the Reader client's thread to the WebSocket
        client = bench.app[KEY_MANAGER].get("r1").client
        times = []
        for n in range(samples):
            start = time.perf_counter()
            threading.Thread(target=client._deliver_event,
                             args=(0x81, {"status": "ok", "n": n})).start()
            arrived, event = await _next(ws, {"removed"}, 3)
            if event is not None:
                times.append((arrived - start) * 1000)
        return {"event_source": "injected at the Reader client's thread (no tap or QR event "
                "from this firmware)", **_percentiles(times)}
    finally:
        await ws.close()


async def _rps(bench, clients, seconds):
    ids = [f"r{n + 1}" for n in range(len(bench.readers))]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for rid in ids:
        async with bench.http.post(f"{bench.url}/api/readers/{rid}/apdu", headers=auth,
                                   json={"slot": "sam1", "apdu": "00A40000023F00",
                                         "power_on": True}) as r:
            if r.status != 200:
                raise RuntimeError(f"{rid}: SAM power-on failed: {await r.text()}")

    async def worker(path, body, end, lat, errors):
        while time.perf_counter() < end:
            start = time.perf_counter()
            if body is None:
                async with bench.http.get(bench.url + path) as r:
                    await r.read()
            else:
                async with bench.http.post(bench.url + path, json=body, headers=auth) as r:
                    await r.read()
            if r.status == 200:
                lat.append((time.perf_counter() - start) * 1000)
            else:
                errors.append(r.status)

    async def measure(jobs):
        lat, errors = [], []
        start = time.perf_counter()
        end = start + seconds
        await asyncio.gather(*(worker(p, b, end, lat, errors) for p, b in jobs))
        elapsed = time.perf_counter() - start
        return {"requests": len(lat), "errors": len(errors),
                "requests_per_s": round(len(lat) / elapsed, 1),
                "latency": _percentiles(lat)}

    apdu = {"slot": "sam1", "apdu": "00A40000023F00"}
    result = {"readers": len(ids), "clients_per_reader": clients}
    result["apdu"] = await measure([(f"/api/readers/{rid}/apdu", apdu)
                                    for rid in ids for _ in range(clients)])
    result["list_readers"] = await measure([("/api/readers", None)
                                            for _ in range(clients * len(ids))])
    return result


async def _bench(args):
    result = {"host": "127.0.0.1", "seconds_per_run": args.seconds}
    with tempfile.TemporaryDirectory() as work:
        async with _Bench(1, work) as bench:
            result["event_latency"] = await _event_latency(bench, args.samples)
        runs = []
        for count in args.readers:
            async with _Bench(count, work) as bench:
                runs.append(await _rps(bench, args.clients, args.seconds))
        result["throughput"] = runs
    result["ok"] = result["event_latency"]["count"] > 0 and all(
        r["apdu"]["requests"] > 0 and r["apdu"]["errors"] == 0 for r in runs)
    return result
