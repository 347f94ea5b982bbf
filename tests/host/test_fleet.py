"""The fleet on a real Mosquitto (docs/fleet.md; docs/fleet/mosquitto.conf and acl): bridges in
front of virtual readers, the platform publishing signed lists and deltas, the audit stream,
reader health and the will, the ACL, a broker restart."""

import asyncio
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiomqtt
import pytest
from support.mosquitto import Mosquitto

from hcterm import blacklist_files as bf
from hcterm.bridge.app import KEY_FLEET, create_app, start_site
from hcterm.bridge.logs import bridge_logger
from hcterm.commands.demo import provision_demo_key
from hcterm.emulator import samples
from hcterm.fleet import topics
from hcterm.fleet.bridge import FleetSettings, audit_record
from hcterm.fleet.mqtt import BrokerOptions, PublishRefused
from hcterm.fleet.platform import Watcher, publish_blacklist
from hcterm.sim.virtualreader import VirtualReader
from reader.cards.idnumber import check_character

REGION = "4101"
KEY = samples.DEMO_PLATFORM_KEY
DOC = Path(__file__).resolve().parents[2] / "docs" / "fleet.md"


def ids(n, offset=0):
    out = []
    for i in range(offset, offset + n):
        first = f"410105{1960 + i % 50:04d}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
        out.append(first + check_character(first))
    return out


def entries(n, offset=0):
    return bf.read_list("\n".join(ids(n, offset)))


def broker(m, user):
    return BrokerOptions.make(m.url, user=user, password_file=m.password_file(user))


class FleetBridge:
    """A bridge app (hcterm.bridge with --mqtt) in the test's loop."""

    def __init__(self, m, port, hospital, bridge, queue, user=None, key=None):
        user = user or f"h-{REGION}-{hospital}"
        self.log = io.StringIO()
        settings = FleetSettings(broker(m, user), REGION, hospital, bridge, str(queue), key)
        self.app = create_app([port], "fleet-token", log=bridge_logger(self.log),
                              fleet=settings)

    async def __aenter__(self):
        self.runner, self.url = await start_site(self.app)
        return self

    async def __aexit__(self, *exc):
        await self.runner.cleanup()

    @property
    def fleet(self):
        return self.app[KEY_FLEET]

    @property
    def reader(self):
        return self.fleet.manager.readers["r1"]


async def until(check, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        await asyncio.sleep(0.05)


class Platform:
    """The platform's watcher and a persistent audit consumer (QoS 1, session kept)."""

    def __init__(self, m):
        self.m = m
        self.watcher = Watcher()
        self.audit = []
        self.task = None

    async def start(self, clean=True):
        ready = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run(ready, clean))
        await asyncio.wait_for(ready.wait(), 10)

    async def _run(self, ready, clean):
        from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY

        options = broker(self.m, "platform")
        while True:
            try:
                async with options.client("platform-audit", clean_start=(
                        MQTT_CLEAN_START_FIRST_ONLY if clean else False),
                        session_expiry=3600) as client:
                    await self.watcher.subscribe(client)
                    ready.set()
                    async for message in client.messages:
                        payload = bytes(message.payload or b"")
                        self.watcher.feed(str(message.topic), payload)
                        if "/audit/" in str(message.topic):
                            self.audit.append(json.loads(payload))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    async def stop(self):
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass

    def reader(self, hospital, bridge):
        return self.watcher.readers.get((REGION, hospital, bridge, "r1"), {})

    def version(self, hospital, bridge):
        return ((self.reader(hospital, bridge).get("blacklist") or {}).get("version"))


def boot(tmp_path, name):
    vr = VirtualReader(flash=tmp_path / f"{name}.img").start()
    with vr.open_reader(open_timeout=30, timeout=10) as reader:
        provision_demo_key(reader)
    return vr


def test_deltas_reach_every_reader_and_a_bridge_offline_catches_up(tmp_path):
    """Two hospitals, a bridge and a virtual reader each: the first list (snapshot), a delta
    to both live; bridge B stopped during two deltas catches up with those two deltas; the
    watcher's health shows every reader's version; taps are audited without the ID number;
    a dead bridge (killed) shows offline through its will."""

    async def scenario(m, vr_a, vr_b):
        platform = Platform(m)
        await platform.start()
        v1 = await publish_blacklist(broker(m, "platform"), REGION, KEY, entries(300), keep=8)
        assert v1["version"] == 1 and "delta_bytes" not in v1
        async with FleetBridge(m, vr_a.port, "0001", "ws-a", tmp_path / "qa.sqlite") as a:
            b = FleetBridge(m, vr_b.port, "0002", "ws-b", tmp_path / "qb.sqlite")
            async with b:
                # readers without a list: each bridge fetches the snapshot
                await until(lambda: platform.version("0001", "ws-a") == 1 and
                            platform.version("0002", "ws-b") == 1, 30, "version 1")
                assert ("r1", "list", 1, True) in a.fleet.pushes
                await until(lambda: not a.fleet.snapshot_wanted, 5,   # not kept once
                            "the snapshot unsubscribed")              # installed
                out = await publish_blacklist(broker(m, "platform"), REGION, KEY,
                                              entries(290, 5))
                assert out["version"] == 2 and out["delta_bytes"] < 600, out
                await until(lambda: platform.version("0001", "ws-a") == 2 and
                            platform.version("0002", "ws-b") == 2, 20, "version 2")
                assert b.fleet.pushes[-1] == ("r1", "delta", 2, True)
                health = platform.reader("0002", "ws-b")
                assert health["v"] == 1 and health["connected"] is True, health
                assert health["selftest_ok"] is True and health["firmware"], health
                assert health["blacklist"]["count"] == 290 and not health["blacklist"]["stale"]
            # bridge B stopped: its state says offline (a clean stop)
            await until(lambda: platform.watcher.bridges.get((REGION, "0002", "ws-b"), {})
                        .get("online") is False, 10, "bridge B offline")
            for n in (3, 4):
                await publish_blacklist(broker(m, "platform"), REGION, KEY,
                                        entries(290 + n, 5))
            await until(lambda: platform.version("0001", "ws-a") == 4, 20, "A at 4")
            b = FleetBridge(m, vr_b.port, "0002", "ws-b", tmp_path / "qb.sqlite")
            async with b:
                await until(lambda: b.reader.blacklist and b.reader.blacklist.get("version")
                            == 4, 30, "B caught up")
                assert [p for p in b.fleet.pushes] == [("r1", "delta", 3, True),
                                                        ("r1", "delta", 4, True)]
                await until(lambda: platform.version("0002", "ws-b") == 4, 10, "B health")
                # taps: audited, hospital and reader named, the ID number never in clear
                vr_a.devices.tap("adult")
                await until(lambda: any(e["type"] == "tap" for e in platform.audit), 15,
                            "an audited tap")
                vr_a.devices.remove()
            summary = platform.watcher.summary()
            assert summary[f"{REGION}/0001"]["readers_connected"] == 1, summary
            assert summary[f"{REGION}/0001"]["blacklist_versions"] == {"4": 1}, summary
            assert summary[f"{REGION}/0001"]["taps_per_min"] >= 1
        tap = next(e for e in platform.audit if e["type"] == "tap")
        assert (tap["v"], tap["hospital"], tap["bridge"], tap["reader"], tap["status"]) == \
            (1, "0001", "ws-a", "r1", "ok"), tap
        assert tap["latency_ms"] > 0 and re.fullmatch(r"[0-9a-f]{32}", tap["id"])
        assert tap["subject"] == "masked:410105********4213", tap
        assert "410105198503154213" not in json.dumps(platform.audit)
        await platform.stop()

    with Mosquitto(tmp_path / "broker") as m:
        vr_a, vr_b = boot(tmp_path, "a"), boot(tmp_path, "b")
        try:
            asyncio.run(asyncio.wait_for(scenario(m, vr_a, vr_b), 120))
        finally:
            vr_a.stop()
            vr_b.stop()


def test_a_broker_restart_loses_no_audit_event_and_acl_confines_a_hospital(tmp_path):
    """Taps while the broker is down wait in the bridge's disk queue and arrive once it is
    back (the persistent consumer gets every id once); a bridge with hospital 0001's
    credentials can publish neither hospital 0002's taps nor a blacklist."""

    async def scenario(m, vr):
        platform = Platform(m)
        await platform.start(clean=False)
        key = b"hospital-0001-audit-key-0123456789"
        async with FleetBridge(m, vr.port, "0001", "ws-a", tmp_path / "qa.sqlite",
                               key=key) as a:
            await until(lambda: a.fleet.connected.is_set() and a.reader.state ==
                        "connected", 20, "bridge connected")

            def taps(n):
                for _ in range(n):
                    vr.devices.tap("adult")
                    time.sleep(0.3)
                    vr.devices.remove()
                    time.sleep(0.1)

            await asyncio.to_thread(taps, 2)
            await until(lambda: len(platform.audit) >= 2, 15, "2 audit events")
            m.stop()
            await until(lambda: not a.fleet.connected.is_set(), 10, "bridge sees no broker")
            await asyncio.to_thread(taps, 3)
            await until(lambda: len(a.fleet.queue) >= 3, 10, "3 events queued on disk")
            m.start()
            await until(lambda: len({e["id"] for e in platform.audit}) >= 5, 30,
                        "all 5 audit events")
            await until(lambda: len(a.fleet.queue) == 0, 10, "the queue emptied (acked)")
            assert all(e["subject"].startswith("hmac:") for e in platform.audit)

        # hospital 0001's credentials, posing as 0002: every audit event refused, queued
        async with FleetBridge(m, vr.port, "0002", "ws-x", tmp_path / "qx.sqlite",
                               user="h-4101-0001") as x:
            await until(lambda: x.reader.state == "connected", 20, "reader")
            await asyncio.to_thread(taps, 1)
            await until(lambda: x.fleet.refused >= 1, 15, "the broker's refusal")
            assert len(x.fleet.queue) >= 1           # kept, not lost
            assert "refused user h-4101-0001 a message to hc/4101/hospital/0002/" in \
                x.log.getvalue() and "check that --region and --hospital" in x.log.getvalue()
        assert not [e for e in platform.audit if e["hospital"] == "0002"]
        # nor can it publish a blacklist (signed or not)
        with pytest.raises(PublishRefused):
            await publish_blacklist(broker(m, "h-4101-0001"), REGION, KEY, entries(5))
        async with broker(m, "h-4101-0001").client("h1-raw") as client:
            with pytest.raises(PublishRefused, match="Not authorized"):
                await client.publish_acked(topics.blacklist_snapshot(REGION), b"HCBL...",
                                           retain=True)
        await platform.stop()

    with Mosquitto(tmp_path / "broker") as m:
        vr = boot(tmp_path, "a")
        try:
            asyncio.run(asyncio.wait_for(scenario(m, vr), 90))
        finally:
            vr.stop()


def test_a_killed_bridge_shows_offline_by_its_will(tmp_path):
    """`hcterm bridge --mqtt …` as a process, killed: the broker publishes its will."""

    async def scenario(m, proc):
        platform = Platform(m)
        await platform.start()
        state = lambda: platform.watcher.bridges.get((REGION, "0001", "ws-k"), {})  # noqa
        await until(lambda: state().get("online") is True, 30, "bridge online")
        await until(lambda: platform.reader("0001", "ws-k").get("connected"), 30, "reader")
        proc.send_signal(signal.SIGKILL)
        await until(lambda: state().get("online") is False, 10, "the will")
        assert state()["why"] == "connection lost"
        assert platform.watcher.summary()[f"{REGION}/0001"]["readers_offline"] == 1
        await platform.stop()

    with Mosquitto(tmp_path / "broker") as m, \
            VirtualReader(flash=tmp_path / "k.img") as vr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hcterm.cli", "bridge", "--port", vr.port, "--listen",
             "127.0.0.1:0", "--token", "t", "--mqtt", m.url, "--mqtt-user", "h-4101-0001",
             "--mqtt-password-file", m.password_file("h-4101-0001"), "--region", REGION,
             "--hospital", "0001", "--bridge-id", "ws-k", "--audit-queue",
             str(tmp_path / "qk.sqlite")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            asyncio.run(asyncio.wait_for(scenario(m, proc), 60))
        finally:
            proc.kill()
            proc.wait()


def test_cli_errors_say_what_to_do(tmp_path):
    def hcterm(*args):
        return subprocess.run([sys.executable, "-m", "hcterm.cli", *args],
                              capture_output=True, text=True, timeout=60)

    r = hcterm("bridge", "--port", "/nonexistent", "--mqtt", "mqtt://127.0.0.1:1")
    assert r.returncode == 2 and "--mqtt needs --region R and --hospital H" in r.stderr
    r = hcterm("bridge", "--port", "/x", "--region", "4101")
    assert r.returncode == 2 and "give --mqtt URL too" in r.stderr
    r = hcterm("bridge", "--port", "/x", "--mqtt", "http://b", "--region", "1",
               "--hospital", "2")
    assert r.returncode == 2 and "expected mqtt://HOST[:PORT]" in r.stderr
    r = hcterm("bridge", "--port", "/x", "--mqtt", "mqtt://b", "--region", "a/b",
               "--hospital", "2")
    assert r.returncode == 2 and "level of the MQTT topics" in r.stderr
    r = hcterm("platform", "publish-blacklist", "--mqtt", "mqtt://127.0.0.1:1", "--region",
               "4101", "--list", "x.txt")
    assert r.returncode == 2 and "--list needs --key" in r.stderr, r.stderr
    r = hcterm("platform", "watch", "--mqtt", "mqtt://127.0.0.1:1", "--duration", "1")
    assert r.returncode == 1 and "cannot reach the broker mqtt://127.0.0.1:1" in r.stderr
    assert "Traceback" not in r.stderr


def test_fleet_md_examples_are_the_formats():
    """docs/fleet.md's payload examples: what the code makes (member names and the version),
    and its topics parse to what the doc says."""
    text = DOC.read_text()
    blocks = dict(re.findall(r"```json fleet-(\S+)\n(.*?)```", text, re.S))
    assert {"audit", "health", "bridge", "index"} <= set(blocks), blocks.keys()
    settings = FleetSettings(BrokerOptions.make("mqtt://b"), REGION, "0001", "ws-a", "/q")
    made = audit_record({"type": "tap", "reader": "r1", "time": 1.0, "status": "refused",
                         "reason": "blacklisted", "latency_ms": 80.1,
                         "SFZH": "410105198503154213"}, settings)
    doc = json.loads(blocks["audit"])
    assert set(doc) == set(made) and doc["v"] == made["v"] == 1
    assert doc["subject"] == made["subject"] == "masked:410105********4213"
    for name in ("health", "bridge", "index"):
        assert json.loads(blocks[name])["v"] == 1
    from hcterm.bridge.readers import ManagedReader
    from hcterm.fleet.bridge import FleetBridge as Fleet

    reader = ManagedReader("r1", "/nonexistent", lambda *a: None)
    health = Fleet.health_payload(type("F", (), {"settings": settings})(), reader)
    assert set(health) == set(json.loads(blocks["health"])), health
    for topic, kind in re.findall(r"^- `(hc/\S+)`: (\w+)", text, re.M):
        assert topics.parse(topic)["kind"] == kind, topic


def test_bench_fleet_small_run():
    r = subprocess.run([sys.executable, "-m", "hcterm.cli", "bench", "fleet", "--bridges", "20",
                        "--virtual-readers", "1", "--audit-events", "3", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout)
    assert result["readers_updated"] == result["readers"] == 21, result
    assert (result["audit_events_lost"], result["audit_duplicates"]) == (0, 0), result
    assert result["audit_events_sent"] == 20 * 3 + 2
    assert 0 < result["delta_to_all_p50_s"] <= result["delta_to_all_p99_s"] < 30
    assert result["broker_msgs_per_s"] > 0 and result["delta_bytes"] > 0


def _tls_files(folder):
    """A self-signed CA and a broker certificate for localhost/127.0.0.1 (cryptography)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    week = datetime.timedelta(days=7)

    def cert(subject, key, issuer, issuer_key, ca, names=()):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - week).not_valid_after(now + week)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if names:
            b = b.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hcterm test CA")])
    ca = cert(ca_name, ca_key, ca_name, ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    server = cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]), key,
                  ca_name, ca_key, False, [x509.DNSName("localhost"),
                                           x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    pem = serialization.Encoding.PEM
    (folder / "ca.crt").write_bytes(ca.public_bytes(pem))
    (folder / "broker.crt").write_bytes(server.public_bytes(pem))
    (folder / "broker.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "another CA")])
    (folder / "other-ca.crt").write_bytes(
        cert(other_name, other_key, other_name, other_key, True).public_bytes(pem))


def test_tls_with_the_brokers_ca_and_not_without(tmp_path):
    from support.mosquitto import free_port

    from hcterm.fleet.mqtt import describe_error

    certs = tmp_path / "certs"
    certs.mkdir()
    _tls_files(certs)
    port = free_port()
    extra = (f"listener {port} 127.0.0.1\ncafile {certs}/ca.crt\ncertfile {certs}/broker.crt\n"
             f"keyfile {certs}/broker.key\n")

    async def scenario():
        options = BrokerOptions.make(f"mqtts://localhost:{port}", ca=str(certs / "ca.crt"),
                                     user="platform", password_file=m.password_file("platform"))
        assert options.tls
        out = await publish_blacklist(options, REGION, KEY, entries(5))
        assert out["version"] == 1
        wrong = BrokerOptions.make(f"mqtts://localhost:{port}", ca=str(certs / "other-ca.crt"),
                                   user="platform", password_file=m.password_file("platform"))
        with pytest.raises(Exception) as error:   # noqa: B017 - its text is checked
            async with wrong.client("wrong-ca"):
                pass
        assert "TLS to mqtts://localhost" in describe_error(error.value, wrong)

    with Mosquitto(tmp_path / "broker", extra=extra) as m:
        asyncio.run(asyncio.wait_for(scenario(), 30))
