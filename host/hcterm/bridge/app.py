"""The bridge's aiohttp application: HTTP/JSON API, WebSocket events, the integrator page.

    app = create_app(["/dev/ttyUSB0"], token="…", verifier=None)
    web.run_app(app, host="127.0.0.1", port=8765)

Routes (docs/bridge.md; the OpenAPI description at /api/openapi.json lists the same):
`GET /` the integrator page, `GET /api/readers`, `GET /api/readers/{id}`,
`POST /api/readers/{id}/read|write|apdu|power-off|pin`, `GET /api/readers/{id}/iR_…Info`
(one per national read function), `GET /api/events` (WebSocket). write, apdu, power-off and
pin need `Authorization: Bearer TOKEN`.

Origins: a request with an `Origin` header that is neither the bridge's own nor one given
in `allow_origins` is refused (403 `origin-refused`); programs send no `Origin` and are
served. The allowed origins get CORS: preflights (`OPTIONS`, with Private Network Access)
are answered 204, and every response to them carries `Access-Control-Allow-Origin`.
"""

import asyncio
import contextlib
import hmac
import json
import time
from pathlib import Path

from aiohttp import WSMsgType, web

from reader import hostlink

from ..link.fields import to_device, to_national
from .errors import ApiError, bad_request, from_exception, json_response
from .events import EventHub, EventRouter
from .logs import bridge_logger
from .national import NATIONAL_READS, national_ret
from .openapi import openapi
from .readers import ReaderManager

STATIC = Path(__file__).parent / "static"
KEY_MANAGER = web.AppKey("manager", ReaderManager)
KEY_HUB = web.AppKey("hub", EventHub)
KEY_ROUTER = web.AppKey("router", EventRouter)
KEY_TOKEN = web.AppKey("token", str)
KEY_ORIGINS = web.AppKey("origins", frozenset)
KEY_LOG = web.AppKey("log", object)
KEY_SOCKETS = web.AppKey("websockets", set)
KEY_NEGATIVE_RET = web.AppKey("negative_ret", bool)


def create_app(ports, token, verifier=None, log=None, timeout=5.0, allow_origins=(),
               reader_factory=None, negative_ret=False):
    if not token:
        raise ValueError("the bridge needs a token for writes, PIN and APDUs")
    log = log or bridge_logger()
    app = web.Application(middlewares=[_errors_and_access_log, _origins_and_preflight])
    hub = EventHub()
    router = EventRouter(hub, log, verifier)
    extra = {"reader_factory": reader_factory} if reader_factory else {}
    app[KEY_MANAGER] = ReaderManager(ports, router, timeout=timeout, **extra)
    app[KEY_HUB] = hub
    app[KEY_ROUTER] = router
    app[KEY_TOKEN] = token
    app[KEY_ORIGINS] = frozenset(o.rstrip("/") for o in allow_origins)
    app[KEY_LOG] = log
    app[KEY_NEGATIVE_RET] = bool(negative_ret)  # national "ret": -1 … -8, not 101 … 113
    app.on_startup.append(_start)
    app.on_shutdown.append(_close_websockets)
    app.on_cleanup.append(_stop)
    app.on_response_prepare.append(_cors_headers)
    app.router.add_get("/", index)
    app.router.add_get("/api/openapi.json", openapi_json)
    app.router.add_get("/api/readers", list_readers)
    app.router.add_get("/api/readers/{id}", get_reader)
    app.router.add_post("/api/readers/{id}/read", read)
    app.router.add_post("/api/readers/{id}/write", write)
    app.router.add_post("/api/readers/{id}/apdu", apdu)
    app.router.add_post("/api/readers/{id}/power-off", power_off)
    app.router.add_post("/api/readers/{id}/pin", pin)
    for name in NATIONAL_READS:
        app.router.add_get(f"/api/readers/{{id}}/{name}", _national_read(name))
    app.router.add_get("/api/events", events)
    return app


# -- life -----------------------------------------------------------------------------------
async def _start(app):
    app[KEY_SOCKETS] = set()
    await app[KEY_MANAGER].start()
    app[KEY_LOG].info("bridge started", extra={"fields": {
        "readers": {r.id: r.port for r in app[KEY_MANAGER].readers.values()}}})


async def _close_websockets(app):
    for ws in list(app[KEY_SOCKETS]):
        await ws.close(code=1001, message=b"bridge shutting down")


async def _stop(app):
    await app[KEY_MANAGER].stop()
    await app[KEY_ROUTER].close()


@web.middleware
async def _errors_and_access_log(request, handler):
    start = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as error:
        if error.status == 404:
            error = ApiError(404, "no-such-route", f"no route {request.method} {request.path}",
                             "see /api/openapi.json for the routes")
        elif error.status == 405:
            error = ApiError(405, "method-not-allowed", f"{request.method} is not allowed on "
                             f"{request.path}", "see /api/openapi.json for the methods")
        else:
            raise
        response = json_response(error.body, error.status)
    except Exception as error:  # noqa: BLE001 - mapped below, re-raised if unknown
        api = from_exception(error, request.match_info.get("id"))
        if api is None:
            raise
        response = json_response(api.body, api.status)
    fields = {"method": request.method, "path": request.path, "status": response.status,
              "ms": round((time.perf_counter() - start) * 1000, 1)}
    request.app[KEY_LOG].info("http", extra={"fields": fields})
    return response


# -- origins and CORS ---------------------------------------------------------------------------
CORS_METHODS = "GET, POST"
CORS_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE = "600"


def _allowed_origin(request):
    """The request's Origin if it is one of --allow-origin (CORS headers are for it), else
    None (no Origin, the bridge's own page, or a refused one)."""
    origin = request.headers.get("Origin")
    return origin if origin in request.app[KEY_ORIGINS] else None


@web.middleware
async def _origins_and_preflight(request, handler):
    origin = request.headers.get("Origin")
    if origin is not None and not _same_origin(request, origin) \
            and origin not in request.app[KEY_ORIGINS]:
        what = "WebSocket" if request.path == "/api/events" else "request"
        raise ApiError(403, "origin-refused", f"{what} from {origin} refused: the bridge "
                       "serves personal data to its own page and to allowed origins only",
                       "serve your page from the bridge, or start the bridge with "
                       "--allow-origin " + origin)
    if request.method == "OPTIONS" and origin is not None \
            and "Access-Control-Request-Method" in request.headers:
        headers = {"Access-Control-Allow-Methods": CORS_METHODS,
                   "Access-Control-Allow-Headers": CORS_HEADERS,
                   "Access-Control-Max-Age": CORS_MAX_AGE}
        if request.headers.get("Access-Control-Request-Private-Network", "").lower() == "true":
            headers["Access-Control-Allow-Private-Network"] = "true"
        return web.Response(status=204, headers=headers)
    return await handler(request)


async def _cors_headers(request, response):
    """on_response_prepare: every response (errors included, so a page can read them) to an
    allowed origin names that origin; all vary by Origin."""
    vary = response.headers.get("Vary", "")
    if "origin" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
    origin = _allowed_origin(request)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin


# -- helpers ---------------------------------------------------------------------------------
def _require_token(request):
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else ""
    if not given or not hmac.compare_digest(given.encode(), request.app[KEY_TOKEN].encode()):
        raise ApiError(401, "unauthorized",
                       "writes, PIN and APDUs need the bridge's token"
                       + (": this one is wrong" if given else ""),
                       "send 'Authorization: Bearer TOKEN' with the token the bridge printed "
                       "at start (or was given with --token)")


async def _body(request, optional=False):
    if not request.can_read_body:
        if optional:
            return {}
        raise bad_request("a JSON object body is needed")
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("the body is not JSON") from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def _reader(request):
    return request.app[KEY_MANAGER].get(request.match_info["id"])


# -- handlers --------------------------------------------------------------------------------
async def index(request):
    return web.FileResponse(STATIC / "index.html")


async def openapi_json(request):
    return json_response(openapi())


async def list_readers(request):
    manager = request.app[KEY_MANAGER]
    await asyncio.gather(*(r.refresh() for r in manager.readers.values()))
    return json_response({"readers": manager.describe()})


async def get_reader(request):
    reader = _reader(request)
    await reader.refresh()
    return json_response(reader.describe())


def _profile_entries(name):
    from reader.cards.healthcard import PROFILES

    if name not in PROFILES:
        raise bad_request(f"unknown profile {name!r}: the profiles are "
                          f"{', '.join(PROFILES)}")
    return list(PROFILES[name])


async def read(request):
    reader = _reader(request)
    body = await _body(request, optional=True)
    entries = list(body.get("files") or []) + list(body.get("fields") or [])
    profile = body.get("profile")
    if profile is not None and entries:
        raise bad_request('give "profile" or "files"/"fields", not both')
    if not all(isinstance(e, str) for e in entries):
        raise bad_request('"files" and "fields" are lists of names (DDF1/EF05, XM, …)')
    if not entries:
        if profile is None:
            profile = (await reader.call("config")).get("read_profile", "identity")
        entries = _profile_entries(profile)
    files = [e for e in entries if "/" in e]
    fields = [e for e in entries if "/" not in e]
    kwargs = {}
    if "record" in body:
        kwargs["record"] = body["record"]
    if kwargs:
        answer = await reader.call("request", hostlink.READ,
                                   {"files": files, "fields": fields, **kwargs})
    else:
        answer = await reader.call("read", files=files or None, fields=fields or None)
    out = {"reader": reader.id}
    if profile is not None:
        out["profile"] = profile
    out.update(to_national(answer))
    return json_response(out)


def _national_read(name):
    spec = NATIONAL_READS[name]

    async def handler(request):
        negative = request.app[KEY_NEGATIVE_RET]
        try:
            reader = _reader(request)
            args = []
            if spec["record"]:
                try:
                    args.append(int(request.query["recNo"]))
                except (KeyError, ValueError):
                    raise bad_request(f"{name} needs ?recNo=N (the record number, from 1)") \
                        from None
            answer = await reader.call(name, *args)  # national forms: AN already text
        except Exception as error:  # noqa: BLE001 - the usual error answer, plus "ret"
            if isinstance(error, ValueError):    # a parameter the Reader refused (recNo)
                error = bad_request(str(error))
            api = from_exception(error, request.match_info.get("id"))
            if api is None:
                raise
            return json_response({**api.body, "ret": national_ret(error, negative)}, api.status)
        return json_response({"reader": reader.id, "ret": national_ret(None, negative),
                              **answer})

    handler.__name__ = name
    return handler


async def write(request):
    _require_token(request)
    reader = _reader(request)
    body = await _body(request)
    file, fields = body.get("file"), body.get("fields")
    if not isinstance(file, str) or not isinstance(fields, dict) or not fields:
        raise bad_request('give "file" (e.g. DDF1/EF08) and "fields": {NAME: value, …}')
    try:
        fields = to_device(fields)
    except ValueError as error:
        raise bad_request(str(error)) from None
    await reader.call("write", file, fields, body.get("record"))
    return json_response({"reader": reader.id, "file": file, "written": sorted(fields)})


async def apdu(request):
    _require_token(request)
    reader = _reader(request)
    body = await _body(request)
    commands = body.get("apdu")
    commands = [commands] if isinstance(commands, str) else commands
    if not commands or not all(isinstance(c, str) for c in commands):
        raise bad_request('give "apdu": hex or a list of hex, and "slot"')
    try:
        slot = hostlink.slot_name(body.get("slot", "card"))
        commands = [bytes.fromhex(c.replace(" ", "")) for c in commands]
    except ValueError as error:
        raise bad_request(str(error)) from None
    out = {"reader": reader.id, "slot": slot}
    if body.get("power_on"):
        out["power"] = await reader.call("power_on", slot)
    responses = []
    # "power_off": end the slot's session after the APDUs (the reader polls for taps again);
    # without it the slot stays held until power-off or the reader's idle time
    try:
        for command in commands:
            rsp = await reader.call("apdu", slot, command)
            responses.append({"apdu": command.hex().upper(), "rsp": rsp.hex().upper(),
                              "sw": rsp[-2:].hex().upper()})
    except Exception:
        if body.get("power_off"):
            with contextlib.suppress(Exception):   # the APDU's error is the one to tell
                await reader.call("power_off", slot)
        raise
    if body.get("power_off"):
        await reader.call("power_off", slot)
        out["powered_off"] = True
    out["responses"] = responses
    return json_response(out)


async def power_off(request):
    _require_token(request)
    reader = _reader(request)
    body = await _body(request, optional=True)
    try:
        slot = hostlink.slot_name(body.get("slot", "card"))
    except ValueError as error:
        raise bad_request(str(error)) from None
    await reader.call("power_off", slot)
    return json_response({"reader": reader.id, "slot": slot, "powered_off": True,
                          "held_by_host": reader.describe()["held_by_host"]})


async def pin(request):
    _require_token(request)
    reader = _reader(request)
    body = await _body(request)
    if "pin" in body:
        answer = await reader.call("verify_pin", str(body["pin"]))
    elif "old" in body and "new" in body:
        answer = await reader.call("change_pin", str(body["old"]), str(body["new"]))
    else:
        raise bad_request('give "pin" to verify, or "old" and "new" to change it')
    return json_response({"reader": reader.id, **answer})


async def events(request):
    # (a foreign Origin was refused by _origins_and_preflight: events carry personal data)
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    hub = request.app[KEY_HUB]
    queue = hub.subscribe()
    request.app[KEY_SOCKETS].add(ws)
    await ws.send_json({"type": "hello", "readers": request.app[KEY_MANAGER].describe()})
    sender = asyncio.get_running_loop().create_task(_pump(queue, ws))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and msg.data == "ping":
                await ws.send_str('{"type":"pong"}')
    finally:
        sender.cancel()
        hub.unsubscribe(queue)
        request.app[KEY_SOCKETS].discard(ws)
    return ws


def _same_origin(request, origin):
    return origin.split("://", 1)[-1] == request.host


async def _pump(queue, ws):
    while not ws.closed:
        event = await queue.get()
        try:
            await ws.send_str(json.dumps(event, ensure_ascii=False))
        except ConnectionError:
            return


async def start_site(app, host="127.0.0.1", port=0):
    """Serve `app` in the running loop: (runner, base URL). `await runner.cleanup()` stops
    it. (hcterm bridge, the bench and the tests use this.)"""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound = runner.addresses[0]
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    return runner, f"http://{shown}:{bound[1]}"
