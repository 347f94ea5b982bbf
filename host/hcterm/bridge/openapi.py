"""The OpenAPI 3 description of the bridge (served at /api/openapi.json).

Written by hand; tests/host/test_bridge.py checks that its paths and methods are exactly
the application's routes. The national read routes come from bridge.national.NATIONAL_READS.
"""

from ..link.client import PIN_OUTCOMES
from .national import NATIONAL_QUERIES, NATIONAL_READS, NATIONAL_WRITES

_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
       "description": "reader id from GET /api/readers (r1, r2, …)"}
_BEARER = [{"bearer": []}]


def _error(description):
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


_READER_ERRORS = {
    "404": _error("no such reader; record-invalid: a visit record whose index flag is FF"),
    "409": _error("no card in the field / slot not powered"),
    "501": _error("the reader's firmware does not do this (yet)"),
    "502": _error("the reader or the card failed (device error with its code)"),
    "503": _error("the reader is not connected"),
    "504": _error("the reader did not answer in time"),
}
_AUTH_ERRORS = {"401": _error("no or wrong bearer token"), "400": _error("bad request body")}


def _json(schema, description="ok"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema):
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_FIELDS = {"type": "object", "additionalProperties": True,
           "description": "card fields under the national names (KH, XM, …): AN as text, "
                          "CN as digits, B as hex"}

# Request bodies: the bridge checks them against these schemas (bridge.validate) before
# anything reaches a reader; the sizes keep each link request under its 1 KiB payload.
_NAME = {"type": "string", "minLength": 1, "maxLength": 16}
_RECORD = {"type": "integer", "minimum": 1, "maximum": 255}
_SLOT = {"description": "card, sam1..sam4, or 1, 17..20",
         "oneOf": [{"type": "string", "maxLength": 8}, {"type": "integer", "minimum": 0,
                                                         "maximum": 255}]}
_HEX_APDU = {"type": "string", "minLength": 2, "maxLength": 900,
             "pattern": "[0-9A-Fa-f ]+",
             "description": "an APDU in hex (spaces allowed)"}
_PIN = {"type": "string", "minLength": 1, "maxLength": 16}
_WRITE_FIELDS = {"type": "object", "minProperties": 1, "maxProperties": 32,
                 "additionalProperties": {"oneOf": [{"type": "string", "maxLength": 256},
                                                    {"type": "integer"}]},
                 "description": "card fields under the national names: AN as text, CN as "
                                "digits, B as hex"}


_RET = {"type": "integer", "description": "the national return code: 0 ok, 101 … 113 "
        "(or -1 … -8 with hcterm bridge --negative-ret) on errors"}


def _national(name, spec):
    params = [_ID]
    if spec["record"]:
        params.append({"name": "recNo", "in": "query", "required": True,
                       "schema": {"type": "integer", "minimum": 1}})
    props = {f: {"type": "string"} for f in spec["fields"]}
    return {"get": {
        "operationId": name, "summary": f"{name}: read {spec['file']} "
        f"({', '.join(spec['fields'])})",
        "parameters": params,
        "description": 'Every answer, errors too, carries "ret": the national return code '
                       "(0 ok; docs/bridge.md, Return codes).",
        "responses": {"200": _json({"type": "object", "properties": {
            "reader": {"type": "string"}, "ret": _RET, **props}}), **_READER_ERRORS},
    }}


_RECNO = {"type": "integer", "minimum": 1, "maximum": 5,
          "description": "the record (slot): 1..3 inpatient (EE, EF05), 1..5 outpatient"}
_WRITE_PARAMS = {
    "data": {"type": "string", "maxLength": 3013, "description": "the record's data as text "
             "(written in GBK; at most 1639 bytes for EE, 3013 for ED)"},
    "signature": {"type": "string", "maxLength": 128, "pattern": "^([0-9A-Fa-f]{128})?$",
                  "description": "64 bytes as hex; empty: unwritten"},
    "certificate": {"type": "string", "maxLength": 380, "pattern": "^([0-9A-Fa-f]{380})?$",
                    "description": "190 bytes as hex; empty: unwritten"}}


def _national_write(name, params):
    what = ("write the visit record recNo (whole: data, signature, certificate; plain "
            "UPDATE BINARY after UK_DF03_1); then set its flag (iW_DF03EF05Info / EF06Info)"
            if params else "erase (840C, UK_DF03_2) the index flag recNo: the record is free"
            if name.startswith("iErase_") else "set (84D2, UK_DF03_1) the index flag recNo: "
            "the record is used")
    return {"post": {
        "operationId": name, "summary": f"{name}: {what}", "parameters": [_ID],
        "security": _BEARER,
        "description": 'Every answer, errors too, carries "ret": the national return code '
                       "(0 ok; docs/bridge.md, Return codes).",
        "requestBody": _body({"type": "object", "required": ["recNo"],
                              "additionalProperties": False,
                              "properties": {"recNo": _RECNO,
                                             **{p: _WRITE_PARAMS[p] for p in params}}}),
        "responses": {"200": _json({"type": "object", "properties": {
            "reader": {"type": "string"}, "ret": _RET}}), **_AUTH_ERRORS,
            **_READER_ERRORS}}}


def _national_query(name):
    kind = "inpatient (EE)" if "EE" in name else "outpatient (ED)"
    return {"get": {
        "operationId": name, "summary": f"{name}: the {kind} record slot the next visit goes "
        "in: the first whose index flag is FF, else the one whose data has the oldest date",
        "parameters": [_ID],
        "responses": {"200": _json({"type": "object", "properties": {
            "reader": {"type": "string"}, "ret": _RET,
            "index": {"type": "integer"}}}), **_READER_ERRORS}}}


def openapi():
    paths = {
        "/": {"get": {"operationId": "page", "summary": "the integrator page (HTML)",
                      "responses": {"200": {"description": "HTML page",
                                            "content": {"text/html": {}}}}}},
        "/api/openapi.json": {"get": {"operationId": "openapi", "summary": "this description",
                                      "responses": {"200": _json({"type": "object"})}}},
        "/api/readers": {"get": {
            "operationId": "listReaders", "summary": "the readers, their state and device info",
            "responses": {"200": _json({"type": "object", "properties": {
                "readers": {"type": "array",
                            "items": {"$ref": "#/components/schemas/Reader"}}}})}}},
        "/api/readers/{id}": {"get": {
            "operationId": "getReader", "summary": "one reader", "parameters": [_ID],
            "responses": {"200": _json({"$ref": "#/components/schemas/Reader"}),
                          "404": _error("no such reader")}}},
        "/api/readers/{id}/read": {"post": {
            "operationId": "read", "summary": "read the card on the reader: a profile "
            "(identity, issuer, cardholder, …), files and/or fields; none: the reader's "
            "configured read profile", "parameters": [_ID],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False, "properties": {
                    "profile": {"type": "string", "maxLength": 32},
                    "files": {"type": "array", "maxItems": 32, "items": _NAME},
                    "fields": {"type": "array", "maxItems": 64, "items": _NAME},
                    "record": _RECORD}}}}},
            "responses": {"200": _json(_FIELDS), "400": _error("bad request"),
                          **_READER_ERRORS}}},
        "/api/readers/{id}/write": {"post": {
            "operationId": "write", "summary": "write items of one card file (AN as text)",
            "parameters": [_ID], "security": _BEARER,
            "requestBody": _body({"type": "object", "required": ["file", "fields"],
                                  "additionalProperties": False,
                                  "properties": {"file": _NAME, "record": _RECORD,
                                                 "fields": _WRITE_FIELDS}}),
            "responses": {"200": _json({"type": "object"}), **_AUTH_ERRORS,
                          **_READER_ERRORS}}},
        "/api/readers/{id}/apdu": {"post": {
            "operationId": "apdu", "summary": "raw APDUs to a slot (national SendAPDU)",
            "parameters": [_ID], "security": _BEARER,
            "requestBody": _body({"type": "object", "required": ["apdu"],
                                  "additionalProperties": False, "properties": {
                "slot": _SLOT,
                "apdu": {"oneOf": [_HEX_APDU, {"type": "array", "minItems": 1,
                                               "maxItems": 64, "items": _HEX_APDU}]},
                "power_on": {"type": "boolean"},
                "power_off": {"type": "boolean", "description": "power the slot off after the "
                              "APDUs (the reader polls for taps again)"}}}),
            "responses": {"200": _json({"type": "object", "properties": {
                "slot": {"type": "string"}, "power": {"type": "object"},
                "powered_off": {"type": "boolean"},
                "responses": {"type": "array", "items": {"type": "object", "properties": {
                    "apdu": {"type": "string"}, "rsp": {"type": "string"},
                    "sw": {"type": "string"}}}}}}), **_AUTH_ERRORS, **_READER_ERRORS}}},
        "/api/readers/{id}/power-off": {"post": {
            "operationId": "powerOff", "summary": "end a slot's APDU session (national "
            "PowerOff): the reader releases the card and polls for taps again",
            "parameters": [_ID], "security": _BEARER,
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False, "properties": {
                    "slot": {**_SLOT, "description": "card (default), sam1..sam4, or 1, "
                             "17..20"}}}}}},
            "responses": {"200": _json({"type": "object", "properties": {
                "slot": {"type": "string"}, "powered_off": {"type": "boolean"},
                "held_by_host": {"type": "array", "items": {"type": "string"}}}}),
                **_AUTH_ERRORS, **_READER_ERRORS}}},
        "/api/readers/{id}/screen.png": {"get": {
            "operationId": "screen", "summary": "what the reader's display shows now, as a "
            "PNG (readers with a display; 501-style not-supported error without one)",
            "parameters": [_ID],
            "responses": {"200": {"description": "the 128x64 screen, 4x, as a PNG",
                                  "content": {"image/png": {}}}, **_READER_ERRORS}}},
        "/api/readers/{id}/pin": {"post": {
            "operationId": "pin", "summary": "verify (pin) or change (old, new) the PIN; "
            "on_reader: the cardholder types it on the reader's keypad (national VerifyPIN: "
            "the answer gives the outcome and the retries left; the PIN never reaches the "
            "bridge)",
            "parameters": [_ID], "security": _BEARER,
            "requestBody": _body({"type": "object", "additionalProperties": False,
                                  "properties": {"pin": _PIN, "old": _PIN, "new": _PIN,
                                                 "on_reader": {"type": "boolean"},
                                                 "timeout_s": {"type": "integer",
                                                               "minimum": 5,
                                                               "maximum": 120}}}),
            "responses": {"200": _json({"type": "object", "properties": {
                "outcome": {"type": "string", "enum": list(PIN_OUTCOMES)},
                "retries": {"type": "integer", "minimum": 0}}}), **_AUTH_ERRORS,
                          "403": _error("PIN refused"), **_READER_ERRORS}}},
        "/api/blacklist": {"post": {
            "operationId": "pushBlacklist", "summary": "push a signed blacklist or delta "
            "(docs/blacklist-format.md) to the readers: all, or ?reader=ID; each reader "
            "checks the platform's signature and keeps its old list if it refuses",
            "parameters": [{"name": "reader", "in": "query", "required": False,
                            "schema": {"type": "string"},
                            "description": "one reader's id (default: every reader)"}],
            "security": _BEARER,
            "requestBody": {"required": True, "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary", "maxLength": 16 * 2**20,
                           "description": "the signed list or delta file, as the platform "
                                          "published it (at most 16 MiB)"}}}},
            "responses": {
                "200": _json({"$ref": "#/components/schemas/BlacklistPush"},
                             "every reader installed it (or held it already)"),
                "400": _json({"$ref": "#/components/schemas/BlacklistPush"},
                             "not a blacklist file, or the reader(s) refused it (unsigned, "
                             "not the platform's signature, rolled back, wrong base, "
                             "expired, too big): the error shape and `results`"),
                "401": _error("no or wrong bearer token"),
                "404": _error("no such reader"),
                "413": _error("over 16 MiB"),
                "502": _json({"$ref": "#/components/schemas/BlacklistPush"},
                             "readers failed in different ways (error "
                             "blacklist-not-installed, each reader's error in `results`)"),
                "503": _json({"$ref": "#/components/schemas/BlacklistPush"},
                             "the reader(s) not connected")}}},
        "/api/events": {"get": {
            "operationId": "events", "summary": "WebSocket: one JSON text message per event "
            "(hello, state, tap, removed, qr, error, selftest); card fields at the top level",
            "responses": {"101": {"description": "switching to WebSocket"},
                          "403": _error("Origin not allowed")}}},
    }
    for name, spec in NATIONAL_READS.items():
        paths[f"/api/readers/{{id}}/{name}"] = _national(name, spec)
    for name, params in NATIONAL_WRITES.items():
        paths[f"/api/readers/{{id}}/{name}"] = _national_write(name, params)
    for name in NATIONAL_QUERIES:
        paths[f"/api/readers/{{id}}/{name}"] = _national_query(name)
    return {
        "openapi": "3.0.3",
        "info": {"title": "hcterm bridge", "version": "1",
                 "description": "Health card readers over HTTP/JSON and WebSocket, with the "
                                "national reader interface's names (docs/bridge.md)."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message", "action"],
                          "properties": {"error": {"type": "string"},
                                         "message": {"type": "string"},
                                         "action": {"type": "string"},
                                         "reader": {"type": "string"},
                                         "code": {"type": "integer"},
                                         "name": {"type": "string"}}},
                "Reader": {"type": "object", "properties": {
                    "id": {"type": "string"}, "port": {"type": "string"},
                    "state": {"type": "string",
                              "enum": ["connecting", "connected", "disconnected"]},
                    "device": {"type": "object", "nullable": True},
                    "last_error": {"type": "string", "nullable": True},
                    "since": {"type": "number"}, "events": {"type": "integer"},
                    "reconnects": {"type": "integer"},
                    "held_by_host": {"type": "array", "items": {"type": "string"},
                                     "description": "slots the host holds powered (the "
                                     "reader does not poll for taps while card is held)"},
                    "host_slot_ended": {"type": "object", "nullable": True,
                                        "description": "the last hold the reader ended: "
                                        "slot, why (power-off, idle N s, card lost, new host "
                                        "session), ago_s"},
                    "blacklist": {"$ref": "#/components/schemas/BlacklistStatus"}}},
                "BlacklistStatus": {
                    "type": "object", "nullable": True,
                    "description": "the reader's blacklist-status (docs/blacklist-format.md), "
                                   "null until the bridge asked; asked at each connection, "
                                   "after each push and every 10 minutes",
                    "properties": {
                        "installed": {"type": "boolean"}, "version": {"type": "integer"},
                        "count": {"type": "integer"}, "ehc_count": {"type": "integer"},
                        "issued": {"type": "integer"}, "format": {"type": "integer"},
                        "stale": {"type": "boolean"},
                        "age_s": {"type": "integer", "description": "since the list was "
                                  "issued, by the bridge's clock"},
                        "checked": {"type": "number", "description": "when the bridge asked"},
                        "error": {"type": "string", "description": "why the status is "
                                  "unknown"},
                        "download": {"type": "object", "description": "a push in progress "
                                     "(version, kind, received, total bytes of the body), or "
                                     "one the reader holds open (open_on_reader: the next "
                                     "push of that file continues it)"}}},
                "BlacklistPush": {"type": "object", "required": ["results"], "properties": {
                    "version": {"type": "integer"},
                    "kind": {"type": "string", "enum": ["list", "delta"]},
                    "error": {"type": "string"}, "message": {"type": "string"},
                    "action": {"type": "string"},
                    "results": {"type": "array", "items": {"type": "object", "properties": {
                        "reader": {"type": "string"}, "ok": {"type": "boolean"},
                        "blacklist": {"$ref": "#/components/schemas/BlacklistStatus"},
                        "status": {"type": "integer", "description": "failed: the HTTP "
                                   "status of its error"},
                        "error": {"type": "string"}, "message": {"type": "string"},
                        "action": {"type": "string"}, "code": {"type": "integer"},
                        "name": {"type": "string"}}}}}},
            },
        },
    }
