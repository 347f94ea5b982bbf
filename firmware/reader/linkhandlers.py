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

import binascii
import gc
import sys

from micropython import const

from reader import VERSION, config, feedback, hostlink
from reader.driver_errors import AUTH, CARD_GONE, UNSUPPORTED, ReaderError
from reader.hostlink import ERROR, RESPONSE
from reader.linkserver import error_body

_CARD_APP = "not supported yet: the card application arrives with issue 6"
RESUME = "import reader.main as m;m.resume()"
SET_TIME = 0x05   # {"time": "YYYYMMDDhhmmss"} -> {"today"}: the reader's clock (terminal flow)
_NAMES = {SET_TIME: "set-time"}
# driver error kinds with an error code of their own (others: DEVICE, with the kind);
# the health card application's kinds (reader.healthcard_errors) too
_DRIVER_CODES = {CARD_GONE: hostlink.NO_CARD, UNSUPPORTED: hostlink.NOT_SUPPORTED,
                 AUTH: hostlink.AUTH, "communication": hostlink.NO_CARD,
                 "auth-failed": hostlink.AUTH, "pin-wrong": hostlink.AUTH,
                 "pin-blocked": hostlink.AUTH, "access-denied": hostlink.CARD,
                 "locked": hostlink.CARD, "not-found": hostlink.CARD,
                 "invalid-data": hostlink.CARD, "refused": hostlink.CARD}
_CHIP = (hostlink.POWER_ON, hostlink.POWER_OFF, hostlink.APDU)
# message -> Handlers method, flat (msg, name, …); from _CARD_AT on, the terminal's
# (reader.terminal_requests.CardRequests)
_H = hostlink
_TABLE = (
    _H.HELLO, "hello", _H.INFO, "info", _H.SELFTEST, "selftest",
    _H.CONFIG_GET, "config_get", _H.CONFIG_SET, "config_set", _H.FEEDBACK, "do_feedback",
    _H.POWER_ON, "power_on", _H.POWER_OFF, "power_off", _H.APDU, "apdu", _H.REPL, "repl",
    _H.READ, "read", _H.READ_FILE, "read_file", _H.WRITE, "write",
    _H.VERIFY_PIN, "verify_pin", _H.CHANGE_PIN, "change_pin",
    _H.BLACKLIST_STATUS, "blacklist_status", _H.BLACKLIST_UPDATE, "blacklist_update",
    SET_TIME, "set_time",
)
_CARD_AT = const(20)
del _H


class LinkError(Exception):
    def __init__(self, code, message, kind=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind


def _need(obj, name, kind, what):
    value = obj.get(name)
    if not isinstance(value, kind):
        raise LinkError(hostlink.BAD_REQUEST, "%s: %s" % (name, what))
    return value


def _hex(obj, name):
    try:
        return binascii.unhexlify(_need(obj, name, str, "hex bytes expected"))
    except ValueError:
        raise LinkError(hostlink.BAD_REQUEST, "%s: not valid hex" % name) from None


def _hexstr(data):
    return binascii.hexlify(data).decode().upper()


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
            return ERROR, error_body(hostlink.UNKNOWN_MESSAGE, "unknown message 0x%02X: this "
                                     "firmware (%s) speaks %s" % (msg, VERSION, ", ".join(
                                         sorted(_name(_TABLE[i]) for i in range(0, len(_TABLE), 2)))))
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

    async def config_set(self, obj):
        try:
            return self.config.set(obj)
        except ValueError as error:
            raise LinkError(hostlink.BAD_REQUEST, str(error)) from None
        except OSError as error:
            raise LinkError(hostlink.CONFIG, "cannot store %s (%s): the flash may be full "
                            "or worn" % (self.config.path, error)) from None

    async def do_feedback(self, obj):
        done = {}
        if "display" in obj:
            self.feedback.display(_need(obj, "display", str, "text expected"))
            done["display"] = obj["display"]
        if "led" in obj:
            on = _need(obj, "led", dict, '{"on": true|false} expected').get("on")
            if on is not True and on is not False:
                raise LinkError(hostlink.BAD_REQUEST, 'led: {"on": true|false} expected')
            self.feedback.led(on)
            done["led"] = on
        if "beep" in obj:
            beep = _need(obj, "beep", dict, '{"ms": n, "count": n} expected')
            ms, count = beep.get("ms", 100), beep.get("count", 1)
            if not (isinstance(ms, int) and 10 <= ms <= 2000 and isinstance(count, int)
                    and 1 <= count <= 5):
                raise LinkError(hostlink.BAD_REQUEST, "beep: ms 10..2000, count 1..5")
            if self.config.get("beeper"):
                await self.feedback.beep(ms, count)
                done["beep"] = count
            else:
                done["beep"] = 0
                done["muted"] = "beeper is off in the configuration"
        if not done:
            raise LinkError(hostlink.BAD_REQUEST, "give at least one of beep, led, display")
        return done

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

    def _slot(self, obj):
        try:
            slot = hostlink.slot_name(obj.get("slot"))
        except ValueError as error:
            raise LinkError(hostlink.BAD_REQUEST, str(error)) from None
        if slot not in self._slots():
            raise LinkError(hostlink.NO_SLOT, "board %s has no slot %s; its slots: %s"
                            % (self.board.NAME, slot, ", ".join(self._slots())))
        return slot

    def _card_reader(self):
        if self._reader is None:
            from reader import hardware

            self._reader = hardware.open_card_reader(self.board)
        return self._reader

    async def power_on(self, obj):
        slot = self._slot(obj)
        self._channels.pop(slot, None)
        if slot == "card":
            if self.terminal is not None and self.terminal._active:
                self.terminal._active = False     # the terminal's last poll woke the card
                self.terminal._release()
            card = self._card_reader().poll()
            if card is None:
                raise LinkError(hostlink.NO_CARD, "no card in the field: tap a card and "
                                "power on again")
            self._channels[slot] = card.channel
            return {"slot": slot, "uid": _hexstr(card.uid), "ats": _hexstr(card.ats or b""),
                    "atqa": "%04X" % card.atqa, "sak": "%02X" % card.sak}
        if self._sam is None:
            from reader import hardware

            self._sam = hardware.open_sam_slot(self.board)
        self.sam_touched += 1
        atr = self._sam.power_on()
        self._channels[slot] = self._sam
        return {"slot": slot, "atr": _hexstr(atr.raw), "baud": self._sam.baudrate}

    async def power_off(self, obj):
        slot = self._slot(obj)
        if self._channels.pop(slot, None) is not None and slot == "card":
            self._reader.release()
        return {"slot": slot}

    async def apdu(self, obj):
        slot = self._slot(obj)
        command = _hex(obj, "apdu")
        channel = self._channels.get(slot)
        if channel is None:
            raise LinkError(hostlink.NO_CARD, "slot %s is not powered: send power-on first"
                            % slot)
        if slot != "card":
            self.sam_touched += 1
        data, sw = channel.transceive(command)
        return {"rsp": _hexstr(data) + "%04X" % sw}

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
                    sys.modules.pop("reader.terminal_requests", None)
        return handler


def _name(msg):
    return hostlink.message_name(msg, None) or _NAMES.get(msg, "0x%02X" % msg)
