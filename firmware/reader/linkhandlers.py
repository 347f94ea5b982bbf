"""Handlers of the host link's requests (docs/host-link.md, "Messages").

| message                  | today                                                        |
|--------------------------|--------------------------------------------------------------|
| hello, info, selftest    | yes                                                          |
| config-get, config-set   | yes (reader.config, /config.json on the flash)               |
| feedback                 | yes (reader.feedback: beeper, LED, display)                  |
| power-on, power-off, apdu| card: reader.hardware (PN532, MFRC522); sam1: SAM slot (T=0) |
| read, read-file, write,  | with a terminal (reader.terminal): reader.terminal_requests, |
| verify-pin, change-pin,  | under the terminal's chip lock; without one: not supported   |
| blacklist-status/update, |                                                              |
| set-time (0x05)          |                                                              |

Chip messages (power-on, power-off, apdu, the card requests) take the terminal's chip lock,
so they never interleave with a tap being read; while the host holds the card slot powered
the terminal does not poll the card.

Every failure is an ERROR answer with a code of hostlink.ERRORS and a message saying what
failed and what to do; nothing is answered with a success it did not achieve.
"""

import gc
import sys

from micropython import const

import reader
from reader import VERSION, config, feedback, hostlink
from reader.driver_errors import AUTH, CARD_GONE, UNSUPPORTED, ReaderError
from reader.hostlink import ERROR, RESPONSE
from reader.linkserver import error_body

_CARD_APP = "not supported yet: the card application arrives with issue 6"
RESUME = "import reader.main as m;m.resume()"
# driver error kinds with an error code of their own (others: DEVICE, with the kind);
# the health card application's kinds (reader.healthcard_errors) too
_DRIVER_CODES = {CARD_GONE: hostlink.NO_CARD, UNSUPPORTED: hostlink.NOT_SUPPORTED,
                 AUTH: hostlink.AUTH, "communication": hostlink.NO_CARD,
                 "auth-failed": hostlink.AUTH, "pin-wrong": hostlink.AUTH,
                 "pin-blocked": hostlink.AUTH, "access-denied": hostlink.CARD,
                 "locked": hostlink.CARD, "not-found": hostlink.CARD,
                 "invalid-data": hostlink.CARD, "refused": hostlink.CARD}
_CHIP = (hostlink.POWER_ON, hostlink.POWER_OFF, hostlink.APDU)
# message -> what serves it, flat (msg, name, …): a Handlers method, a function of
# reader.linkdevice, a CardRequests method
_H = hostlink
_TABLE = (
    _H.HELLO, "hello", _H.INFO, "info", _H.SELFTEST, "selftest", _H.CONFIG_GET, "config_get",
    _H.REPL, "repl",
    _H.CONFIG_SET, "config_set", _H.FEEDBACK, "do_feedback", _H.POWER_ON, "power_on",
    _H.POWER_OFF, "power_off", _H.APDU, "apdu",
    _H.READ, "read", _H.READ_FILE, "read_file", _H.WRITE, "write",
    _H.VERIFY_PIN, "verify_pin", _H.CHANGE_PIN, "change_pin",
    _H.BLACKLIST_STATUS, "blacklist_status", _H.BLACKLIST_UPDATE, "blacklist_update",
    _H.SET_TIME, "set_time",
)
_DEVICE_AT = const(10)   # from here: reader.linkdevice's
_CARD_AT = const(20)     # from here: the terminal's (reader.terminal_requests.CardRequests)
del _H


class LinkError(Exception):
    def __init__(self, code, message, kind=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind


class Handlers:
    def __init__(self, board, report, config_path=config.PATH):
        self.board = board
        # the self-test report, kept as its JSON text (a few hundred bytes, not a tree of
        # dicts): asked for by selftest only
        text = report if isinstance(report, str) else hostlink.json.dumps(report)
        if not isinstance(report, dict):
            report = hostlink.json.loads(text)      # once, to note "ok"
        self._report_ok = report.get("ok")
        self._report = text
        self.config = config.Config(config_path)
        self.feedback = feedback.for_board(board)
        self.server = None
        self.session = None
        self._reader = None   # reader.hardware card reader, opened on first use
        self._sam = None
        self._channels = {}   # slot name -> powered APDU channel
        self.terminal = None  # reader.terminal.Terminal, which sets these two
        self.chip_lock = None
        self.sam_touched = 0  # host commands that reset or used the SAM (terminal re-selects)
        self._card_requests = None

    async def dispatch(self, msg, payload):
        handler = self.handler(msg)
        if handler is None:
            names = sorted(_name(_TABLE[i]) for i in range(0, len(_TABLE), 2))
            return ERROR, error_body(hostlink.UNKNOWN_MESSAGE, "unknown message 0x%02X: this "
                                     "firmware (%s) speaks %s" % (msg, VERSION,
                                                                  ", ".join(names)))
        try:
            obj = hostlink.unpack(payload)
        except ValueError as error:
            return ERROR, error_body(hostlink.BAD_REQUEST, "payload is not a JSON object "
                                     "(%s)" % error)
        try:
            if msg in _CHIP and self.chip_lock is not None:
                async with self.chip_lock:
                    return RESPONSE, await handler(obj)
            return RESPONSE, await handler(obj)
        except LinkError as error:
            return ERROR, error_body(error.code, error.message, error.kind)
        except ReaderError as error:
            code = _DRIVER_CODES.get(error.kind, hostlink.DEVICE)
            body = error_body(code, str(error), error.kind)
            if getattr(error, "tries_left", None) is not None:
                body["retries"] = error.tries_left
            return ERROR, body
        except feedback.FeedbackError as error:
            return ERROR, error_body(hostlink.NOT_SUPPORTED, str(error))
        except OSError as error:
            return ERROR, error_body(hostlink.DEVICE, "I/O error: %s" % error)
        except Exception as error:  # noqa: BLE001 - a firmware fault is reported, not fatal
            return ERROR, error_body(hostlink.INTERNAL, "%s: %s" % (type(error).__name__,
                                                                    error))

    def handler(self, msg):
        """The coroutine function serving message `msg` (None: not one this firmware speaks);
        looked up in _TABLE on each request, not held as bound methods."""
        for i in range(0, len(_TABLE), 2):
            if _TABLE[i] == msg:
                name = _TABLE[i + 1]
                if i >= _CARD_AT:
                    return self._card(name)
                if i >= _DEVICE_AT:
                    return self._device(name)
                return getattr(self, name)
        return None

    # -- device ---------------------------------------------------------------------------
    async def hello(self, obj):
        self.session = obj.get("session")
        return await self.info(obj)

    async def info(self, obj):
        gc.collect()
        info = {
            "firmware": VERSION, "board": self.board.NAME, "protocol": hostlink.VERSION,
            "max_payload": hostlink.MAX_PAYLOAD,
            "micropython": "%d.%d.%d" % sys.implementation.version[:3],
            "slots": self._slots(), "feedback": self.feedback.features(),
            "heap_free": gc.mem_free(), "selftest_ok": self._report_ok,
        }
        if self.config.load_error:
            info["config_error"] = self.config.load_error
        if self.server is not None:
            info["link"] = self.server.counters()
        if self.terminal is not None:
            info["terminal"] = self.terminal.stats
        return info

    @property
    def report(self):
        return hostlink.json.loads(self._report)

    async def selftest(self, obj):
        return self.report

    async def config_get(self, obj):
        return dict(self.config.values)

    async def repl(self, obj):
        self.server.handoff = True
        return {"resume": RESUME}

    # -- slots ----------------------------------------------------------------------------
    def _slots(self):
        slots = []
        if hasattr(self.board, "reader_chip"):
            slots.append("card")
        if hasattr(self.board, "sam_slot"):
            slots.append("sam1")
        return slots

    # -- config-set, feedback, slots: reader.linkdevice, in RAM while a slot is powered --
    def _device(self, name):
        async def handler(obj):
            from reader import linkdevice
            try:
                return await getattr(linkdevice, name)(self, obj)
            finally:
                if not self._channels:
                    reader.forget("linkdevice")
        return handler

    # -- card application, blacklist, clock: the terminal's (reader.terminal_requests) ----
    def _card(self, name):
        async def handler(obj):
            if self.terminal is None:
                raise LinkError(hostlink.NOT_SUPPORTED, _CARD_APP)
            requests = self._card_requests
            if requests is None:
                from reader.terminal_requests import CardRequests
                requests = self._card_requests = CardRequests(self.terminal)
            try:
                return await getattr(requests, name)(obj)
            finally:
                if requests._writer is None and self._card_requests is requests:
                    # host requests are rare: their code leaves the heap (not the taps') until
                    # the next one; a blacklist update in progress keeps it
                    self._card_requests = None
                    reader.forget("terminal_requests")
        return handler


def _name(msg):
    return hostlink.message_name(msg, "0x%02X" % msg)
