"""Serving one host request (docs/host-link.md, "Messages"): reader.linkhandlers.Handlers
imports this module for each request and lets it go after the answer, so a reader that
only taps does not keep the request code in RAM.

| message                  | today                                                        |
|--------------------------|--------------------------------------------------------------|
| hello, info, selftest    | yes                                                          |
| config-get, config-set   | yes (reader.config, /config.json on the flash)               |
| feedback                 | yes (reader.feedback: beeper, LED, display)                  |
| power-on, power-off, apdu| card: reader.hardware (PN532, MFRC522); sam1: SAM slot (T=0) |
| read, read-file, write,  | with a terminal (reader.terminal): reader.terminal_requests  |
| verify-pin, change-pin,  | (writes, PIN: reader.terminal_writes), under the terminal's  |
|                          | chip lock; without one: not supported                        |
| blacklist-status/update, |                                                              |
| set-time (0x05)          |                                                              |

Chip messages (power-on, power-off, apdu, the card requests) take the terminal's chip lock,
so they never interleave with a tap being read; while the host holds the card slot powered
the terminal does not poll the card.

Every failure is an ERROR answer with a code of hostlink.ERRORS and a message saying what
failed and what to do; nothing is answered with a success it did not achieve.
"""

import reader
from reader import VERSION, feedback, hostlink
from reader.driver_errors import AUTH, CARD_GONE, UNSUPPORTED, ReaderError
from reader.hostlink import ERROR, RESPONSE
from reader.linkhandlers import LinkError
from reader.linkserver import error_body

_NO_TERMINAL = ("card, blacklist and clock requests are served by the terminal flow, which "
                "is not running: restart the reader (reader.main runs it)")
# driver error kinds with an error code of their own (others: DEVICE, with the kind);
# the health card application's kinds (reader.healthcard_errors) too: flat (kind, code, …)
_DRIVER_CODES = (CARD_GONE, hostlink.NO_CARD, UNSUPPORTED, hostlink.NOT_SUPPORTED,
                 AUTH, hostlink.AUTH, "communication", hostlink.NO_CARD,
                 "auth-failed", hostlink.AUTH, "pin-wrong", hostlink.AUTH,
                 "pin-blocked", hostlink.AUTH, "access-denied", hostlink.CARD,
                 "locked", hostlink.CARD, "not-found", hostlink.CARD,
                 "invalid-data", hostlink.CARD, "refused", hostlink.CARD)
_CHIP = (hostlink.POWER_ON, hostlink.POWER_OFF, hostlink.APDU)
# The requests this firmware serves, by code: the handler is named after the message
# (hostlink's names table, "-" -> "_"): a function of reader.linkdevice, or for _CARD a
# method of the terminal's CardRequests (CardWrites for _WRITES).
_DEVICE = b"\x00\x01\x02\x03\x04\x10\x11\x12\x30\x70"
_CARD = b"\x05\x20\x21\x22\x23\x24\x40\x41"
_WRITES = ("write", "verify_pin", "change_pin", "blacklist_update")   # reader.terminal_writes


async def serve(h, msg, payload):
    """Request `msg` with its JSON `payload` for Handlers `h` -> (RESPONSE or ERROR, obj)."""
    if msg not in _DEVICE and msg not in _CARD:
        names = sorted(hostlink.message_name(m) for m in _DEVICE + _CARD)
        return ERROR, error_body(hostlink.UNKNOWN_MESSAGE, "unknown message 0x%02X: this "
                                 "firmware (%s) speaks %s" % (msg, VERSION, ", ".join(names)))
    try:
        obj = hostlink.unpack(payload)
    except ValueError as error:
        return ERROR, error_body(hostlink.BAD_REQUEST, "payload is not a JSON object "
                                 "(%s)" % error)
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
    except feedback.FeedbackError as error:
        return ERROR, error_body(hostlink.NOT_SUPPORTED, str(error))
    except OSError as error:
        return ERROR, error_body(hostlink.DEVICE, "I/O error: %s" % error)
    except Exception as error:  # noqa: BLE001 - a firmware fault is reported, not fatal
        return ERROR, error_body(hostlink.INTERNAL, "%s: %s" % (type(error).__name__, error))


def _driver_code(kind):
    t = _DRIVER_CODES
    for i in range(0, len(t), 2):
        if t[i] == kind:
            return t[i + 1]
    return hostlink.DEVICE


async def _call(h, msg, obj):
    name = hostlink.message_name(msg).replace("-", "_")
    if msg in _CARD:
        return await _card(h, name, obj)
    return await _device(h, name, obj)


# -- device info, config, feedback, slots: reader.linkdevice, in RAM while a slot is powered
async def _device(h, name, obj):
    from reader import linkdevice

    try:
        return await getattr(linkdevice, name)(h, obj)
    finally:
        if not h._channels:
            reader.forget("linkdevice")


# -- card application, blacklist, clock: the terminal's (reader.terminal_requests) --------
async def _card(h, name, obj):
    if h.terminal is None:
        raise LinkError(hostlink.NOT_SUPPORTED, _NO_TERMINAL)
    requests = h._card_requests
    if requests is None or not hasattr(requests, name):
        if name in _WRITES:
            from reader.terminal_writes import CardWrites as Requests
        else:
            from reader.terminal_requests import CardRequests as Requests
        requests = h._card_requests = Requests(h.terminal)
    try:
        return await getattr(requests, name)(obj)
    finally:
        if requests._writer is None and h._card_requests is requests:
            # host requests are rare: their code leaves the heap (not the taps') until the
            # next one; a blacklist update in progress keeps it
            h._card_requests = None
            reader.forget("terminal_writes", "terminal_requests")
            h.terminal.let_go()
