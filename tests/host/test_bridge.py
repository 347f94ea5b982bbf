"""hcterm bridge end to end: the aiohttp app on 127.0.0.1 in front of virtual readers (the real
firmware on the MicroPython unix port), HTTP and WebSocket clients, a fake QR platform."""

import asyncio
import io
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time

import aiohttp
import pytest
from aiohttp import web
from support.host_bridge_wait import reader_connected

from hcterm.bridge import qrverify
from hcterm.bridge.app import KEY_MANAGER, create_app, start_site
from hcterm.bridge.errors import bad_request
from hcterm.bridge.logs import bridge_logger, mask_ids
from hcterm.bridge.national import NATIONAL_READS, national_ret
from hcterm.bridge.openapi import openapi
from hcterm.bridge.readers import CONNECTED, DISCONNECTED
from hcterm.commands.bridge import load_token, parse_listen, token_file
from hcterm.link import DeviceError, LinkTimeout, NotConnected, NotSupported
from hcterm.link.fields import to_device, to_national
from hcterm.link.national import NationalInterface, PhotoDataError, national_code
from hcterm.link.national_visits import RecordInvalidError
from hcterm.sim.virtualreader import VirtualReader
from reader import hostlink

TOKEN = "test-token-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
QR = "272EB52D0696FD625B6F3E1A830728532779BEB87520CC83948C50A43F439F58:1"
SM4_KEY = "0123456789ABCDEFFEDCBA9876543210"
SECRET = "platform-secret"


def run(coro, timeout=45):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Bridge:
    """The bridge app served in the test's loop, with an HTTP session and a log capture."""

    def __init__(self, ports, verifier=None, timeout=5.0, allow_origins=(), **kw):
        self.log_stream = io.StringIO()
        self.app = create_app(ports, TOKEN, verifier=verifier, timeout=timeout,
                              log=bridge_logger(self.log_stream), allow_origins=allow_origins,
                              **kw)

    async def __aenter__(self):
        self.runner, self.url = await start_site(self.app)
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        return self

    async def __aexit__(self, *exc):
        await self.http.close()
        await self.runner.cleanup()

    @property
    def manager(self):
        return self.app[KEY_MANAGER]

    async def get(self, path, **kw):
        async with self.http.get(self.url + path, **kw) as r:
            return r.status, await r.json()

    async def post(self, path, body=None, **kw):
        async with self.http.post(self.url + path, json=body, **kw) as r:
            return r.status, await r.json()

    async def wait_state(self, rid, state, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = await self.get(f"/api/readers/{rid}")
            if body["state"] == state:
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"{rid} not {state} within {timeout} s: {body}")

    def logs(self):
        return [json.loads(line) for line in self.log_stream.getvalue().splitlines()]


async def next_event(ws, kind, timeout=15, where=None):
    """The next WebSocket event of type `kind` (and matching `where`), skipping others."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {kind} event within {timeout} s")
        msg = await ws.receive(timeout=left)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        event = json.loads(msg.data)
        if event["type"] == kind and all(event.get(k) == v for k, v in (where or {}).items()):
            return event


async def events_until(ws, wanted, timeout=15):
    """Events until one of each wanted kind came (a type, or a state for state events)."""
    seen, left = [], set(wanted)
    deadline = time.monotonic() + timeout
    while left:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {left} events within {timeout} s; got {seen}")
        event = json.loads((await ws.receive(timeout=remaining)).data)
        seen.append(event)
        left.discard(event["type"] if event["type"] != "state" else event["state"])
    return seen


@pytest.fixture
def vr(tmp_path):
    with VirtualReader(flash=tmp_path / "flash.img", port_link=str(tmp_path / "usb0")) as v:
        yield v


def assert_device_error(status, body, reader="r1"):
    """A device error as the bridge maps it: JSON with the device's code, name and message,
    what to do, and the HTTP status of the table in bridge.errors."""
    from hcterm.bridge.errors import DEVICE_STATUS

    assert body["error"] in ("device-error", "not-supported"), body
    assert body["name"] == hostlink.ERRORS[body["code"]] and body["message"], body
    assert body["reader"] == reader and body["action"], body
    assert status == DEVICE_STATUS[body["code"]][0], (status, body)


# -- pure parts ---------------------------------------------------------------------------------
def test_national_field_forms():
    kh = "110101199003071234"
    device = {"KH": kh.encode().hex().upper(), "XM": "张三".encode("gbk").hex().upper(),
              "XB": "01", "MZ": "01", "CSRQ": "19900307", "FKJGZS": "00AB", "SFZH": kh}
    assert to_national(device) == {"KH": kh, "XM": "张三", "XB": "1", "MZ": "01",
                                   "CSRQ": "19900307", "FKJGZS": "00AB", "SFZH": kh}
    assert to_device({"XM": "李四", "XB": "2"}) == {"XM": "C0EECBC4", "XB": "02"}
    # XB: the card's byte <-> GB/T 2261.1's one digit; MZ: GB 3304's two digits
    for byte, code in (("00", "0"), ("01", "1"), ("02", "2"), ("09", "9")):
        assert to_national({"XB": byte}) == {"XB": code}
        assert to_device(to_national({"XB": byte})) == {"XB": byte}
        assert to_national({"XB": code}) == {"XB": code}   # already national: unchanged
    assert to_national({"XB": "07"}) == {"XB": "07"}       # no GB/T 2261.1 code: as it came
    assert to_national({"MZ": "1"}) == {"MZ": "01"} and to_national({"MZ": "56"}) == {"MZ": "56"}
    assert to_device({"MZ": "01", "XB": "9"}) == {"MZ": "01", "XB": "09"}
    with pytest.raises(ValueError, match="XM"):
        to_device({"XM": "🙂"})
    assert NATIONAL_READS["iR_DDF1EF06Info"] == {
        "file": "DDF1/EF06", "record": False, "fields": ["XM", "XB", "MZ", "CSRQ", "SFZH"]}
    assert NATIONAL_READS["iR_DF02EF08Info"]["record"] is True
    assert NATIONAL_READS["iR_DF02EF08Info"]["fields"] == ["MYJZMC", "MYJZSJ"]


def test_national_return_codes():
    """Each error as the reader or the client raises it -> its code in both conventions; the
    codes without a cause of their own are the failed operation's (103 … 111)."""
    assert national_code(None) == 0 and national_ret(None, negative=True) == 0

    def device(code, kind=None):
        return DeviceError(code, "x", kind=kind)
    # (error, positive code for a record read, negative code)
    cases = [(device(hostlink.BAD_REQUEST), 101, -6), (ValueError("x"), 101, -6),
             (device(hostlink.NO_SLOT), 101, -5),
             (device(hostlink.CARD, "not-found"), 102, -7),        # 6A82 / 6A83 / 6A88
             (device(hostlink.CARD, "refused"), 103, -7),
             (device(hostlink.DEVICE), 103, -7), (device(hostlink.INTERNAL), 103, -7),
             (NotSupported(hostlink.NOT_SUPPORTED, "x"), 103, -7),
             (device(hostlink.NO_CARD), 104, -2), (device(hostlink.NO_CARD, "communication"),
                                                    104, -2),
             (device(hostlink.NO_CARD, "not-powered"), 104, -4),
             (device(hostlink.DEVICE, "sam"), 105, -7), (device(hostlink.DEVICE, "timeout"),
                                                          103, -3),
             (device(hostlink.DEVICE, "transmission"), 104, -8),
             (device(hostlink.AUTH, "auth-failed"), 106, -7),
             (device(hostlink.CARD, "access-denied"), 106, -7),
             (device(hostlink.AUTH, "pin-wrong"), 106, -7),
             (NotConnected("x"), 103, -1), (LinkTimeout("x"), 103, -3),
             (RecordInvalidError("x"), 112, -7), (PhotoDataError("x"), 113, -7)]
    for error, code, negative in cases:
        assert (national_code(error), national_code(error, negative=True)) == (code, negative), \
            error
        assert national_ret(error) == code
    # the operation's own code when the cause has none: 107 read binary … 111 index erase
    refused = device(hostlink.CARD, "refused")
    assert [national_ret(refused, name) for name in (
        "iR_DF02EF05Info", "iR_DDF1EF07Info", "iR_DF03EDInfo", "iW_DDF1EF08Info",
        "iW_DF03EEInfo", "iW_DF03EF06Info", "iErase_DF03EF05Info",
        "iReader_GetLastEEIndex")] == [103, 107, 107, 108, 109, 110, 111, 103]
    assert national_ret(bad_request("x")) == 101
    assert national_ret(bad_request("x"), negative=True) == -6


    class BadPhotoCard(NationalInterface):   # a photo file whose length prefix is too big
        def read_file(self, file, offset, length):
            return b"\x0f\xff"
    with pytest.raises(PhotoDataError, match="not a photo") as error:
        BadPhotoCard().iR_DDF1EF07Info()
    assert national_code(error.value) == 113


def test_log_lines_are_json_with_id_numbers_masked():
    stream = io.StringIO()
    log = bridge_logger(stream)
    log.info("tap", extra={"fields": {"KH": "110101199003071234", "SFZH": "11010119900307123X",
                                      "note": "id 440301198001011111 seen", "uid": "0102"}})
    try:
        raise ValueError("bad card 110101199003071234")
    except ValueError:
        log.exception("failed")
    lines = stream.getvalue().splitlines()
    first, second = json.loads(lines[0]), json.loads(lines[1])
    assert first["event"] == "tap" and first["level"] == "info"
    assert first["KH"] == "110101********1234" and first["SFZH"] == "110101********123X"
    assert first["note"] == "id 440301********1111 seen"
    assert "110101199003071234" not in second["exception"]
    assert not re.search(r"\d{17}[\dX]", stream.getvalue())
    assert mask_ids("a 12345678901234567890 b") == "a 12345678901234567890 b"  # 20 digits


def test_listen_is_loopback_unless_allowed():
    assert parse_listen("127.0.0.1:8765", False) == ("127.0.0.1", 8765)
    assert parse_listen("[::1]:9000", False) == ("::1", 9000)
    assert parse_listen("localhost:0", False) == ("localhost", 0)
    with pytest.raises(ValueError, match="not a loopback address.*--allow-remote"):
        parse_listen("0.0.0.0:8765", False)
    assert parse_listen("0.0.0.0:8765", True) == ("0.0.0.0", 8765)
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen("8765", False)
    out = subprocess.run([sys.executable, "-m", "hcterm.cli", "bridge", "--port", "/dev/null",
                          "--listen", "192.0.2.1:8765"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2 and "--allow-remote" in out.stderr


def test_envelope_round_trip_and_tamper():
    key = bytes.fromhex(SM4_KEY)
    fields = {"qrCode": QR, "time": "20260101120000", "terminalId": "12345678X0101"}
    body = qrverify.seal(fields, "app1", key, SECRET, timestamp=1767240000, nonce="n1")
    assert set(body) == {"appId", "timestamp", "nonce", "data", "sign"}
    assert len(body["data"]) % 32 == 0 and len(body["sign"]) == 64
    assert qrverify.unseal(body, key, SECRET) == fields
    with pytest.raises(ValueError, match="SM3 sign"):
        qrverify.unseal(body, key, "other")
    with pytest.raises(ValueError, match="SM3 sign"):
        qrverify.unseal(dict(body, nonce="n2"), key, SECRET)
    # SM3 of "abc" (GB/T 32905's example) through the digest the signature uses
    assert qrverify.sm3_hex(b"abc") == \
        "66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0"


def test_negative_return_codes_when_configured():
    async def scenario():
        async with Bridge(["/nonexistent"], negative_ret=True) as b:
            status, body = await b.get("/api/readers/r1/iR_DDF1EF06Info")
            assert (status, body["error"], body["ret"]) == (503, "reader-not-connected", -1)
            status, body = await b.get("/api/readers/r9/iR_DDF1EF06Info")
            assert (status, body["ret"]) == (404, -1)
            status, body = await b.get("/api/readers/r1/iR_DF03EEInfo?recNo=x")
            assert (status, body["ret"]) == (400, -6)
    run(scenario(), timeout=20)


def test_openapi_matches_the_routes_exactly():
    app = create_app(["/nonexistent"], TOKEN)
    routes = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        routes.add((route.method.lower(), route.resource.canonical))
    spec = openapi()
    described = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert routes == described
    assert spec["openapi"].startswith("3.")
    for path, item in spec["paths"].items():
        for op in item.values():
            params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert params == set(re.findall(r"{(\w+)}", path)), path


# -- against virtual readers ----------------------------------------------------------------------
def test_readers_national_reads_and_errors(vr):
    async def scenario():
        async with Bridge([vr.port, str(vr.port) + "-missing"]) as b:
            await b.wait_state("r1", CONNECTED)
            status, listing = await b.get("/api/readers")
            assert status == 200
            r1, r2 = listing["readers"]
            assert (r1["id"], r1["port"], r1["state"]) == ("r1", vr.port, "connected")
            assert r1["device"]["board"] == "sim-pn532-uart" and r1["device"]["firmware"]
            assert (r2["id"], r2["state"]) == ("r2", DISCONNECTED)
            assert "cannot open" in r2["last_error"]
            # a reader that is not there: 503 with what to do; an unknown id: 404
            status, body = await b.post("/api/readers/r2/read", {"profile": "identity"})
            assert status == 503 and body["error"] == "reader-not-connected", body
            assert "retry" in body["action"]
            status, body = await b.get("/api/readers/r7")
            assert (status, body["error"]) == (404, "reader-not-found")
            assert "r1, r2" in body["message"]
            status, body = await b.get("/api/nothing")
            assert (status, body["error"]) == (404, "no-such-route")
            # national reads without a card: the device's own error, mapped
            for name, spec in NATIONAL_READS.items():
                query = "?recNo=1" if spec["record"] else ""
                status, body = await b.get(f"/api/readers/r1/{name}{query}")
                if status == 200:
                    assert body["ret"] == 0, body
                    continue
                assert_device_error(status, body)
                assert (body["name"], body["ret"]) == ("no-card", 104), body
            status, body = await b.get("/api/readers/r1/iR_DF02EF07Info")
            assert status == 400 and "recNo" in body["message"]
            assert body["ret"] == 101, body
            status, body = await b.get("/api/readers/r7/iR_DDF1EF06Info")
            assert (status, body["error"], body["ret"]) == (404, "reader-not-found", 103)
            status, body = await b.get("/api/readers/r2/iR_DDF1EF07Info")
            assert (status, body["ret"]) == (503, 107), body   # the failed binary read's code
            status, body = await b.post("/api/readers/r1/read", {"profile": "nope"})
            assert status == 400 and "identity" in body["message"]
            # with a card: every national read answers its fields, text decoded
            vr.devices.tap("adult")
            for name, spec in NATIONAL_READS.items():
                query = "?recNo=1" if spec["record"] else ""
                status, body = await b.get(f"/api/readers/r1/{name}{query}")
                if spec["record"] and status == 400:  # the adult has no allergy/vaccine records
                    assert "has 0 records, not 1" in body["message"], body
                    assert body["ret"] == 101, body
                    continue
                if name == "iR_DF03EEInfo":           # the adult's EE01 flag is FF: free
                    assert (status, body["error"], body["ret"]) == (404, "record-invalid",
                                                                    112), body
                    continue
                assert status == 200, (name, body)
                assert (body["reader"], body["ret"]) == ("r1", 0)
                assert set(body) - {"reader", "ret"} == set(spec["fields"]), body
            status, body = await b.get("/api/readers/r1/iR_DDF1EF06Info")
            assert (body["XM"], body["SFZH"]) == ("张伟", "410105198503154213"), body
            status, body = await b.get("/api/readers/r1/iR_DDF1EF07Info")
            assert body["ZHAOPIAN"].startswith("FFD8FF"), body  # a JPEG
            # DF03 visit records: ED01 holds an outpatient visit, EE01 is unwritten
            status, body = await b.get("/api/readers/r1/iR_DF03EDInfo?recNo=1")
            assert status == 200 and body["data"].startswith("就诊日期:20250611"), body
            status, body = await b.get("/api/readers/r1/iR_DF03EF05Info?recNo=1")
            assert (status, body["flag"], body["ret"]) == (200, "FF", 0), body
            status, body = await b.get("/api/readers/r1/iR_DF03EEInfo?recNo=4")
            assert (status, body["ret"]) == (400, 101) and "1..3" in body["message"], body
            status, body = await b.post("/api/readers/r1/read", {"files": ["DDF1/EF05"]})
            assert status == 200, body
            assert body["KH"] == "410105198503154213", body
    run(scenario(), timeout=55)


def test_apdu_pin_write_need_the_token(vr):
    async def scenario():
        async with Bridge([vr.port]) as b:
            await b.wait_state("r1", CONNECTED)
            apdu = {"slot": "sam1", "apdu": "00A4000002 3F00", "power_on": True}
            status, body = await b.post("/api/readers/r1/apdu", apdu)
            assert status == 401 and body["error"] == "unauthorized"
            assert "Authorization: Bearer" in body["action"]
            status, body = await b.post("/api/readers/r1/apdu", apdu,
                                        headers={"Authorization": "Bearer wrong"})
            assert status == 401 and "wrong" in body["message"]
            for path in ("write", "pin"):
                status, body = await b.post(f"/api/readers/r1/{path}", {"pin": "123456"})
                assert status == 401, (path, body)
            status, body = await b.post("/api/readers/r1/apdu", apdu, headers=AUTH)
            assert status == 200, body
            assert body["power"]["atr"] == "3B1A1348435053414D00002301"
            assert body["responses"] == [{"apdu": "00A40000023F00", "rsp": "6F0483023F009000",
                                          "sw": "9000"}]
            status, body = await b.post("/api/readers/r1/apdu",
                                        {"slot": "sam2", "apdu": "00A40000023F00",
                                         "power_on": True}, headers=AUTH)
            assert_device_error(status, body)
            assert body["name"] == "no-slot"
            status, body = await b.post("/api/readers/r1/apdu", {"slot": "sam9", "apdu": "00"},
                                        headers=AUTH)
            assert status == 400 and "unknown slot" in body["message"]
            # PIN and write with the token, no card: the device's answer
            status, body = await b.post("/api/readers/r1/pin", {"pin": "123456"},
                                        headers=AUTH)
            assert_device_error(status, body)
            status, body = await b.post("/api/readers/r1/write",
                                        {"file": "DDF1/EF08", "fields": {"BRDH1": "1380000"}},
                                        headers=AUTH)
            assert_device_error(status, body)
            status, body = await b.post("/api/readers/r1/pin", {"nothing": 1}, headers=AUTH)
            assert status == 400
            # the PIN typed on the reader: this board has no keypad; a bad wait is refused
            status, body = await b.post("/api/readers/r1/pin", {"on_reader": True},
                                        headers=AUTH)
            assert_device_error(status, body)
            assert body["name"] == "not-supported" and "has no keypad" in body["message"]
            status, body = await b.post("/api/readers/r1/pin",
                                        {"on_reader": True, "timeout_s": 3}, headers=AUTH)
            assert status == 400 and "timeout_s" in body["message"]
            # with a card: write (AuthUK + encrypted, MACed record update), then read it back
            vr.devices.tap("adult")
            status, body = await b.post("/api/readers/r1/write",
                                        {"file": "DDF1/EF08", "fields": {"BRDH1": "13912345678"}},
                                        headers=AUTH)
            assert status == 200, body
            assert body["written"] == ["BRDH1"]
            status, body = await b.get("/api/readers/r1/iR_DDF1EF08Info")
            assert (status, body["BRDH1"], body["BRDH2"]) == (200, "13912345678",
                                                              "037165432198"), body
            status, body = await b.post("/api/readers/r1/pin", {"pin": "123456"},
                                        headers=AUTH)
            assert status == 200, body
    run(scenario())


def test_events_reach_two_subscribers_and_replug(tmp_path):
    link = str(tmp_path / "usb0")
    flash = tmp_path / "flash.img"

    running = []

    def plug():
        running.append(VirtualReader(flash=flash, port_link=link).start())

    def unplug():
        running.pop().stop()

    async def scenario():
        plug()
        async with Bridge([link]) as b:
            one = await b.http.ws_connect(b.url + "/api/events")
            two = await b.http.ws_connect(b.url + "/api/events")
            hello = await next_event(one, "hello")
            assert hello["readers"][0]["id"] == "r1"
            for ws in (one, two):
                event = await next_event(ws, "selftest")
                assert event["reader"] == "r1" and event["ok"] is True
                assert event["board"] == "sim-pn532-uart"
            await b.wait_state("r1", CONNECTED)
            # unplug: the virtual reader goes away, its port with it
            await asyncio.to_thread(unplug)
            await b.wait_state("r1", DISCONNECTED)
            state = await next_event(one, "state", where={"state": DISCONNECTED})
            assert "gone" in state["message"]
            status, body = await b.post("/api/readers/r1/read", {"profile": "identity"})
            assert status == 503 and body["error"] == "reader-not-connected"
            # replug: the same port comes back with a new boot
            plug()
            await b.wait_state("r1", CONNECTED, timeout=25)
            for ws in (one, two):
                seen = await events_until(ws, {"selftest", "connected"})
                boot = next(e for e in seen if e["type"] == "selftest")
                assert boot["flash"]["boots"] == 2, boot
            listing = (await b.get("/api/readers/r1"))[1]
            assert listing["reconnects"] >= 1 and listing["device"]["board"]
            await one.close()
            await two.close()

    try:
        run(scenario(), timeout=58)
    finally:
        while running:
            unplug()


def test_two_readers_serve_at_once(tmp_path):
    async def scenario(a, b_):
        async with Bridge([a.port, b_.port]) as b:
            await b.wait_state("r1", CONNECTED)
            await b.wait_state("r2", CONNECTED)
            ws = await b.http.ws_connect(b.url + "/api/events")
            asks = [b.post(f"/api/readers/{rid}/apdu",
                           {"slot": "sam1", "apdu": "00A40000023F00", "power_on": True},
                           headers=AUTH) for rid in ("r1", "r2") for _ in range(3)]
            answers = await asyncio.gather(*asks)
            assert all(s == 200 and r["responses"][0]["sw"] == "9000" for s, r in answers)
            assert [r["reader"] for _, r in answers] == ["r1"] * 3 + ["r2"] * 3
            await ws.close()

    with VirtualReader(flash=tmp_path / "a.img") as a, \
            VirtualReader(flash=tmp_path / "b.img") as b_:
        run(scenario(a, b_))


# -- QR codes and the platform ------------------------------------------------------------
class FakePlatform:
    """The card management platform on 127.0.0.1: checks the envelope (SM3 sign with the app
    secret, SM4-ECB body), the request fields, and answers an identity, sealed."""

    IDENTITY = {"name": "王小明", "sex": "1", "nation": "01", "birthday": "19800101",
                "idType": "01", "idNumber": "440301198001011111", "mainIndex": "EHC0001"}

    def __init__(self):
        self.requests = []
        self.app = web.Application()
        self.app.router.add_post("/verify", self.verify)

    async def verify(self, request):
        body = await request.json()
        key = bytes.fromhex(SM4_KEY)
        try:
            fields = qrverify.unseal(body, key, SECRET)
        except ValueError as error:
            return web.json_response({"code": "401", "message": str(error)})
        assert body["appId"] == "his-app"
        self.requests.append(fields)
        if fields["qrCode"] != QR:
            return web.json_response({"code": "1001", "message": "二维码无效"})
        answer = qrverify.seal(self.IDENTITY, "platform", key, SECRET)
        answer.update(code="0", message="ok")
        answer["sign"] = qrverify.sign(answer, SECRET)
        return web.json_response(answer)


def _verifier(url, secret=SECRET):
    return qrverify.HttpQRVerifier(url, "12345678X", "0101", "440300", "H0001", "05",
                                   "010101", app_id="his-app", app_secret=secret,
                                   sm4_key=SM4_KEY, timeout=3)


def test_qr_events_are_verified_by_the_platform():
    async def scenario():
        platform = FakePlatform()
        runner, url = await start_site(platform.app)
        try:
            async with Bridge(["/nonexistent-port"], verifier=_verifier(url + "/verify")) as b:
                ws = await b.http.ws_connect(b.url + "/api/events")
                await next_event(ws, "hello")
                client = b.manager.get("r1").client
                qr_body = {"kind": "static", "id": QR[:64], "type": "1", "validity": "",
                           "issuer": "", "status": "ok", "text": QR}
                # as the Reader's receiving thread delivers it
                threading.Thread(target=client._deliver_event,
                                 args=(hostlink.EV_QR, qr_body)).start()
                event = await next_event(ws, "qr")
                assert event["verified"] is True and event["reader"] == "r1"
                assert (event["XM"], event["SFZH"], event["ZSY"]) == \
                    ("王小明", "440301198001011111", "EHC0001")
                assert event["code_type"] == "1" and event["text"] == QR
                sent = platform.requests[-1]
                assert sent["qrCode"] == QR and sent["terminalId"] == "12345678X0101"
                assert (sent["cityCode"], sent["hospitalCode"], sent["channelCode"],
                        sent["careStep"]) == ("440300", "H0001", "05", "010101")
                assert re.fullmatch(r"\d{14}", sent["time"])
                # the platform refuses an unknown code
                client._deliver_event(hostlink.EV_QR, dict(qr_body, text=QR[:-1] + "2"))
                event = await next_event(ws, "qr")
                assert event["verified"] is False and event["reason"] == "refused"
                assert "二维码无效" in event["message"]
                # the reader refused the code itself: not sent to the platform
                count = len(platform.requests)
                client._deliver_event(hostlink.EV_QR, {"status": "refused", "reason": "bad_id",
                                                       "message": "ID must be 64 hex digits",
                                                       "text": "garbage"})
                event = await next_event(ws, "qr")
                assert (event["verified"], event["reason"]) == (False, "bad_id")
                assert len(platform.requests) == count
                await ws.close()
            logs = "\n".join(json.dumps(x, ensure_ascii=False) for x in b.logs())
            assert "440301********1111" in logs and "440301198001011111" not in logs
            assert QR not in logs
            # a wrong app secret: the platform rejects the sign, the bridge says so
            verifier = _verifier(url + "/verify", secret="wrong")
            with pytest.raises(qrverify.QRVerifyError, match="refused.*SM3 sign"):
                await verifier.verify(QR)
            await verifier.close()
            # nobody listening: unreachable
            verifier = _verifier("http://127.0.0.1:9/verify")
            with pytest.raises(qrverify.QRVerifyError) as error:
                await verifier.verify(QR)
            assert error.value.reason == "unreachable"
            await verifier.close()
        finally:
            await runner.cleanup()
    run(scenario())


HIS = "http://127.0.0.1:9999"
PREFLIGHT = {"Origin": HIS, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization,content-type"}


def test_cors_for_allowed_origins_only(tmp_path):
    async def scenario():
        async with Bridge([str(tmp_path / "absent")], allow_origins=[HIS + "/"]) as b:
            # preflight from an allowed origin, with Chrome's Private Network Access request
            pna = {**PREFLIGHT, "Access-Control-Request-Private-Network": "true"}
            async with b.http.options(b.url + "/api/readers/r1/write", headers=pna) as r:
                assert r.status == 204, await r.text()
                h = r.headers
                assert h["Access-Control-Allow-Origin"] == HIS
                assert set(h["Access-Control-Allow-Methods"].split(", ")) >= {"GET", "POST"}
                assert {"Authorization", "Content-Type"} <= set(
                    h["Access-Control-Allow-Headers"].split(", "))
                assert int(h["Access-Control-Max-Age"]) > 0 and "Origin" in h["Vary"]
                assert h["Access-Control-Allow-Private-Network"] == "true"
                assert "Access-Control-Allow-Credentials" not in h
            async with b.http.options(b.url + "/api/readers", headers=PREFLIGHT) as r:
                assert r.status == 204
                assert "Access-Control-Allow-Private-Network" not in r.headers
            # actual requests from it carry the origin, errors too (the page can read them)
            async with b.http.get(b.url + "/api/readers", headers={"Origin": HIS}) as r:
                assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == HIS
                assert (await r.json())["readers"][0]["id"] == "r1"
            async with b.http.post(b.url + "/api/readers/r1/write", json={},
                                   headers={"Origin": HIS}) as r:
                assert r.status == 401 and r.headers["Access-Control-Allow-Origin"] == HIS
            # a disallowed origin: no CORS headers, preflight and requests refused
            other = {**pna, "Origin": "http://127.0.0.1:8888"}
            async with b.http.options(b.url + "/api/readers/r1/write", headers=other) as r:
                assert r.status == 403 and (await r.json())["error"] == "origin-refused"
                assert not [k for k in r.headers if k.startswith("Access-Control-")]
            for method in ("get", "post"):
                async with b.http.request(method, b.url + "/api/readers",
                                          headers={"Origin": other["Origin"]}) as r:
                    body = await r.json()
                    assert r.status == 403 and body["error"] == "origin-refused", body
                    assert "--allow-origin http://127.0.0.1:8888" in body["action"]
                    assert "Access-Control-Allow-Origin" not in r.headers
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await b.http.ws_connect(b.url + "/api/events", origin=other["Origin"])
            assert refused.value.status == 403
            # the WebSocket from an allowed origin and from the bridge's own page; programs
            for origin in (HIS, b.url, None):
                ws = await b.http.ws_connect(b.url + "/api/events", origin=origin)
                assert json.loads((await ws.receive(timeout=10)).data)["type"] == "hello"
                await ws.close()
            # no Origin (a program): served, no CORS headers; OPTIONS without CORS: 405
            async with b.http.get(b.url + "/api/readers") as r:
                assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers
            async with b.http.options(b.url + "/api/readers") as r:
                assert r.status == 405
    run(scenario())


def test_token_file_is_made_0600_kept_and_refused_when_open(tmp_path, monkeypatch):
    monkeypatch.delenv("HCTERM_BRIDGE_TOKEN_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = token_file()
    assert path == tmp_path / "config" / "hcterm" / "bridge-token"
    monkeypatch.setenv("HCTERM_BRIDGE_TOKEN_FILE", str(tmp_path / "env-token"))
    assert token_file() == tmp_path / "env-token"
    assert token_file(str(tmp_path / "given")) == tmp_path / "given"
    token, created = load_token(path)
    assert created and len(token) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_token(path) == (token, False)
    path.chmod(0o644)
    with pytest.raises(ValueError, match=r"open to others \(mode 0644\).*chmod 600"):
        load_token(path)
    path.write_text("\n")
    path.chmod(0o600)
    with pytest.raises(ValueError, match="does not hold one token: delete it"):
        load_token(path)


def test_bridge_command_serves_and_prints_its_token(vr, tmp_path):
    env = {**os.environ, "HCTERM_BRIDGE_TOKEN_FILE": str(tmp_path / "token")}
    env.pop("HCTERM_BRIDGE_TOKEN", None)
    proc = subprocess.Popen([sys.executable, "-m", "hcterm.cli", "bridge", "--port", vr.port,
                             "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = re.search(r"(http://\S+)/ ", proc.stdout.readline()).group(1)
        line = proc.stdout.readline()
        token = re.search(r"token for writes, PIN and APDUs: (\S+) \(in (\S+), new;",
                          line).group(1)
        assert f"(in {tmp_path / 'token'}, new;" in line
        assert (tmp_path / "token").read_text().strip() == token

        async def scenario():
            async with aiohttp.ClientSession() as http:
                await reader_connected(http, url)
                body = {"slot": "sam1", "apdu": "00A40000023F00", "power_on": True}
                async with http.post(url + "/api/readers/r1/apdu", json=body,
                                     headers={"Authorization": f"Bearer {token}"}) as r:
                    assert r.status == 200
                async with http.get(url + "/") as r:
                    assert "hcterm bridge" in await r.text()
        run(scenario())
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(x["event"] == "http" and x["path"] == "/api/readers/r1/apdu" for x in lines)
    assert any(x["event"] == "token file" and x["path"] == str(tmp_path / "token")
               for x in lines)
    assert token not in err
    # a file open to others is refused, with what to do
    (tmp_path / "token").chmod(0o640)
    out = subprocess.run([sys.executable, "-m", "hcterm.cli", "bridge", "--port", vr.port,
                          "--listen", "127.0.0.1:0"], capture_output=True, text=True,
                         timeout=30, env=env)
    assert out.returncode == 2 and "chmod 600" in out.stderr, out.stderr



def test_bench_bridge_small_run():
    out = subprocess.run([sys.executable, "-m", "hcterm.cli", "bench", "bridge", "--json",
                          "--samples", "3", "--seconds", "0.5", "--readers", "1", "2"],
                         capture_output=True, text=True, timeout=55)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["ok"] is True
    latency = result["event_latency"]
    assert latency["count"] == 3 and latency["p50_ms"] <= latency["p99_ms"]
    assert latency["event_source"].split(" ")[0] in ("card", "QR", "injected")
    assert [r["readers"] for r in result["throughput"]] == [1, 2]
    for run_ in result["throughput"]:
        assert run_["apdu"]["requests"] > 0 and run_["apdu"]["errors"] == 0
        assert run_["apdu"]["requests_per_s"] > 0 and run_["list_readers"]["requests"] > 0


def test_apdu_sessions_end_and_the_reader_state_shows_the_held_slot(vr):
    async def scenario():
        async with Bridge([vr.port]) as b:
            body = await b.wait_state("r1", CONNECTED)
            assert body["held_by_host"] == []
            vr.devices.tap("adult")
            apdu = {"slot": "card", "apdu": "00A40000023F00", "power_on": True}
            status, body = await b.post("/api/readers/r1/apdu", apdu, headers=AUTH)
            assert status == 200 and body["responses"][0]["sw"] == "9000", body
            status, body = await b.get("/api/readers/r1")
            assert body["held_by_host"] == ["card"], body
            status, body = await b.post("/api/readers/r1/power-off", {"slot": "card"})
            assert status == 401
            status, body = await b.post("/api/readers/r1/power-off", {"slot": 1}, headers=AUTH)
            assert status == 200 and body["held_by_host"] == [], body
            status, body = await b.get("/api/readers/r1")
            assert body["held_by_host"] == [], body
            # power_off in the same request: nothing stays held
            status, body = await b.post("/api/readers/r1/apdu", {**apdu, "power_off": True},
                                        headers=AUTH)
            assert status == 200 and body["powered_off"] is True, body
            status, body = await b.get("/api/readers/r1")
            assert body["held_by_host"] == [], body
            # a hold left behind ends by itself after the reader's idle time
            await b.manager.get("r1").call("set_config", host_slot_idle_s=1)
            status, body = await b.post("/api/readers/r1/apdu", apdu, headers=AUTH)
            assert status == 200, body
            status, body = await b.get("/api/readers/r1")
            assert body["held_by_host"] == ["card"], body
            await asyncio.sleep(1.5)
            status, body = await b.get("/api/readers/r1")
            assert body["held_by_host"] == [], body
            assert body["host_slot_ended"]["why"] == "idle 1 s", body
    run(scenario())
