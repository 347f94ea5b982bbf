"""The bridge's MQTT side (`hcterm bridge --mqtt URL --region R --hospital H`, docs/fleet.md):

- blacklists: subscribes to its region's index and deltas (retained); for each reader
  behind, pushes the chain of deltas from the reader's version, or the snapshot (subscribed
  to only while a reader needs it) and the deltas after it, through the same push as
  POST /api/blacklist. The readers verify the platform's signature: the bridge reads only
  the header's versions to plan;
- tap audit: every tap, QR scan and refusal as one QoS 1 message with a unique id, stored in
  a disk queue first and removed once the broker acknowledged it (no loss while the broker
  is away; a resend after a lost PUBACK is dropped by the consumer by its id);
- reader health: a retained state per reader, re-sent on every change and every
  HEALTH_INTERVAL; the bridge's own retained online state with a last will (offline).

    fleet = FleetBridge(manager, router, FleetSettings(...), log)
    await fleet.start() … await fleet.stop()
"""

import asyncio
import dataclasses
import hashlib
import hmac
import json
import time
import uuid

import aiomqtt

from .. import blacklist_files as bf
from ..bridge.logs import mask_ids, mask_qr
from ..bridge.readers import CONNECTED
from ..link import DeviceError, ReaderError
from . import topics
from .auditq import AuditQueue
from .mqtt import BrokerOptions, PublishRefused, describe_error, json_properties

HEALTH_INTERVAL = 300.0      # seconds between re-sends of every reader's health
RETRY_MIN, RETRY_MAX = 0.5, 30.0
REFUSED_RETRY = 60.0         # audit events the broker refused: try again after this long
AUDIT_BATCH = 100
AUDIT_TYPES = ("tap", "qr", "error")
SYNC_DELAY = 0.2             # retained messages come in a burst: plan once after it


@dataclasses.dataclass
class FleetSettings:
    broker: BrokerOptions
    region: str
    hospital: str
    bridge: str
    queue_path: str
    audit_key: bytes | None = None     # HMAC key for the ID number; None: masked

    def __post_init__(self):
        for kind in ("region", "hospital", "bridge"):
            topics.check_name(f"--{kind}" if kind != "bridge" else "--bridge-id",
                              getattr(self, kind))


def subject(value, key):
    """An ID number (or an eHC ID) for the audit: HMAC-SHA256 under the hospital's audit key
    (32 hex digits), or masked when there is no key; never in clear."""
    if not value:
        return None
    if key:
        return "hmac:" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]
    return "masked:" + (mask_ids(value) if len(value) == 18 else mask_qr(value))


def audit_record(event, settings, now=None):
    """The audit payload (a dict) of a bridge event (tap, qr, error), docs/fleet.md."""
    record = {"v": topics.PAYLOAD_VERSION, "id": uuid.uuid4().hex,
              "region": settings.region, "hospital": settings.hospital,
              "bridge": settings.bridge, "reader": event.get("reader"),
              "type": event.get("type"), "time": event.get("time", now or time.time()),
              "status": event.get("status", "ok")}
    for key in ("reason", "latency_ms", "blacklist_stale", "verified"):
        if key in event:
            record[key] = event[key]
    ident = event.get("SFZH") or event.get("KH") or event.get("id")
    record["subject"] = subject(ident, settings.audit_key)
    return record


class FleetBridge:
    def __init__(self, manager, router, settings, log):
        self.manager = manager
        self.settings = settings
        self.options = settings.broker
        self.log = log
        self.queue = AuditQueue(settings.queue_path)
        self.client = None
        self.index = None
        self.deltas = {}              # version -> (header, bytes)
        self.snapshot = None          # (header, bytes) while subscribed to it
        self.snapshot_wanted = False
        self.pushes = []              # (reader, kind, version, ok): the log of pushes
        self.sent = 0                 # audit events acknowledged by the broker
        self.refused = 0
        self.connected = asyncio.Event()
        self._syncing = {}            # reader id -> task
        self._force_snapshot = set()
        self._failed_snapshot = {}    # reader id -> snapshot version it refused
        self._wake = asyncio.Event()
        self._tasks = set()
        self._task = None
        self._sync_handle = None
        self._stopping = False
        router.listeners.append(self.on_event)
        for reader in manager.readers.values():
            reader.on_change.append(self._reader_changed)

    # -- topics -----------------------------------------------------------------------------
    def _bridge_topic(self):
        s = self.settings
        return topics.bridge_state(s.region, s.hospital, s.bridge)

    def _bridge_payload(self, online, why=None):
        s = self.settings
        out = {"v": topics.PAYLOAD_VERSION, "region": s.region, "hospital": s.hospital,
               "bridge": s.bridge, "online": online, "time": round(time.time(), 3)}
        if online:
            out["readers"] = sorted(self.manager.readers)
        if why:
            out["why"] = why
        return json.dumps(out).encode()

    def health_payload(self, reader):
        s = self.settings
        device = reader.device or {}
        state = reader.blacklist_state() or {}
        blacklist = {k: state[k] for k in ("installed", "version", "count", "stale", "age_s",
                                           "issued", "error") if k in state} or None
        return {"v": topics.PAYLOAD_VERSION, "region": s.region, "hospital": s.hospital,
                "bridge": s.bridge, "reader": reader.id, "state": reader.state,
                "connected": reader.state == CONNECTED, "since": round(reader.since, 3),
                "selftest_ok": device.get("selftest_ok"), "firmware": device.get("firmware"),
                "board": device.get("board"), "blacklist": blacklist,
                "time": round(time.time(), 3)}

    # -- life -------------------------------------------------------------------------------
    async def start(self):
        self._task = asyncio.get_running_loop().create_task(self._run(), name="fleet")

    async def stop(self):
        self._stopping = True
        client = self.client
        if client is not None:
            try:
                await asyncio.wait_for(client.publish_acked(
                    self._bridge_topic(), self._bridge_payload(False, "stopped"), retain=True,
                    properties=json_properties()), 2)
            except Exception:  # noqa: BLE001 - stopping anyway; the will says offline
                pass
        for task in [self._task, *self._tasks, *self._syncing.values()]:
            if task is not None:
                task.cancel()
        for task in [self._task, *self._tasks, *self._syncing.values()]:
            if task is not None:
                try:
                    await task
                except (asyncio.CancelledError, Exception):  # noqa: BLE001
                    pass
        self.queue.close()

    def _spawn(self, coro, name):
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task):
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None \
                and not isinstance(task.exception(), aiomqtt.MqttError):
            self.log.warning("fleet task failed", extra={"fields": {
                "task": task.get_name(), "error": repr(task.exception())}})

    async def _run(self):
        s = self.settings
        wait = RETRY_MIN
        will = aiomqtt.Will(self._bridge_topic(), self._bridge_payload(False, "connection lost"),
                            qos=1, retain=True, properties=json_properties())
        while not self._stopping:
            try:
                client = self.options.client(f"hcterm-bridge-{s.region}-{s.hospital}-{s.bridge}",
                                             will=will, keepalive=30, timeout=10)
                async with client:
                    wait = RETRY_MIN
                    await self._connected(client)
                    async for message in client.messages:
                        self._on_message(message)
            except asyncio.CancelledError:
                raise
            except (aiomqtt.MqttError, PublishRefused, OSError) as error:
                refused = isinstance(error, PublishRefused)
                if refused:
                    self.refused += 1
                    wait = REFUSED_RETRY
                (self.log.error if refused else self.log.warning)("mqtt", extra={"fields": {
                    "error": describe_error(error, self.options),
                    "queued_audit": len(self.queue)}})
            finally:
                self.client = None
                self.connected.clear()
                for task in list(self._tasks):
                    if task.get_name() in ("audit", "health-timer"):
                        task.cancel()
            if self._stopping:
                return
            await asyncio.sleep(wait)
            wait = min(RETRY_MAX, wait * 2) if wait < REFUSED_RETRY else RETRY_MIN

    async def _connected(self, client):
        s = self.settings
        self.client = client
        self.snapshot = None
        await client.publish_acked(self._bridge_topic(), self._bridge_payload(True),
                                   retain=True, properties=json_properties())
        await client.subscribe(topics.blacklist_index(s.region), qos=1)
        await client.subscribe(topics.blacklist_deltas(s.region), qos=1)
        if self.snapshot_wanted:
            await client.subscribe(topics.blacklist_snapshot(s.region), qos=1)
        self.log.info("mqtt connected", extra={"fields": {
            "broker": self.options.url, "region": s.region, "hospital": s.hospital,
            "bridge": s.bridge, "queued_audit": len(self.queue)}})
        self.connected.set()
        for reader in self.manager.readers.values():
            self._spawn(self._publish_health(reader), "health")
        self._spawn(self._send_audit(client), "audit")
        self._spawn(self._health_timer(), "health-timer")

    # -- reader health ------------------------------------------------------------------------
    def _reader_changed(self, reader):
        if self.client is not None:
            self._spawn(self._publish_health(reader), "health")
        self._sync_soon()

    async def _publish_health(self, reader):
        client = self.client
        if client is None:
            return
        s = self.settings
        await client.publish_acked(topics.health(s.region, s.hospital, s.bridge, reader.id),
                                   json.dumps(self.health_payload(reader)).encode(), qos=1,
                                   retain=True, properties=json_properties())

    async def _health_timer(self):
        while True:
            await asyncio.sleep(HEALTH_INTERVAL)
            for reader in self.manager.readers.values():
                await self._publish_health(reader)

    # -- tap audit ----------------------------------------------------------------------------
    def on_event(self, event):
        """EventRouter listener: every tap, QR scan and refusal (and failed tap) to the
        disk queue, then to the broker."""
        if event.get("type") not in AUDIT_TYPES:
            return
        s = self.settings
        record = audit_record(event, s)
        self.queue.put(topics.audit(s.region, s.hospital, s.bridge),
                       json.dumps(record).encode())
        self._wake.set()

    async def _send_audit(self, client):
        properties = json_properties()
        while True:
            rows = self.queue.oldest(AUDIT_BATCH)
            if not rows:
                self._wake.clear()
                await self._wake.wait()
                continue
            results = await asyncio.gather(*(
                client.publish_acked(topic, payload, qos=1, properties=properties)
                for _, topic, payload in rows), return_exceptions=True)
            acked = [row[0] for row, r in zip(rows, results) if r is None]
            self.queue.done(acked)
            self.sent += len(acked)
            errors = [r for r in results if r is not None]
            if not errors:
                continue
            refused = [e for e in errors if isinstance(e, PublishRefused)]
            if len(refused) < len(errors):
                raise next(e for e in errors if not isinstance(e, PublishRefused))
            self.refused += len(refused)
            self.log.error("audit refused", extra={"fields": {
                "error": describe_error(refused[0], self.options) + "; the events stay "
                         "queued",
                "queued_audit": len(self.queue)}})
            await asyncio.sleep(REFUSED_RETRY)

    # -- blacklists ---------------------------------------------------------------------------
    def _on_message(self, message):
        parts = topics.parse(str(message.topic))
        if parts is None or parts["region"] != self.settings.region:
            return
        payload = message.payload if isinstance(message.payload, (bytes, bytearray)) else \
            (str(message.payload).encode() if message.payload is not None else b"")
        payload = bytes(payload)
        kind = parts["kind"]
        try:
            if kind == "index":
                self.index = json.loads(payload) if payload else None
            elif kind == "delta":
                if not payload:
                    self.deltas.pop(parts["version"], None)
                else:
                    h = bf.header(payload)
                    if h["kind"] != 2 or h["version"] != parts["version"]:
                        raise bf.ListError(f"the file is a {'list' if h['kind'] == 1 else 'delta'}"
                                           f" of version {h['version']}")
                    self.deltas[h["version"]] = (h, payload)
            elif kind == "snapshot":
                if payload:
                    h = bf.header(payload)
                    if h["kind"] != 1:
                        raise bf.ListError("the file is a delta")
                    self.snapshot = (h, payload)
            else:
                return
        except (ValueError, bf.ListError) as error:
            self.log.warning("blacklist message ignored", extra={"fields": {
                "topic": str(message.topic), "error": str(error)}})
            return
        self._sync_soon()

    def target(self):
        versions = [v for v in self.deltas]
        if self.index and isinstance(self.index.get("version"), int):
            versions.append(self.index["version"])
        if self.snapshot:
            versions.append(self.snapshot[0]["version"])
        return max(versions) if versions else None

    def _chain(self, version, target):
        by_base = {}
        for h, data in sorted(self.deltas.values(), key=lambda x: x[0]["version"]):
            by_base[h["base_version"]] = (h, data)
        out = []
        while version < target:
            step = by_base.get(version)
            if step is None:
                return None
            out.append(step)
            version = step[0]["version"]
        return out

    def plan(self, version, target, snapshot_only=False):
        """The files that bring a reader at `version` to `target`: the deltas from its
        version, else the snapshot and the deltas after it; None: the snapshot is needed
        and not here (yet)."""
        if not snapshot_only:
            chain = self._chain(version, target)
            if chain is not None:
                return chain
        if self.snapshot is None:
            return None
        head = self.snapshot[0]["version"]
        if head <= version:
            return []                 # the deltas in between are gone and no newer snapshot
        return [self.snapshot] + (self._chain(head, target) or [])

    def _sync_soon(self):
        if self._stopping:
            return
        loop = asyncio.get_running_loop()
        if self._sync_handle is not None:
            self._sync_handle.cancel()
        self._sync_handle = loop.call_later(SYNC_DELAY, self._sync)

    def _sync(self):
        self._sync_handle = None
        target = self.target()
        if target is None:
            return
        need_snapshot = False
        for reader in self.manager.readers.values():
            status = reader.blacklist
            if reader.state != CONNECTED or not status or "error" in status:
                continue
            task = self._syncing.get(reader.id)
            if task is not None and not task.done():
                continue
            version = status.get("version", 0) if status.get("installed") else 0
            if version >= target:
                self._force_snapshot.discard(reader.id)
                continue
            steps = self.plan(version, target, reader.id in self._force_snapshot)
            if steps is None:
                need_snapshot = True
                continue
            if steps and steps[0][0]["kind"] == 1 and \
                    self._failed_snapshot.get(reader.id) == steps[0][0]["version"]:
                continue              # it refused this very snapshot: wait for a new one
            if steps:
                self._syncing[reader.id] = asyncio.get_running_loop().create_task(
                    self._install(reader, steps), name=f"blacklist:{reader.id}")
        busy = any(not t.done() for t in self._syncing.values())
        if need_snapshot != self.snapshot_wanted and (need_snapshot or not busy):
            self.snapshot_wanted = need_snapshot
            if not need_snapshot:
                self.snapshot = None  # not kept: the next one comes when needed
            if self.client is not None:
                self._spawn(self._snapshot_subscription(self.client, need_snapshot),
                            "snapshot-subscription")

    async def _snapshot_subscription(self, client, want):
        topic = topics.blacklist_snapshot(self.settings.region)
        if want:
            await client.subscribe(topic, qos=1)
        else:
            await client.unsubscribe(topic)

    async def _install(self, reader, steps):
        try:
            for h, data in steps:
                kind = "list" if h["kind"] == 1 else "delta"
                started = time.monotonic()
                try:
                    status = await reader.push_blacklist(data)
                except (ReaderError, bf.ListError) as error:
                    self.pushes.append((reader.id, kind, h["version"], False))
                    self.log.warning("blacklist push failed", extra={"fields": {
                        "reader": reader.id, "kind": kind, "version": h["version"],
                        "error": str(error)}})
                    refused = isinstance(error, (DeviceError, bf.ListError))
                    if refused and kind == "delta":
                        self._force_snapshot.add(reader.id)
                    elif refused:
                        self._failed_snapshot[reader.id] = h["version"]
                    return
                self.pushes.append((reader.id, kind, h["version"], True))
                self.log.info("blacklist installed", extra={"fields": {
                    "reader": reader.id, "kind": kind, "version": status.get("version"),
                    "count": status.get("count"), "already": bool(status.get("already")),
                    "s": round(time.monotonic() - started, 3)}})
                if kind == "list":
                    self._force_snapshot.discard(reader.id)
        finally:
            self._sync_soon()
