"""`hcterm bench fleet --bridges N --json`: one delta to N bridges on a local Mosquitto, and the
tap audit of all of them (docs/fleet.md, Sizing).

- The broker: Mosquitto on a free loopback port, started and stopped by the bench.
- N simulated bridges: each one MQTT client (its own connection, as a bridge has) that
  subscribes to the region's index and deltas as hcterm.fleet.bridge does, holds a modelled
  reader's blacklist version, and on a delta on that version takes it (the reader's push
  and apply are not modelled: the virtual readers below measure them) and publishes the
  reader's retained health; in the audit phase it publishes `--audit-events` QoS 1 events
  with unique ids and waits for each PUBACK.
- `--virtual-readers` real bridges (hcterm.bridge with --mqtt) in front of virtual readers
  (the firmware on the unix port): they install the first list from the snapshot, then the
  delta through their link, and tap a sample card twice each (end to end).
- The platform publishes version 1 (snapshot), everything connects, then version 2 (a delta
  of `--changes` ID numbers). delta_to_all: from the delta's publish to each reader's health
  with version 2 seen by the platform's watcher (p50, p99, max; the virtual readers apart).
- Audit: a persistent consumer counts the ids: lost (sent, acknowledged, never received) and
  duplicates. broker_msgs_per_s: messages in and out of the broker ($SYS) over the delta and
  audit phases.
"""

import asyncio
import json
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path


def add_arguments(p):
    from .argtypes import count, positive_int

    p.add_argument("--bridges", type=positive_int, default=200,
                   help="simulated bridges (each its own MQTT connection; default 200)")
    p.add_argument("--virtual-readers", type=count, default=2,
                   help="real bridges with a virtual reader each (default 2)")
    p.add_argument("--audit-events", type=count, default=5,
                   help="audit events each simulated bridge sends (default 5)")
    p.add_argument("--entries", type=positive_int, default=2000,
                   help="ID numbers on the list (default 2000)")
    p.add_argument("--changes", type=positive_int, default=100,
                   help="ID numbers the delta adds (default 100)")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds to wait for the delta and the audit each")


def run(args):
    from ..fleet.broker import BrokerMissing, LocalMosquitto

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * args.bridges + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as work:
        try:
            broker = LocalMosquitto(Path(work)).start()
        except BrokerMissing as error:
            return {"ok": False, "error": str(error)}
        try:
            return asyncio.run(_bench(args, broker, Path(work)))
        finally:
            broker.stop()


def _ids(n, offset=0):
    from reader.cards.idnumber import check_character

    out = []
    for i in range(offset, offset + n):
        first = f"4101{i % 100:02d}{1940 + i % 70:04d}{1 + i % 12:02d}{1 + i % 28:02d}" \
                f"{i // 2000 % 1000:03d}"
        out.append(first + check_character(first))
    return out


REGION = "bench"


class SimBridge:
    """A model of a bridge and its reader on its own MQTT connection."""

    def __init__(self, n, options, version):
        self.n = n
        self.name = f"sim{n:05d}"
        self.hospital = f"h{n // 10:04d}"
        self.options = options
        self.version = version
        self.ready = asyncio.Event()
        self.client = None

    def health(self):
        from ..fleet import topics

        return topics.health(REGION, self.hospital, self.name, "r1"), json.dumps({
            "v": 1, "region": REGION, "hospital": self.hospital, "bridge": self.name,
            "reader": "r1", "state": "connected", "connected": True,
            "blacklist": {"installed": True, "version": self.version, "stale": False},
            "time": time.time()}).encode()

    async def run(self):
        from .. import blacklist_files as bf
        from ..fleet import topics
        from ..fleet.mqtt import json_properties

        async with self.options.client(f"bench-{self.name}", keepalive=120,
                                       timeout=60) as client:
            self.client = client
            await client.subscribe(topics.blacklist_index(REGION), qos=1)
            await client.subscribe(topics.blacklist_deltas(REGION), qos=1)
            topic, payload = self.health()
            await client.publish_acked(topic, payload, retain=True,
                                       properties=json_properties())
            self.ready.set()
            async for message in client.messages:
                parts = topics.parse(str(message.topic))
                if not parts or parts["kind"] != "delta" or not message.payload:
                    continue
                h = bf.header(bytes(message.payload))
                if h["base_version"] == self.version:
                    self.version = h["version"]
                    topic, payload = self.health()
                    await client.publish_acked(topic, payload, retain=True,
                                               properties=json_properties())

    async def audit(self, count):
        from ..fleet import topics
        from ..fleet.mqtt import json_properties

        topic = topics.audit(REGION, self.hospital, self.name)
        events = [json.dumps({"v": 1, "id": uuid.uuid4().hex, "region": REGION,
                              "hospital": self.hospital, "bridge": self.name, "reader": "r1",
                              "type": "tap", "time": time.time(), "status": "ok",
                              "latency_ms": 80.0, "subject": "masked:410105********4213"})
                  for _ in range(count)]
        await asyncio.gather(*(self.client.publish_acked(topic, e.encode(), qos=1,
                                                         properties=json_properties())
                               for e in events))
        return count


async def _bench(args, broker, work):
    from .. import blacklist_files as bf
    from ..emulator import samples
    from ..fleet.mqtt import BrokerOptions
    from ..fleet.platform import Watcher, publish_blacklist

    started = time.monotonic()
    options = BrokerOptions.make(broker.url)
    key = samples.DEMO_PLATFORM_KEY
    base = _ids(args.entries)
    await publish_blacklist(options, REGION, key, bf.read_list("\n".join(base)))

    # the platform: watcher, audit consumer (persistent session), $SYS counters
    watcher = Watcher()
    seen_v2 = {}
    audit_ids = []
    sys_counts = {}
    t_delta = [None]

    async def platform(ready):
        async with options.client("bench-platform", clean_start=False, session_expiry=3600,
                                  timeout=60, max_queued_incoming_messages=0) as client:
            await watcher.subscribe(client)
            await client.subscribe("$SYS/broker/messages/+", qos=0)
            ready.set()
            async for message in client.messages:
                topic = str(message.topic)
                payload = bytes(message.payload or b"")
                if topic.startswith("$SYS/"):
                    sys_counts[topic.rsplit("/", 1)[1]] = (time.time(), int(payload))
                    continue
                if "/audit/" in topic:
                    audit_ids.append(json.loads(payload)["id"])
                    continue
                watcher.feed(topic, payload)
                if "/health/" in topic and t_delta[0] is not None:
                    data = json.loads(payload)
                    if (data.get("blacklist") or {}).get("version") == 2:
                        seen_v2.setdefault((data["bridge"], data["reader"]), time.time())

    ready = asyncio.Event()
    tasks = [asyncio.get_running_loop().create_task(platform(ready))]
    await asyncio.wait_for(ready.wait(), 30)

    # virtual readers with real bridges
    real = await _real_bridges(args, broker, work, options)
    # simulated bridges, connected in waves
    sims = [SimBridge(n, options, 1) for n in range(args.bridges)]
    connect_start = time.monotonic()
    for wave in range(0, len(sims), 100):
        group = sims[wave:wave + 100]
        tasks += [asyncio.get_running_loop().create_task(s.run()) for s in group]
        await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in group)), 60)
    connect_s = time.monotonic() - connect_start
    deadline = time.monotonic() + args.timeout
    while not all(r.version() == 1 for r in real["bridges"]):
        if time.monotonic() > deadline:
            raise_timeout = "the virtual readers did not install version 1"
            return await _finish(tasks, real, {"ok": False, "error": raise_timeout})
        await asyncio.sleep(0.1)

    # the delta
    await asyncio.sleep(1.2)                 # a fresh $SYS sample
    sys_start = _sys_total(sys_counts)
    t_delta[0] = 0
    out = await publish_blacklist(options, REGION, key, bf.read_list("\n".join(
        base + _ids(args.changes, args.entries))))
    t0 = out["published_at"]
    readers = args.bridges + len(real["bridges"])
    deadline = time.monotonic() + args.timeout
    while len(seen_v2) < readers and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    delays = sorted(t - t0 for t in seen_v2.values())
    real_delays = sorted(seen_v2[(b.settings.bridge, "r1")] - t0 for b in real["bridges"]
                         if (b.settings.bridge, "r1") in seen_v2)

    # the audit
    audit_start = time.monotonic()
    expected = args.bridges * args.audit_events
    sent = await asyncio.gather(*(s.audit(args.audit_events) for s in sims))
    expected_real = await real["tap"]()
    expected += expected_real
    deadline = time.monotonic() + args.timeout
    while len(set(audit_ids)) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    audit_s = time.monotonic() - audit_start
    await asyncio.sleep(1.2)
    sys_end = _sys_total(sys_counts)
    unique = len(set(audit_ids))
    result = {
        "bridges": args.bridges, "virtual_readers": len(real["bridges"]),
        "readers_updated": len(seen_v2), "readers": readers,
        "delta_bytes": out.get("delta_bytes"), "snapshot_bytes": out.get("snapshot_bytes"),
        "entries": args.entries, "changes": args.changes,
        "delta_to_all_p50_s": _pct(delays, 50), "delta_to_all_p99_s": _pct(delays, 99),
        "delta_to_all_max_s": round(delays[-1], 3) if delays else None,
        "delta_to_virtual_readers_s": [round(d, 3) for d in real_delays],
        "audit_events_sent": sum(sent) + expected_real,
        "audit_events_lost": expected - unique,
        "audit_duplicates": len(audit_ids) - unique,
        "audit_s": round(audit_s, 3),
        "connect_s": round(connect_s, 3),
        "broker_msgs_per_s": round((sys_end[1] - sys_start[1]) / (sys_end[0] - sys_start[0]))
        if sys_start and sys_end and sys_end[0] > sys_start[0] else None,
    }
    result["ok"] = result["readers_updated"] == readers and result["audit_events_lost"] == 0
    result["seconds"] = round(time.monotonic() - started, 1)
    return await _finish(tasks, real, result)


def _pct(values, p):
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[p - 1], 3)


def _sys_total(counts):
    """(time, messages received + sent by the broker) from its last $SYS samples."""
    if "received" not in counts or "sent" not in counts:
        return None
    return (max(counts["received"][0], counts["sent"][0]),
            counts["received"][1] + counts["sent"][1])


async def _finish(tasks, real, result):
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await real["stop"]()
    return result


async def _real_bridges(args, broker, work, options):
    from ..bridge.app import KEY_FLEET, create_app, start_site
    from ..bridge.logs import bridge_logger
    from ..fleet.bridge import FleetSettings
    from ..sim.virtualreader import VirtualReader
    from .demo import provision_demo_key

    vrs, runners, fleets = [], [], []

    def boot(n):
        vr = VirtualReader(flash=work / f"vr{n}.img").start()
        with vr.open_reader(open_timeout=30, timeout=10) as reader:
            provision_demo_key(reader)
        return vr

    for n in range(args.virtual_readers):
        vr = await asyncio.to_thread(boot, n)
        vrs.append(vr)
        settings = FleetSettings(options, REGION, "real", f"vr{n}", str(work / f"q{n}.sqlite"))
        import io

        app = create_app([vr.port], "bench", log=bridge_logger(io.StringIO()), fleet=settings)
        runner, _ = await start_site(app)
        runners.append(runner)
        fleet = app[KEY_FLEET]
        fleet.version = lambda f=fleet: (f.manager.readers["r1"].blacklist or {}).get("version")
        fleets.append(fleet)

    async def tap():
        def taps():
            for vr in vrs:
                for _ in range(2):
                    vr.devices.tap("adult")
                    time.sleep(0.3)
                    vr.devices.remove()
                    time.sleep(0.1)
        await asyncio.to_thread(taps)
        return 2 * len(vrs)

    async def stop():
        for runner in runners:
            await runner.cleanup()
        for vr in vrs:
            await asyncio.to_thread(vr.stop)

    return {"bridges": fleets, "tap": tap, "stop": stop}
