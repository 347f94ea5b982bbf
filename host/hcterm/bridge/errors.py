"""Errors of the bridge's HTTP API: one JSON shape, an HTTP status that fits, what to do.

    {"error": "reader-not-connected", "message": "reader r1 on /dev/ttyUSB0 is disconnected: …",
     "action": "check the cable …", "reader": "r1"}

Device errors (the reader answered ERROR) add `code` and `name` from docs/host-link.md.
Every answer that is not a success has this shape, aiohttp's own too (`http_error`: a
request line or header it could not read, a body over the size limit, an unknown route).
"""

import json

from aiohttp import web

from reader import hostlink

from ..link import (
    DeviceError,
    LinkTimeout,
    NotConnected,
    NotSupported,
    ReaderError,
    RequestTooLarge,
)
from ..link.retcodes import RecordInvalid
from .readers import ReaderBusy, ReaderNotFound

# host-link error code -> (HTTP status, what to do)
DEVICE_STATUS = {
    hostlink.BAD_REQUEST: (400, "fix the request as the message says"),
    hostlink.UNKNOWN_MESSAGE: (501, "update the reader's firmware"),
    hostlink.NOT_SUPPORTED: (501, "this firmware or board does not do it; update the firmware "
                             "or use another reader"),
    hostlink.NO_CARD: (409, "put the card on the reader (or power the slot) and try again"),
    hostlink.NO_SLOT: (422, "use a slot the reader has (GET /api/readers/{id}: device.slots)"),
    hostlink.DEVICE: (502, "the reader's chip or slot failed: try again; if it persists, "
                      "restart the reader"),
    hostlink.CARD: (502, "the card refused the command: check the card and the request"),
    hostlink.AUTH: (403, "PIN or authentication refused: check the PIN (retries are limited)"),
    hostlink.CONFIG: (502, "the reader could not store its configuration: restart it"),
    hostlink.INTERNAL: (502, "a firmware fault: restart the reader and report it"),
}


class ApiError(Exception):
    def __init__(self, status, error, message, action, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"error": error, "message": message, "action": action, **extra}


def json_response(body, status=200):
    return web.Response(status=status, content_type="application/json",
                        text=json.dumps(body, ensure_ascii=False))


def bad_request(message, action="fix the request body (see /api/openapi.json)"):
    return ApiError(400, "bad-request", message, action)


# HTTP status of an error aiohttp raised or answered itself -> (error, what to do)
HTTP_ERRORS = {
    400: ("bad-request", "send a well-formed HTTP/1.1 request (URL and each header under "
          "8 KiB) with a JSON body as /api/openapi.json describes"),
    404: ("no-such-route", "see /api/openapi.json for the routes"),
    405: ("method-not-allowed", "see /api/openapi.json for the methods"),
    408: ("request-timeout", "send the whole request at once, without pauses"),
    413: ("request-too-large", "send a smaller body: the bridge's requests are a few hundred "
          "bytes of JSON"),
    431: ("bad-request", "send shorter headers (each under 8 KiB)"),
}
INTERNAL_ACTION = "retry; if it persists, report it with the bridge's log lines of that time"


def http_error(status, message):
    """The ApiError for an HTTP error status (aiohttp's own, or a route's) and its text."""
    if status >= 500:
        return ApiError(500, "internal", message, INTERNAL_ACTION)
    error, action = HTTP_ERRORS.get(status, ("bad-request", HTTP_ERRORS[400][1]))
    return ApiError(status, error, message, action)


def from_exception(error, reader_id=None):
    """The ApiError for an exception of the reader stack, or None if it is not one."""
    extra = {"reader": reader_id} if reader_id else {}
    if isinstance(error, ApiError):
        return error
    if isinstance(error, ReaderNotFound):
        return ApiError(404, "reader-not-found", str(error),
                        "use an id from GET /api/readers", reader=error.reader_id)
    if isinstance(error, NotConnected):
        return ApiError(503, "reader-not-connected", str(error),
                        "check the reader's cable and power; the bridge reconnects by itself, "
                        "retry in a few seconds", **extra)
    if isinstance(error, ReaderBusy):
        return ApiError(503, "reader-busy", str(error),
                        "the reader is slow or hung: retry in a few seconds; if it persists, "
                        "check the reader (GET /api/readers/{id}) or restart it", **extra)
    if isinstance(error, RequestTooLarge):
        return ApiError(413, "request-too-large", str(error),
                        "split the request: fewer fields or files per read, shorter APDUs",
                        **extra)
    if isinstance(error, LinkTimeout):
        return ApiError(504, "reader-timeout", str(error),
                        "the reader did not answer in time: retry; if it persists, check the "
                        "cable or restart the reader", **extra)
    if isinstance(error, DeviceError):
        status, action = DEVICE_STATUS.get(error.code, (502, "see the message"))
        kind = "not-supported" if isinstance(error, NotSupported) else "device-error"
        return ApiError(status, kind, error.message, action, code=error.code,
                        name=error.name, **extra)
    if isinstance(error, RecordInvalid):
        return ApiError(404, "record-invalid", str(error), "read a record whose index flag is "
                        "00 (iR_DF03EF05Info / iR_DF03EF06Info say which)", **extra)
    if isinstance(error, ReaderError):
        return ApiError(502, "reader-error", str(error), "retry; check the reader", **extra)
    return None
