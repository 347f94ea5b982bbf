"""The bridge's aiohttp application: HTTP/JSON API, WebSocket events, the integrator page.

    app = create_app(["/dev/ttyUSB0"], token="…", verifier=None)
    web.run_app(app, host="127.0.0.1", port=8765)

Routes (docs/bridge.md; the OpenAPI description at /api/openapi.json lists the same):
`GET /` the integrator page, `GET /api/readers`, `GET /api/readers/{id}`,
`POST /api/readers/{id}/read|write|apdu|power-off|pin`, `GET /api/readers/{id}/iR_…Info`
(one per national read function), `POST /api/blacklist` (a signed list or delta to the
readers), `GET /api/events` (WebSocket). write, apdu, power-off, pin and blacklist need
`Authorization: Bearer TOKEN`.

Hosts: every request's `Host` must name the bridge: a loopback name (127.0.0.1, localhost,
[::1]) or the address it was reached on, with the bridge's port, or one given in
`allow_hosts` (NAME or NAME:PORT); any other is refused (403 `host-refused`), so a page whose
DNS name was rebound to 127.0.0.1 gets nothing.

Origins: a request with an `Origin` header that is neither the bridge's own nor one given
in `allow_origins` is refused (403 `origin-refused`); programs send no `Origin` and are
served. The allowed origins get CORS: preflights (`OPTIONS`, with Private Network Access)
are answered 204, and every response to them carries `Access-Control-Allow-Origin`.

Errors, aiohttp's own included (a request it cannot read, a body over `MAX_BODY`, a route
that failed), are answered in the JSON shape of bridge.errors; bodies are checked by
bridge.validate before they reach a reader. Clients are timed out: a request's head must
come within `head_timeout` of the connection (or of the last answer: `idle_timeout`, the
keep-alive), its body within `body_timeout`.
"""

import asyncio
import contextlib
import hmac
import json
import time
from pathlib import Path

from aiohttp import WSMsgType, web
from aiohttp.web_protocol import RequestHandler

from reader import hostlink

from .. import blacklist_files
from ..link.fields import to_device, to_national
from .errors import ApiError, bad_request, from_exception, http_error, json_response
from .events import EventHub, EventRouter
from .logs import bridge_logger, mask_ids
from .national import NATIONAL_QUERIES, NATIONAL_READS, NATIONAL_WRITES, national_ret
from .openapi import openapi
from .readers import ReaderManager
from .validate import check, parse_json, request_schema

STATIC = Path(__file__).parent / "static"
KEY_MANAGER = web.AppKey("manager", ReaderManager)
KEY_HUB = web.AppKey("hub", EventHub)
KEY_ROUTER = web.AppKey("router", EventRouter)
KEY_TOKEN = web.AppKey("token", str)
KEY_ORIGINS = web.AppKey("origins", frozenset)
KEY_LOG = web.AppKey("log", object)
KEY_SOCKETS = web.AppKey("websockets", set)
KEY_NEGATIVE_RET = web.AppKey("negative_ret", bool)
KEY_HOSTS = web.AppKey("hosts", frozenset)
KEY_CLIENT_TIMEOUTS = web.AppKey("client_timeouts", dict)
KEY_FLEET = web.AppKey("fleet", object)     # hcterm.fleet.bridge.FleetBridge, or None

MAX_BODY = 64 * 1024          # bytes of request body (a request is a few hundred)
MAX_BLACKLIST = 16 * 1024 * 1024   # a signed list (a million ID numbers: 2.4 MB) or delta
BLACKLIST_BODY_TIMEOUT = 60.0      # seconds for its body to arrive
CLIENT_TIMEOUTS = {"head_timeout": 10.0, "body_timeout": 10.0, "idle_timeout": 15.0}
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def create_app(ports, token, verifier=None, log=None, timeout=5.0, allow_origins=(),
               reader_factory=None, negative_ret=False, allow_hosts=(), fleet=None,
               **client_timeouts):
    """`fleet`: hcterm.fleet.bridge.FleetSettings to join the fleet's MQTT broker
    (docs/fleet.md), else None."""
    if not token:
        raise ValueError("the bridge needs a token for writes, PIN and APDUs")
    unknown = set(client_timeouts) - set(CLIENT_TIMEOUTS)
    if unknown:
        raise TypeError(f"create_app: unknown arguments {', '.join(sorted(unknown))}")
    log = log or bridge_logger()
    app = web.Application(middlewares=[_errors_and_access_log, _allowed_host,
                                       _origins_and_preflight], client_max_size=MAX_BODY)
    app[KEY_HOSTS] = frozenset(parse_host(h) for h in allow_hosts)
    app[KEY_CLIENT_TIMEOUTS] = {**CLIENT_TIMEOUTS, **client_timeouts}
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
    app[KEY_FLEET] = None
    if fleet is not None:
        from ..fleet.bridge import FleetBridge

        app[KEY_FLEET] = FleetBridge(app[KEY_MANAGER], router, fleet, log)
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
    app.router.add_get("/api/readers/{id}/screen.png", screen_png)
    for name in (*NATIONAL_READS, *NATIONAL_QUERIES):
        app.router.add_get(f"/api/readers/{{id}}/{name}", _national(name))
    for name in NATIONAL_WRITES:
        app.router.add_post(f"/api/readers/{{id}}/{name}", _national(name))
    app.router.add_post("/api/blacklist", blacklist)
    app.router.add_get("/api/events", events)
    return app


# -- life -----------------------------------------------------------------------------------
async def _start(app):
    app[KEY_SOCKETS] = set()
    await app[KEY_MANAGER].start()
    if app[KEY_FLEET] is not None:
        await app[KEY_FLEET].start()
    app[KEY_LOG].info("bridge started", extra={"fields": {
        "readers": {r.id: r.port for r in app[KEY_MANAGER].readers.values()}}})


async def _close_websockets(app):
    for ws in list(app[KEY_SOCKETS]):
        await ws.close(code=1001, message=b"bridge shutting down")


async def _stop(app):
    if app[KEY_FLEET] is not None:
        await app[KEY_FLEET].stop()
    await app[KEY_MANAGER].stop()
    await app[KEY_ROUTER].close()


@web.middleware
async def _errors_and_access_log(request, handler):
    start = time.perf_counter()
    try:
        response = await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        if error.status == 404:
            message = f"no route {request.method} {request.path}"
        elif error.status == 405:
            message = f"{request.method} is not allowed on {request.path}"
        elif error.status == 413:
            message = f"the body is over the bridge's {MAX_BODY // 1024} KiB"
        else:
            message = error.text or error.reason
        error = http_error(error.status, message)
        response = json_response(error.body, error.status)
    except asyncio.CancelledError:
        raise
    except Exception as error:  # noqa: BLE001 - every failure is answered in the JSON shape
        api = from_exception(error, request.match_info.get("id"))
        if api is None:
            request.app[KEY_LOG].exception("internal error", extra={"fields": {
                "method": request.method, "path": request.path}})
            api = http_error(500, f"the bridge failed on {request.method} {request.path}: "
                             f"{type(error).__name__}")
        response = json_response(api.body, api.status)
    fields = {"method": request.method, "path": request.path, "status": response.status,
              "ms": round((time.perf_counter() - start) * 1000, 1)}
    request.app[KEY_LOG].info("http", extra={"fields": fields})
    return response


# -- hosts (DNS rebinding) -------------------------------------------------------------------
def parse_host(text):
    """'name', 'name:8765', '[::1]:8765', '::1' -> (name lowered, port or None);
    ValueError when it is none of these."""
    text = text.strip().lower()
    if text.startswith("["):
        name, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
        if rest and port is None:
            raise ValueError(f"host {text!r}: expected NAME, NAME:PORT or [IPv6]:PORT")
    elif text.count(":") == 1:
        name, port = text.split(":")
    else:
        name, port = text, None
    name = name.rstrip(".")
    if not name or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ValueError(f"host {text!r}: expected NAME, NAME:PORT or [IPv6]:PORT")
    return name, int(port) if port is not None else None


def _host_allowed(request):
    header = request.headers.get("Host")
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    if not header or not sock:
        return False
    try:
        name, port = parse_host(header)
    except ValueError:
        return False
    port = 80 if port is None else port
    if port == sock[1] and (name in LOOPBACK_NAMES or name == str(sock[0]).lower()):
        return True
    return any(name == allowed and (want is None and port == sock[1] or want == port)
               for allowed, want in request.app[KEY_HOSTS])


@web.middleware
async def _allowed_host(request, handler):
    if not _host_allowed(request):
        host = request.headers.get("Host")
        raise ApiError(403, "host-refused", f"Host {(host or '(none)')[:100]!r} refused: the "
                       "bridge answers only requests addressed to it by a loopback name "
                       "(127.0.0.1, localhost, [::1]), the address it listens on, or a name "
                       "given with --allow-host (a page whose DNS name was rebound to this "
                       "machine gets nothing)",
                       "address the bridge as http://127.0.0.1:PORT/, or start it with "
                       "--allow-host NAME[:PORT] for the name your HIS uses")
    return await handler(request)


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
    # (a header that is not UTF-8 comes with surrogates: compared as its bytes, never equal)
    if not given or not hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                            request.app[KEY_TOKEN].encode()):
        raise ApiError(401, "unauthorized",
                       "writes, PIN and APDUs need the bridge's token"
                       + (": this one is wrong" if given else ""),
                       "send 'Authorization: Bearer TOKEN' with the token the bridge printed "
                       "at start (or was given with --token)")


async def _body(request, optional=False):
    """The request's JSON object, checked against its route's schema (bridge.validate):
    read within body_timeout, at most MAX_BODY bytes (413 from aiohttp beyond)."""
    if not request.can_read_body:
        if optional:
            return {}
        raise bad_request("a JSON object body is needed")
    wait = request.app[KEY_CLIENT_TIMEOUTS]["body_timeout"]
    try:
        async with asyncio.timeout(wait):
            raw = await request.read()
    except TimeoutError:
        raise http_error(408, f"the body did not arrive within {wait:g} s") from None
    if not raw.strip() and optional:
        return {}
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    schema = request_schema(request.match_info.route.resource.canonical)
    if schema:
        check(body, schema)
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


async def _national_args(request, name):
    """A national route's arguments: ?recNo=N of a read, the JSON body of a DF03 write
    ({"recNo", "data", "signature", "certificate"}; token needed)."""
    if name in NATIONAL_WRITES:
        _require_token(request)
        body = await _body(request)
        return [body["recNo"], *(body.get(p, "") for p in NATIONAL_WRITES[name])]
    if name in NATIONAL_READS and NATIONAL_READS[name]["record"]:
        try:
            return [int(request.query["recNo"])]
        except (KeyError, ValueError):
            raise bad_request(f"{name} needs ?recNo=N (the record number, from 1)") from None
    return []


def _national(name):
    async def handler(request):
        negative = request.app[KEY_NEGATIVE_RET]
        try:
            reader = _reader(request)
            args = await _national_args(request, name)
            answer = await reader.call(name, *args)  # national forms: AN already text
        except Exception as error:  # noqa: BLE001 - the usual error answer, plus "ret"
            if isinstance(error, ValueError):    # a parameter the Reader refused (recNo)
                error = bad_request(str(error))
            api = from_exception(error, request.match_info.get("id"))
            if api is None:
                raise
            ret = national_ret(error, name, negative)
            return json_response({**api.body, "ret": ret}, api.status)
        return json_response({"reader": reader.id, "ret": national_ret(None, name, negative),
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


async def screen_png(request):
    """What the reader's display shows now, as a PNG (boards with a display; the page
    refreshes it on each event)."""
    from ..screen_image import png, rows_from_pages

    buffer = await _reader(request).call("screen")
    return web.Response(body=png(rows_from_pages(buffer)), content_type="image/png",
                        headers={"Cache-Control": "no-store"})


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
    if body.get("on_reader") is True:      # typed on the reader's keypad: never sent here
        timeout_s = body.get("timeout_s", 30)
        if not isinstance(timeout_s, int) or isinstance(timeout_s, bool) \
                or not 5 <= timeout_s <= 120:
            raise bad_request("timeout_s: whole seconds, 5-120")
        answer = await reader.call("VerifyPIN", None, timeout_s=timeout_s)
    elif "pin" in body:
        answer = await reader.call("verify_pin", str(body["pin"]))
    elif "old" in body and "new" in body:
        answer = await reader.call("change_pin", str(body["old"]), str(body["new"]))
    else:
        raise bad_request('give "pin" to verify, "on_reader": true to have it typed on the '
                          'reader\'s keypad, or "old" and "new" to change it')
    return json_response({"reader": reader.id, **answer})


async def _blacklist_body(request):
    """The raw body of POST /api/blacklist (up to MAX_BLACKLIST bytes, within
    BLACKLIST_BODY_TIMEOUT), as bytes."""
    size = request.content_length
    if size is not None and size > MAX_BLACKLIST:
        raise http_error(413, f"the body has {size} bytes, over the bridge's "
                         f"{MAX_BLACKLIST // 2**20} MiB for a blacklist file")
    chunks, total = [], 0
    try:
        async with asyncio.timeout(BLACKLIST_BODY_TIMEOUT):
            while True:
                chunk = await request.content.read(65536)
                if not chunk:
                    break
                total += len(chunk)
                if total > MAX_BLACKLIST:
                    raise http_error(413, f"the body is over the bridge's "
                                     f"{MAX_BLACKLIST // 2**20} MiB for a blacklist file")
                chunks.append(chunk)
    except TimeoutError:
        raise http_error(408, f"the body did not arrive within {BLACKLIST_BODY_TIMEOUT:g} s") \
            from None
    return b"".join(chunks)


def _push_error(error, reader_id):
    """The ApiError of a failed push to one reader."""
    if isinstance(error, blacklist_files.ListError):
        return ApiError(400, "bad-request", str(error), "send the signed file the platform "
                        "published, whole", reader=reader_id)
    api = from_exception(error, reader_id)
    if api is not None and api.body.get("code") == hostlink.BAD_REQUEST:
        api.body["action"] = ("the reader refused the file and keeps its old list: send the "
                              "list or delta the platform signed, at a version above the "
                              "reader's (a delta: on the reader's version; else the full "
                              "list), as the message says")
    return api


async def blacklist(request):
    """POST /api/blacklist[?reader=ID]: push a signed list or delta to the readers (all, or
    one), each its own result: its new blacklist status, or its error in the JSON shape (the
    reader's refusal: unsigned, not the platform's signature, rolled back, wrong base, …)."""
    _require_token(request)
    manager = request.app[KEY_MANAGER]
    wanted = request.query.get("reader")
    readers = [manager.get(wanted)] if wanted else list(manager.readers.values())
    data = await _blacklist_body(request)
    try:
        h = blacklist_files.header(data)
    except blacklist_files.ListError as error:
        raise bad_request(f"not a blacklist file: {error}", "send a signed list or delta "
                          "(hcterm blacklist build/delta, then sign) as "
                          "application/octet-stream") from None
    answers = await asyncio.gather(*(r.push_blacklist(data) for r in readers),
                                   return_exceptions=True)
    results, failed = [], []
    for reader, answer in zip(readers, answers):
        if isinstance(answer, BaseException):
            api = _push_error(answer, reader.id)
            if api is None:
                raise answer
            failed.append(api)
            results.append({"reader": reader.id, "ok": False, "status": api.status,
                            **api.body})
        else:
            results.append({"reader": reader.id, "ok": True, "blacklist": answer})
    kind = "list" if h["kind"] == 1 else "delta"
    out = {"version": h["version"], "kind": kind, "results": results}
    request.app[KEY_LOG].info("blacklist push", extra={"fields": {
        "version": h["version"], "kind": kind, "readers": len(readers),
        "failed": [a.body.get("reader") for a in failed]}})
    if not failed:
        return json_response(out)
    statuses = {a.status for a in failed}
    status = statuses.pop() if len(statuses) == 1 else 502
    if len(readers) == 1:
        return json_response({**failed[0].body, **out}, status)
    return json_response({
        "error": "blacklist-not-installed",
        "message": f"{len(failed)} of {len(readers)} readers did not install the {kind} "
                   f"version {h['version']}: " + "; ".join(
                       f"{a.body.get('reader')}: {a.body['message']}" for a in failed),
        "action": "see each reader's result: its action says what to do; the readers that "
                  "installed it keep it, the others keep their old list", **out}, status)


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


class _Connection(RequestHandler):
    """aiohttp's connection handler, with its own error answers in the bridge's JSON shape
    and logged (masked) like the others, and a deadline for the first request's head (aiohttp
    times out idle keep-alive connections, not a client that never finishes its first)."""

    head_timeout = CLIENT_TIMEOUTS["head_timeout"]
    _head_timer = None

    def connection_made(self, transport):
        super().connection_made(transport)
        self._head_timer = self._loop.call_later(self.head_timeout, self._head_late)

    def connection_lost(self, exc):
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _head_late(self):
        self._head_timer = None
        if not getattr(self, "_request_count", 1):     # no request head came in time
            peer = self.transport.get_extra_info("peername") if self.transport else None
            self.logger.info("client timed out", extra={"fields": {
                "peer": str(peer), "why": f"no request within {self.head_timeout:g} s"}})
            self.force_close()

    def handle_error(self, request, status=500, exc=None, message=None):
        super().handle_error(request, status, exc, message)   # its log line; raises if sent
        text = mask_ids(str(message or exc or status))[:300]
        error = http_error(status, "the HTTP request could not be read: " + text
                           if status < 500 else "the bridge failed on this request")
        self.logger.info("http", extra={"fields": {"status": status, "error": text}})
        response = json_response(error.body, error.status)
        response.force_close()
        return response


class _Server(web.Server):
    head_timeout = CLIENT_TIMEOUTS["head_timeout"]

    def __call__(self):
        connection = _Connection(self, loop=self._loop, **self._kwargs)
        connection.head_timeout = self.head_timeout
        return connection


class _Runner(web.AppRunner):
    async def _make_server(self):
        server = await super()._make_server()
        server.__class__ = _Server   # the same server, making _Connection handlers
        server.head_timeout = self.app[KEY_CLIENT_TIMEOUTS]["head_timeout"]
        return server


async def start_site(app, host="127.0.0.1", port=0):
    """Serve `app` in the running loop: (runner, base URL). `await runner.cleanup()` stops
    it. (hcterm bridge, the bench and the tests use this.)"""
    if KEY_CLIENT_TIMEOUTS in app:
        timeouts = app[KEY_CLIENT_TIMEOUTS]
        # lingering: how long the rest of a body refused unread is read before the close
        runner = _Runner(app, access_log=None, logger=app[KEY_LOG],
                         keepalive_timeout=timeouts["idle_timeout"],
                         lingering_time=min(2.0, timeouts["body_timeout"]))
    else:   # another app (the tests' fake QR platform)
        runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound = runner.addresses[0]
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    return runner, f"http://{shown}:{bound[1]}"
