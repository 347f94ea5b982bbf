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
        self.report = report
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
        H = hostlink
        self.table = {
            H.HELLO: self.hello, H.INFO: self.info, H.SELFTEST: self.selftest,
            H.CONFIG_GET: self.config_get, H.CONFIG_SET: self.config_set,
            H.FEEDBACK: self.do_feedback, H.POWER_ON: self.power_on,
            H.POWER_OFF: self.power_off, H.APDU: self.apdu, H.REPL: self.repl,
            H.READ: self._card("read"), H.READ_FILE: self._card("read_file"),
            H.WRITE: self._card("write"), H.VERIFY_PIN: self._card("verify_pin"),
            H.CHANGE_PIN: self._card("change_pin"),
            H.BLACKLIST_STATUS: self._card("blacklist_status"),
            H.BLACKLIST_UPDATE: self._card("blacklist_update"),
            SET_TIME: self._card("set_time"),
        }

    async def dispatch(self, msg, payload):
        handler = self.table.get(msg)
        if handler is None:
            return ERROR, error_body(hostlink.UNKNOWN_MESSAGE, "unknown message 0x%02X: this "
                                     "firmware (%s) speaks %s" % (msg, VERSION, ", ".join(
                                         sorted(_name(m) for m in self.table))))
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
            "heap_free": gc.mem_free(), "selftest_ok": self.report.get("ok"),
        }
        if self.config.load_error:
            info["config_error"] = self.config.load_error
        if self.server is not None:
            info["link"] = self.server.counters()
        if self.terminal is not None:
            info["terminal"] = self.terminal.stats
        return info

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
            if self._card_requests is None:
                from reader.terminal_requests import CardRequests
                self._card_requests = CardRequests(self.terminal)
            return await getattr(self._card_requests, name)(obj)
        return handler


def _name(msg):
    return hostlink.MESSAGES.get(msg) or _NAMES.get(msg, "0x%02X" % msg)
