"""Serving one host request (docs/host-link.md, "Messages"): the link's dispatch (wired once
in reader.main) calls `serve(session, msg, payload)` through `reader.call`, so this module
is in RAM for the request only and a reader that only taps does not keep the request code.

| message                  | today                                                        |
|--------------------------|--------------------------------------------------------------|
| hello, info, selftest    | yes                                                          |
| config-get, config-set   | yes (reader.terminal.settings, /config.json on the flash)    |
| feedback                 | yes (reader.terminal.feedback: beeper, LED, display)         |
| screen                   | boards with a display: what it shows, a page at a time       |
| power-on, power-off, apdu| card: the board's card reader (PN532, MFRC522); sam1: SAM slot |
| read, read-file, write,  | with a terminal flow: reader.terminal.card_requests (writes, |
| verify-pin, change-pin,  | PIN: reader.terminal.card_writes; binary files and DF03 index |
| write-file, visit-flag,  | flags: reader.terminal.card_visits; the keypad's PIN:        |
| verify-pin-on-reader,    | reader.terminal.pin_entry), under the chip lock;             |
|                          | without a flow: not supported                                |
| blacklist-status/update, |                                                              |
| set-time (0x05)          |                                                              |

Chip messages (power-on, power-off, apdu, the card requests) take the terminal's chip lock,
so they never interleave with a tap being read; while the host holds the card slot powered
the terminal does not poll the card.

Every failure is an ERROR answer with a code of hostlink.ERRORS and a message saying what
failed and what to do; nothing is answered with a success it did not achieve.
"""

import gc

import reader
from reader import VERSION, hostlink
from reader.errors import ReaderError, table_line
from reader.hostlink import ERROR, RESPONSE
from reader.terminal.link_server import error_body
from reader.terminal.session import LinkError

_NO_TERMINAL = ("card, blacklist and clock requests are served by the terminal flow, which "
                "is not running: restart the reader (reader.main runs it)")
# driver error kinds (reader.errors) and the health card application's
# (reader.cards.healthcard_errors) with an error code of their own, by the code's name in
# hostlink's table, one a line (a bytes constant read in place); others: device, with the kind
_KIND_ERRORS = (b"\ncard-gone no-card\nunsupported not-supported\nauth auth"
                b"\ncommunication no-card\nauth-failed auth\npin-wrong auth\npin-blocked auth"
                b"\naccess-denied card\nlocked card\nnot-found card\ninvalid-data card"
                b"\nrefused card\n")
_CHIP = (hostlink.POWER_ON, hostlink.POWER_OFF, hostlink.APDU)
# The requests this firmware serves, by code: the handler is named after the message
# (hostlink's names table, "-" -> "_"): a function of reader.terminal.device_requests, or for
# _CARD a method of CardRequests (reader.terminal.card_requests; CardWrites for _WRITES).
_DEVICE = b"\x00\x01\x02\x03\x04\x10\x11\x12\x30\x31\x70"
_CARD = b"\x05\x20\x21\x22\x23\x24\x25\x26\x27\x40\x41"
# reader.terminal.card_writes (write-file, visit-flag: its methods call
# reader.terminal.card_visits); blacklist-*: reader.terminal.blacklist_update
_WRITES = ("write", "verify_pin", "change_pin", "write_file", "visit_flag")


async def serve(h, msg, payload):
    """Request `msg` with its JSON `payload` for session `h` -> (RESPONSE or ERROR, obj)."""
    if msg not in _DEVICE and msg not in _CARD:
        names = sorted(hostlink.message_name(m) for m in _DEVICE + _CARD)
        return ERROR, error_body(hostlink.UNKNOWN_MESSAGE, "unknown message 0x%02X: this "
                                 "firmware (%s) speaks %s" % (msg, VERSION, ", ".join(names)))
    try:
        _bounded(payload)
        obj = hostlink.unpack(payload)
    except ValueError as error:
        return ERROR, error_body(hostlink.BAD_REQUEST, "payload refused: %s; a request "
                                 "is one small JSON object (docs/host-link.md)" % error)
    try:
        if msg in _CHIP and h.chip_lock is not None:
            async with h.chip_lock:
                return RESPONSE, await _call(h, msg, obj)
        return RESPONSE, await _call(h, msg, obj)
    except LinkError as error:
        return ERROR, error_body(error.code, error.message, error.kind)
    except ReaderError as error:
        code = _driver_code(error.kind)
        body = error_body(code, str(error), error.kind)
        if getattr(error, "tries_left", None) is not None:
            body["retries"] = error.tries_left
        return ERROR, body
    except OSError as error:
        return ERROR, error_body(hostlink.DEVICE, "I/O error: %s" % error)
    except Exception as error:  # noqa: BLE001 - a firmware fault is reported, not fatal
        return ERROR, error_body(hostlink.INTERNAL, "%s: %s" % (type(error).__name__, error))


def _bounded(payload):
    """ValueError when the payload is nested too deep or holds too many values. (A plain
    function: its locals live on the stack, not in serve's coroutine on the heap.)"""
    # nesting (6 levels; requests use 3 at most) and values (256; a read's field list has
    # at most a few dozen) counted on the raw bytes first: json.loads of a 1 KiB payload of 500
    # nested arrays would take ~38 KB of heap (literals, not constants: no new globals)
    depth = values = 0
    quoted = escaped = False
    for b in payload:
        if quoted:
            if escaped:
                escaped = False
            elif b == 0x5C:              # backslash
                escaped = True
            elif b == 0x22:
                quoted = False
        elif b == 0x22:
            quoted = True
        elif b == 0x5B or b == 0x7B:     # [ {
            depth += 1
            if depth > 6:
                raise ValueError("nested deeper than 6 levels")
        elif b == 0x5D or b == 0x7D:
            depth -= 1
        elif b == 0x2C:                  # a comma: one more value
            values += 1
            if values > 256:
                raise ValueError("more than 256 values")


def _driver_code(kind):
    """The error code of a driver or card error kind (hostlink's error names)."""
    name = table_line(_KIND_ERRORS, kind)
    for code, entry in hostlink.ERRORS.items():
        if entry == name:
            return code
    return hostlink.DEVICE


async def _call(h, msg, obj):
    name = hostlink.message_name(msg).replace("-", "_")
    if msg in _CARD:
        return await _card(h, name, obj)
    if name == "screen":           # the display's page: boards with one (terminal.screens)
        if not hasattr(h.board, "display"):
            raise LinkError(hostlink.NOT_SUPPORTED, "board %s has no display" % h.board.NAME)
        return reader.call("terminal.screens", "page", h, obj)
    return await _device(h, name, obj)


# -- device info, config, feedback, slots: in RAM while the host holds a slot powered -----
async def _device(h, name, obj):
    from reader.terminal import device_requests

    try:
        return await getattr(device_requests, name)(h, obj)
    finally:
        if not h.host_channels:
            reader.let_go("terminal.device_requests")


# -- card application, blacklist, clock: served beside the terminal flow -------------------
async def _card(h, name, obj):
    if h.terminal is None:
        raise LinkError(hostlink.NOT_SUPPORTED, _NO_TERMINAL)
    if name.startswith("blacklist"):        # the store's own code, no card application
        gc.collect()
        try:
            return reader.call("terminal.blacklist_update", name, h, obj)
        finally:
            h.terminal.let_go()
    if name == "verify_pin_on_reader":     # the keypad's (reader.terminal.pin_entry)
        try:
            return await reader.call("terminal.pin_entry", name, h, obj)
        finally:
            reader.let_go("chips.keypad")
            h.terminal.let_go()
    if name in _WRITES:
        from reader.terminal.card_writes import CardWrites as Requests
    else:
        from reader.terminal.card_requests import CardRequests as Requests
    try:
        return await getattr(Requests(h), name)(obj)
    finally:
        # host requests are rare: their code leaves the heap until the next one
        reader.let_go("terminal.card_visits", "terminal.card_writes", "terminal.card_requests")
        h.terminal.let_go()
