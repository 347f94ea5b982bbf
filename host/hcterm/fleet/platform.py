"""The card management platform's side of the fleet (docs/fleet.md):

- publish_blacklist: sign and publish a region's new list (the retained snapshot, and a
  delta from the snapshot the broker holds, kept under its version with the last K) or a
  delta signed elsewhere; then the region's retained index;
- Watcher: the fleet's state from the retained bridge and reader health messages and the
  audit stream: per hospital, bridges online, readers connected, stale lists, the blacklist
  versions held, taps per minute.
"""

import asyncio
import json
import time
import uuid

from .. import blacklist_files as bf
from . import topics
from .mqtt import binary_properties, json_properties

RETAINED_WAIT = 1.0      # seconds to wait for a retained message that may not exist
SNAPSHOT_WAIT = 30.0     # for one the index says exists
DEFAULT_KEEP = 8         # deltas kept retained: a bridge up to 8 versions behind gets deltas


class PlatformError(Exception):
    """What failed and what to do."""


async def _retained(client, topic, wait):
    """The retained payload of `topic` (bytes), or None when none came within `wait`."""
    await client.subscribe(topic, qos=1)
    try:
        async with asyncio.timeout(wait):
            async for message in client.messages:
                if str(message.topic) == topic:
                    return bytes(message.payload) if message.payload else None
    except TimeoutError:
        return None
    finally:
        await client.unsubscribe(topic)


async def region_state(client, region, public_key=None):
    """(index dict or None, snapshot bytes or None) as retained on the broker; the snapshot
    checked against the platform's public key when given."""
    raw = await _retained(client, topics.blacklist_index(region), RETAINED_WAIT)
    index = json.loads(raw) if raw else None
    snapshot = None
    if index and index.get("snapshot"):
        snapshot = await _retained(client, topics.blacklist_snapshot(region), SNAPSHOT_WAIT)
        if snapshot is None:
            raise PlatformError(f"the index of region {region} names snapshot version "
                                f"{index['snapshot']} but the broker holds no snapshot: "
                                "publish a full list (--list) again")
        if public_key is not None:
            ok, why = bf.verify(snapshot, public_key)
            if not ok:
                raise PlatformError(f"the snapshot retained for region {region} does not "
                                    f"verify with this key ({why}): was it published with "
                                    "another key? (check --key and --region)")
    return index, snapshot


def _index(region, version, snapshot_version, deltas, snapshot_bytes):
    return {"v": topics.PAYLOAD_VERSION, "region": region, "version": version,
            "snapshot": snapshot_version, "snapshot_bytes": snapshot_bytes,
            "deltas": deltas, "time": round(time.time(), 3)}


async def publish_blacklist(options, region, private_key, entries=None, delta=None,
                            version=None, keep=DEFAULT_KEEP, expires=0):
    """Publish a new list (`entries`: blacklist_files.Entries) or a signed `delta` (bytes).
    Returns a summary dict: version, snapshot_bytes, delta_bytes, deltas kept, removed."""
    from ..platform_signing import public_key as public_of

    public = public_of(private_key) if private_key else None
    identifier = f"hcterm-platform-{uuid.uuid4().hex[:8]}"
    async with options.client(identifier, timeout=30) as client:
        index, snapshot = await region_state(client, region, public)
        current = index["version"] if index else 0
        kept = list(index.get("deltas", [])) if index else []
        out = {"region": region, "previous": current}
        if delta is not None:
            h = bf.header(delta)
            if h["kind"] != 2:
                raise PlatformError("--delta: the file is a full list: give it with --list")
            if public is not None:
                ok, why = bf.verify(delta, public)
                if not ok:
                    raise PlatformError(f"--delta: {why}: sign it with the platform's key "
                                        "(hcterm blacklist sign)")
            elif delta[160:224] == bytes(64):
                raise PlatformError("--delta: not signed: sign it (hcterm blacklist sign) or "
                                    "give --key")
            if h["base_version"] != current:
                raise PlatformError(f"--delta applies to version {h['base_version']}, the "
                                    f"region {region} is at version {current}: make the delta "
                                    f"from version {current}'s list, or publish a full list")
            version, delta_data, snapshot_version = h["version"], delta, \
                (index or {}).get("snapshot")
            snapshot_bytes = (index or {}).get("snapshot_bytes")
            new_list = None
        else:
            version = version or current + 1
            if version <= current:
                raise PlatformError(f"--version {version}: the region {region} is at version "
                                    f"{current}; a list never rolls back: give a higher one")
            new_list = bf.sign(bf.build_list(entries, version, expires=expires), private_key)
            delta_data = None
            if snapshot is not None and bf.header(snapshot)["version"] == current:
                delta_data = bf.sign(bf.build_delta(snapshot, entries, version,
                                                    expires=expires), private_key)
            snapshot_version, snapshot_bytes = version, len(new_list)
        out["published_at"] = time.time()
        if delta_data is not None:
            await client.publish_acked(topics.blacklist_delta(region, version), delta_data,
                                       qos=1, retain=True, properties=binary_properties(
                                           version=version, kind="delta",
                                           base=bf.header(delta_data)["base_version"]))
            kept.append(version)
            out["delta_bytes"] = len(delta_data)
        if new_list is not None:
            await client.publish_acked(topics.blacklist_snapshot(region), new_list, qos=1,
                                       retain=True, properties=binary_properties(
                                           version=version, kind="list"))
            out["snapshot_bytes"] = len(new_list)
        removed = kept[:-keep] if keep and len(kept) > keep else []
        kept = kept[len(removed):]
        await client.publish_acked(topics.blacklist_index(region), json.dumps(_index(
            region, version, snapshot_version, kept, snapshot_bytes)).encode(), qos=1,
            retain=True, properties=json_properties())
        for old in removed:               # an empty retained message deletes it
            await client.publish_acked(topics.blacklist_delta(region, old), b"", qos=1,
                                       retain=True)
        out.update(version=version, deltas=kept, removed=removed)
        h = bf.header(new_list if new_list is not None else delta_data)
        out["count"] = h["count"]
        return out


class Watcher:
    """The fleet's state from the broker (hc/+/hospital/+/… as the platform's user)."""

    FILTERS = ("hc/+/hospital/+/bridge/+", "hc/+/hospital/+/health/+/+",
               "hc/+/hospital/+/audit/+")

    def __init__(self, window=60.0):
        self.bridges = {}      # (region, hospital, bridge) -> payload
        self.readers = {}      # (region, hospital, bridge, reader) -> payload
        self.taps = {}         # (region, hospital) -> [times]
        self.seen = set()      # audit ids (duplicates dropped)
        self.duplicates = 0
        self.window = window

    async def subscribe(self, client):
        for f in self.FILTERS:
            await client.subscribe(f, qos=1)

    def feed(self, topic, payload):
        parts = topics.parse(topic)
        if parts is None or not payload:
            return
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if parts["kind"] == "bridge":
            self.bridges[(parts["region"], parts["hospital"], parts["bridge"])] = data
        elif parts["kind"] == "health":
            self.readers[(parts["region"], parts["hospital"], parts["bridge"],
                          parts["reader"])] = data
        elif parts["kind"] == "audit":
            if data.get("id") in self.seen:
                self.duplicates += 1
                return
            self.seen.add(data.get("id"))
            self.taps.setdefault((parts["region"], parts["hospital"]), []).append(time.time())

    def summary(self, now=None):
        now = now or time.time()
        out = {}

        def hospital(region, name):
            return out.setdefault(f"{region}/{name}", {
                "bridges": 0, "bridges_online": 0, "readers": 0, "readers_connected": 0,
                "readers_offline": 0, "stale": 0, "selftest_failed": 0,
                "blacklist_versions": {}, "taps_per_min": 0.0})

        for (region, name, _), data in self.bridges.items():
            h = hospital(region, name)
            h["bridges"] += 1
            h["bridges_online"] += bool(data.get("online"))
        for (region, name, bridge, _), data in self.readers.items():
            h = hospital(region, name)
            h["readers"] += 1
            online = self.bridges.get((region, name, bridge), {}).get("online", True)
            if data.get("connected") and online:
                h["readers_connected"] += 1
            else:
                h["readers_offline"] += 1
            blacklist = data.get("blacklist") or {}
            if blacklist.get("stale"):
                h["stale"] += 1
            if data.get("selftest_ok") is False:
                h["selftest_failed"] += 1
            v = str(blacklist.get("version", 0) if blacklist.get("installed") else "none")
            h["blacklist_versions"][v] = h["blacklist_versions"].get(v, 0) + 1
        for (region, name), times in self.taps.items():
            times[:] = [t for t in times if now - t <= self.window]
            hospital(region, name)["taps_per_min"] = round(len(times) * 60.0 / self.window, 1)
        return out
