"""The bridge against bad input and bad clients: every error in the JSON shape with an action
(aiohttp's own 400/404/405/413/500 too), bodies checked before a reader sees them, the Host
allow-list (DNS rebinding), masked log lines (aiohttp's included), client timeouts, and each
reader served on its own (a hung reader times out alone)."""

import asyncio
import io
import json
import os
import re
import signal
import subprocess
import sys
import time

import aiohttp
import pytest

from hcterm.bridge.app import KEY_MANAGER, create_app, parse_host, start_site
from hcterm.bridge.logs import bridge_logger
from hcterm.bridge.readers import CONNECTED, MAX_QUEUED
from hcterm.sim.virtualreader import VirtualReader

TOKEN = "hardening-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ID = "110101199003071234"


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Bridge:
    def __init__(self, ports, **kw):
        self.log_stream = io.StringIO()
        self.app = create_app(ports, TOKEN, log=bridge_logger(self.log_stream), **kw)

    async def __aenter__(self):
        self.runner, self.url = await start_site(self.app)
        self.port = int(self.url.rsplit(":", 1)[1])
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(self, *exc):
        await self.http.close()
        await self.runner.cleanup()

    async def request(self, method, path, **kw):
        async with self.http.request(method, self.url + path, **kw) as r:
            assert r.content_type == "application/json", (r.status, await r.text())
            return r.status, await r.json()

    async def raw(self, data, read_timeout=5):
        """Send raw bytes on a new connection: (status, JSON body or None, seconds until the
        bridge answered or closed)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        start = time.monotonic()
        writer.write(data)
        await writer.drain()
        try:
            answer = await asyncio.wait_for(reader.read(), read_timeout)
        finally:
            writer.close()
        took = time.monotonic() - start
        if not answer:
            return None, None, took
        head, _, body = answer.partition(b"\r\n\r\n")
        status = int(head.split()[1])
        assert b"application/json" in head, answer
        return status, json.loads(body), took

    async def wait_connected(self, rid, timeout=25):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = await self.request("GET", f"/api/readers/{rid}")
            if body["state"] == CONNECTED:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{rid} not connected")

    def logs(self):
        return self.log_stream.getvalue()


def assert_error(status, body, want_status, want_error, message=None):
    assert status == want_status, (status, body)
    assert body["error"] == want_error, body
    assert body["message"] and body["action"], body
    if message:
        assert re.search(message, body["message"]), body


# -- errors and input checks (no reader needed: checks come before it) --------------------------
def test_every_error_is_the_json_shape_with_an_action(tmp_path):
    async def scenario():
        async with Bridge([str(tmp_path / "absent")]) as b:
            post = b.request
            s, body = await post("GET", "/api/nothing")
            assert_error(s, body, 404, "no-such-route", "GET /api/nothing")
            s, body = await post("PUT", "/api/readers")
            assert_error(s, body, 405, "method-not-allowed", "PUT")
            # over the body limit: aiohttp's 413, in the JSON shape
            s, body = await post("POST", "/api/readers/r1/read",
                                 data=b'{"a": "' + b"x" * 70000 + b'"}',
                                 headers={"Content-Type": "application/json"})
            assert_error(s, body, 413, "request-too-large", "64 KiB")
            # deep nesting: was a RecursionError (500); and nesting past the routes' depth
            for depth in (30000, 6):
                s, body = await post("POST", "/api/readers/r1/read",
                                     data=b'{"files": ' + b"[" * depth + b"]" * depth + b"}")
                assert_error(s, body, 400, "bad-request", "nested too deep")
            s, body = await post("POST", "/api/readers/r1/read", data=b"\xff\xfe{")
            assert_error(s, body, 400, "bad-request", "not JSON")
            # wrong JSON types (were 500s) and sizes: named, before any reader is asked
            cases = [
                ("read", {"files": 5}, r"^files: expected an array of strings, got an integer"),
                ("read", {"fields": [{"a": 1}]}, r"^fields\[0\]: expected a string"),
                ("read", {"record": "1"}, r"^record: expected an integer, got a string"),
                ("read", {"record": 0}, r"^record: 0 is out of range 1..255"),
                ("read", {"fields": ["XM"] * 65}, r"^fields: 65 items, over the 64"),
                ("read", {"profile": "identity", "x": 1}, r"^body: unknown member 'x'"),
                ("apdu", {"slot": [1], "apdu": "00A4"}, r"^slot: expected a string or an "
                                                        r"integer, got an array"),
                ("apdu", {"apdu": 5}, r"^apdu: expected a string or an array of strings"),
                ("apdu", {"apdu": "zz"}, r"^apdu: 'zz' is not an APDU in hex"),
                ("apdu", {"apdu": "00" * 500}, r"^apdu: 1000 characters, over the 900"),
                ("apdu", {"apdu": ["00A4"] * 65}, r"^apdu: 65 items"),
                ("apdu", {"apdu": "00", "power_on": "yes"}, r"^power_on: expected true or "
                                                            r"false, got a string"),
                ("apdu", {"slot": "sam1"}, r"^body: 'apdu' is missing"),
                ("pin", {"pin": {"a": 1}}, r"^pin: expected a string, got an object"),
                ("pin", {"pin": 123456}, r"^pin: expected a string, got an integer"),
                ("write", {"file": "DDF1/EF08", "fields": {"XM": [1]}},
                 r"^fields.XM: expected a string or an integer, got an array"),
                ("write", {"file": "DDF1/EF08", "fields": {}}, r"^fields: needs at least 1"),
                ("power-off", {"slot": {"x": 1}}, r"^slot: expected a string or an integer"),
            ]
            for route, request, message in cases:
                s, body = await post("POST", f"/api/readers/r1/{route}", json=request,
                                     headers=AUTH)
                assert_error(s, body, 400, "bad-request", message)
                assert "openapi" in body["action"], body
            # a non-UTF-8 Authorization header (was a 500): refused like a wrong token
            s, body, _ = await b.raw(
                b"POST /api/readers/r1/apdu HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                b"Authorization: Bearer \xff\xfe\xc3\r\nContent-Length: 2\r\n"
                b"Connection: close\r\n\r\n{}" % b.port)
            assert_error(s, body, 401, "unauthorized", "wrong")
            # what aiohttp answers itself: a request it cannot read, an over-long URL or header
            s, body, _ = await b.raw(b"GARBAGE\r\n\r\n")
            assert_error(s, body, 400, "bad-request", "could not be read")
            s, body, _ = await b.raw(b"GET /api/readers/" + (ID + "-").encode() * 600
                                     + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert_error(s, body, 400, "bad-request", "could not be read")
            assert "8 KiB" in body["action"]
            s, body, _ = await b.raw(b"GET /api/readers HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                     b"X-Patient: %s\r\n\r\n" % (b.port, (ID + "-").encode() * 600))
            assert_error(s, body, 400, "bad-request", "could not be read")
            assert ID not in json.dumps(body)
            # a failure inside a route: 500 in the JSON shape, logged with the ID masked
            managed = b.app[KEY_MANAGER].get("r1")
            managed.state = CONNECTED

            async def broken(*args, **kwargs):
                raise RuntimeError(f"broken for {ID}")
            managed.call = broken
            s, body = await post("POST", "/api/readers/r1/read", json={"profile": "identity"})
            assert_error(s, body, 500, "internal", "RuntimeError")
            assert "report" in body["action"] and ID not in json.dumps(body)
        logs = b.logs()
        lines = [json.loads(line) for line in logs.splitlines()]   # all JSON, aiohttp's too
        assert not re.search(r"\d{17}[\dX]", logs), "an ID number reached the log unmasked"
        assert "110101********1234" in logs
        assert any(x["event"] == "internal error" and "RuntimeError" in x["exception"]
                   for x in lines)
        assert any(x["event"].startswith("Error handling request") for x in lines)
        statuses = [x["status"] for x in lines if x["event"] == "http"]
        assert statuses.count(400) >= 3 and 413 in statuses and 500 in statuses
    run(scenario())


# -- Host allow-list ----------------------------------------------------------------------------
def test_parse_host():
    assert parse_host("LocalHost:8765") == ("localhost", 8765)
    assert parse_host("[::1]:8765") == ("::1", 8765)
    assert parse_host("his-pc") == ("his-pc", None)
    assert parse_host("his-pc.:80") == ("his-pc", 80)
    for bad in ("", "a:b", "a:99999", "[::1]x"):
        with pytest.raises(ValueError, match="NAME:PORT"):
            parse_host(bad)
    out = subprocess.run([sys.executable, "-m", "hcterm.cli", "bridge", "--port", "/dev/null",
                          "--allow-host", "his:x"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--allow-host" in out.stderr, out.stderr


def test_host_allow_list_against_dns_rebinding(tmp_path):
    async def scenario():
        async with Bridge([str(tmp_path / "absent")], allow_hosts=["his-pc", "proxy:80"]) as b:
            async def get(host, path="/api/readers", origin=None):
                headers = {"Host": host}
                if origin:
                    headers["Origin"] = origin
                return await b.request("GET", path, headers=headers)
            p = b.port
            # a page on evil.example rebound to 127.0.0.1: Host and Origin agree, refused
            for path in ("/api/readers", "/api/readers/r1", "/api/openapi.json"):
                s, body = await get(f"evil.example:{p}", path, origin=f"http://evil.example:{p}")
                assert_error(s, body, 403, "host-refused", "evil.example")
                assert "--allow-host" in body["action"]
            s, body = await get(f"evil.example:{p}")            # GET without Origin too
            assert_error(s, body, 403, "host-refused")
            s, body = await b.request("POST", "/api/readers/r1/apdu", json={"apdu": "00"},
                                      headers={"Host": f"evil.example:{p}", **AUTH})
            assert_error(s, body, 403, "host-refused")
            async with b.http.get(b.url + "/", headers={"Host": f"evil.example:{p}"}) as r:
                assert r.status == 403
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await b.http.ws_connect(b.url + "/api/events",
                                        headers={"Host": f"evil.example:{p}"})
            assert refused.value.status == 403
            s, body = await get(f"127.0.0.1:{p + 1}")             # the right name, wrong port
            assert_error(s, body, 403, "host-refused")
            s, body = await get("his-pc:9")                       # allowed name, other port
            assert_error(s, body, 403, "host-refused")
            # loopback names with the bridge's port, and the configured ones
            for host in (f"127.0.0.1:{p}", f"localhost:{p}", f"LOCALHOST:{p}", f"[::1]:{p}",
                         f"his-pc:{p}", "proxy"):
                s, body = await get(host)
                assert s == 200 and body["readers"][0]["id"] == "r1", (host, body)
            ws = await b.http.ws_connect(b.url + "/api/events")
            assert json.loads((await ws.receive(timeout=10)).data)["type"] == "hello"
            await ws.close()
    run(scenario())


# -- clients that are slow or idle -------------------------------------------------------------
def test_slow_and_idle_clients_are_timed_out(tmp_path):
    async def scenario():
        async with Bridge([str(tmp_path / "absent")], head_timeout=0.5, idle_timeout=0.5,
                          body_timeout=0.5) as b:
            # connects and sends nothing, or half a request head: closed
            for data in (b"", b"GET /api/readers HTTP/1.1\r\nHost: 127.0.0.1\r\n"):
                status, _, took = await b.raw(data)
                assert status is None and 0.4 < took < 3, took
            # a body that never finishes: 408 in the JSON shape
            status, body, took = await b.raw(
                b"POST /api/readers/r1/read HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                b"Content-Length: 100\r\n\r\n{\"pro" % b.port)
            assert_error(status, body, 408, "request-timeout", "within 0.5 s")
            # idle after an answer (keep-alive): closed
            reader, writer = await asyncio.open_connection("127.0.0.1", b.port)
            writer.write(b"GET /api/readers HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % b.port)
            start = time.monotonic()
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            rest = await asyncio.wait_for(reader.read(), 5)   # the body, then EOF at the close
            assert b"readers" in rest and 0.4 < time.monotonic() - start < 3
            writer.close()
        assert "client timed out" in b.logs()
    run(scenario())


# -- readers served independently -----------------------------------------------------------------
def test_a_hung_reader_times_out_alone(tmp_path):
    async def scenario(healthy, hung):
        async with Bridge([healthy.port, hung.port], timeout=2.0) as b:
            await b.wait_connected("r1")
            await b.wait_connected("r2")

            async def read(rid):
                start = time.monotonic()
                s, body = await b.request("POST", f"/api/readers/{rid}/read",
                                          json={"profile": "identity"})
                return s, body, time.monotonic() - start

            s, body, _ = await read("r1")
            assert s == 409 and body["name"] == "no-card", body      # answers: no card
            # a request over the link's 1 KiB payload: refused before it is sent
            s, body = await b.request("POST", "/api/readers/r1/read",
                                      json={"fields": ["X" * 16] * 64})
            assert_error(s, body, 413, "request-too-large", "over the link's 1024")
            os.kill(hung.process.pid, signal.SIGSTOP)
            try:
                stuck = [asyncio.ensure_future(read("r2")) for _ in range(MAX_QUEUED + 3)]
                await asyncio.sleep(0.3)
                s, body, took = await read("r1")
                assert s == 409 and took < 1.0, (s, body, took)  # was 8.8 s with 8 stuck
                answers = await asyncio.gather(*stuck)
            finally:
                os.kill(hung.process.pid, signal.SIGCONT)
            errors = sorted(body["error"] for _, body, _ in answers)
            assert errors == ["reader-busy"] * 3 + ["reader-timeout"] * MAX_QUEUED, errors
            busy = next(body for _, body, _ in answers if body["error"] == "reader-busy")
            assert "retry" in busy["action"] and busy["reader"] == "r2"
            # every queued request is answered by about the first one's timeout, not one
            # after the other (was: one every 3 s)
            assert max(took for *_, took in answers) < 5, [a[2] for a in answers]
            # the reader came back: served again
            deadline = time.monotonic() + 15
            while True:
                s, body, _ = await read("r2")
                if s == 409 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert s == 409, body

    with VirtualReader(flash=tmp_path / "a.img") as healthy, \
            VirtualReader(flash=tmp_path / "b.img") as hung:
        run(scenario(healthy, hung), timeout=90)
