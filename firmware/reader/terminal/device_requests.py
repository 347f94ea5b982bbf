"""The host's device requests (docs/host-link.md): hello, info, selftest, config-get, repl,
config-set, feedback, power-on, power-off, apdu. reader.terminal.requests imports this module
for a request and lets it go again once no slot is powered: its code is not in RAM while the
reader taps or serves a card request.

Each function takes the `Session` (h, reader.terminal.session) and the request object.
"""

import binascii
import gc
import os
import sys
import time

import reader
from reader import VERSION, hostlink
from reader.errors import CARD_GONE, PROTOCOL, TIMEOUT, ReaderError
from reader.terminal.session import RESUME, LinkError

_FEEDBACK = "terminal.feedback"
# made by `hcterm flash` before it writes firmware, removed once all is written and verified
FLASH_INCOMPLETE = "/flash.incomplete"
_LOST = (CARD_GONE, TIMEOUT, PROTOCOL)   # card APDU errors that end the host's card session


# -- device info --------------------------------------------------------------------------
async def hello(h, obj):
    name = obj.get("session")
    if name != h.host_name:        # the host reconnected: its old session's slots end
        for slot in list(h.host_channels):
            end_hold(h, slot, "new host session")
    h.host_name = name
    return await info(h, obj)


async def info(h, obj):
    gc.collect()
    out = {
        "firmware": VERSION, "board": h.board.NAME, "protocol": hostlink.VERSION,
        "max_payload": hostlink.MAX_PAYLOAD,
        "micropython": "%d.%d.%d" % sys.implementation.version[:3],
        "slots": h.slots(), "feedback": reader.call(_FEEDBACK, "features", h),
        "heap_free": gc.mem_free(), "selftest_ok": h.report_ok,
    }
    if h.config_error:
        out["config_error"] = h.config_error
    uid = getattr(h.board, "unique_id", None)
    if uid:
        out["unique_id"] = _hexstr(uid())
    try:
        os.stat(FLASH_INCOMPLETE)        # hcterm flash began a deploy and did not finish it
        out["flash_incomplete"] = True
    except OSError:
        pass
    # the handheld's parts (docs/handheld.md); a board without them says so
    out["keypad"] = hasattr(h.board, "keypad")
    out["battery"] = reader.call("terminal.battery", "status", h.board) if hasattr(
        h.board, "battery_mv") else None
    out["held_by_host"] = sorted(h.host_channels)
    if h.host_ended:
        slot, why, ended = h.host_ended
        out["host_slot_ended"] = {"slot": slot, "why": why,
                                  "ago_s": time.ticks_diff(time.ticks_ms(), ended) // 1000}
    if h.server is not None:
        out["link"] = h.server.counters()
        out["journal"] = h.server.journal_waiting()     # events waiting (docs/tap-journal.md)
    if hasattr(h.board, "watchdog"):     # reader.main started it
        out["watchdog"] = {"timeout_ms": h.board.WATCHDOG_MS, "last_reset":
                           h.board.reset_cause() if hasattr(h.board, "reset_cause") else None}
    if h.terminal is not None:
        out["terminal"] = h.terminal.stats
        out["clock_set"] = h.terminal.clock_set
    return out


async def selftest(h, obj):
    """The power-on self-test's report, and the parts failing now (the flow's fault events:
    reader chip, SAM, QR scanner), which make it not ok."""
    report = h.report()
    failing = h.terminal.stats.get("failing") if h.terminal is not None else None
    if failing:     # each part's message cut short: the report must fit one link frame
        report["failing"] = {part: failing[part][:200] for part in failing}
        report["ok"] = False
    return report


async def config_get(h, obj):
    return dict(h.config)


async def repl(h, obj):
    h.server.handoff = True
    return {"resume": RESUME}


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


async def config_set(h, obj):
    try:
        reader.call("terminal.settings", "store", h.settings_path, h.config, obj)
        h.config_error = None
        return dict(h.config)
    except ValueError as error:
        raise LinkError(hostlink.BAD_REQUEST, str(error)) from None
    except OSError as error:
        raise LinkError(hostlink.CONFIG, "cannot store %s (%s): the flash may be full "
                        "or worn" % (h.settings_path, error)) from None


async def feedback(h, obj):
    from reader.terminal import feedback as fb

    try:
        return await _feedback(h, obj, fb)
    except fb.FeedbackError as error:
        raise LinkError(hostlink.NOT_SUPPORTED, str(error)) from None
    finally:
        reader.let_go(_FEEDBACK)


async def _feedback(h, obj, fb):
    done = {}
    if "display" in obj:
        fb.display(h, _need(obj, "display", str, "text expected"))
        done["display"] = obj["display"]
    if "led" in obj:
        on = _need(obj, "led", dict, '{"on": true|false} expected').get("on")
        if on is not True and on is not False:
            raise LinkError(hostlink.BAD_REQUEST, 'led: {"on": true|false} expected')
        fb.led(h, on)
        done["led"] = on
    if "beep" in obj:
        beep = _need(obj, "beep", dict, '{"ms": n, "count": n} expected')
        ms, count = beep.get("ms", 100), beep.get("count", 1)
        if not (isinstance(ms, int) and 10 <= ms <= 2000 and isinstance(count, int)
                and 1 <= count <= 5):
            raise LinkError(hostlink.BAD_REQUEST, "beep: ms 10..2000, count 1..5")
        if h.config.get("beeper"):
            fb.need(h, "beeper")
            await h.beep(ms, count)
            done["beep"] = count
        else:
            done["beep"] = 0
            done["muted"] = "beeper is off in the configuration"
    if not done:
        raise LinkError(hostlink.BAD_REQUEST, "give at least one of beep, led, display")
    return done


def _slot(h, obj):
    try:
        slot = hostlink.slot_name(obj.get("slot"))
    except ValueError as error:
        raise LinkError(hostlink.BAD_REQUEST, str(error)) from None
    if slot not in h.slots():
        raise LinkError(hostlink.NO_SLOT, "board %s has no slot %s; its slots: %s"
                        % (h.board.NAME, slot, ", ".join(h.slots())))
    return slot


async def power_on(h, obj):
    slot = _slot(h, obj)
    h.host_channels.pop(slot, None)
    h.host_apdu_ms[slot] = time.ticks_ms()
    if slot == "card":
        if h.terminal is not None:
            h.terminal.release_card()      # the terminal's last poll woke the card
        card = h.open_card_reader().poll()
        if card is None:
            raise LinkError(hostlink.NO_CARD, "no card in the field: tap a card and "
                            "power on again")
        h.host_channels[slot] = card.channel
        return {"slot": slot, "uid": _hexstr(card.uid), "ats": _hexstr(card.ats or b""),
                "atqa": "%04X" % card.atqa, "sak": "%02X" % card.sak}
    sam = h.open_sam_slot()
    h.sam_touched += 1
    atr = reader.call("chips.sam_activation", "power_on", sam)
    h.host_channels[slot] = h.sam_channel
    return {"slot": slot, "atr": _hexstr(atr.raw), "baud": sam.baudrate}


async def power_off(h, obj):
    slot = _slot(h, obj)
    end_hold(h, slot, "power-off")
    return {"slot": slot}


async def apdu(h, obj):
    slot = _slot(h, obj)
    command = _hex(obj, "apdu")
    channel = h.host_channels.get(slot)
    if channel is None:
        raise LinkError(hostlink.NO_CARD, "slot %s is not powered: send power-on first"
                        % slot, "not-powered")
    h.host_apdu_ms[slot] = time.ticks_ms()
    if slot != "card":
        h.sam_touched += 1
    try:
        data, sw = channel.transceive(command)
    except ReaderError as error:
        if slot == "card" and error.kind in _LOST:
            # the card left or its ISO-DEP session broke: the hold ends, the flow polls again
            end_hold(h, slot, "card lost (%s)" % error.kind)
        raise
    return {"rsp": _hexstr(data) + "%04X" % sw}


# -- the end of a host's hold of a slot (this module is in RAM while the host holds one) --
def end_hold(h, slot, why):
    """End the host's hold of `slot` (power-off, idle, card lost, a new host session):
    release the card, note why (info "host_slot_ended"); unless the host asked (power-off),
    an event tells it (error event, status ended, reason host_slot_ended)."""
    h.host_apdu_ms.pop(slot, None)
    if h.host_channels.pop(slot, None) is not None:
        h.host_ended = (slot, why, time.ticks_ms())
        if why != "power-off" and h.server is not None:     # the host did not ask: tell it
            h.server.event(hostlink.EV_ERROR, {
                "status": "ended", "reason": "host_slot_ended", "slot": slot,
                "message": "the host's hold of slot %s ended (%s): power it on again to send "
                "more APDUs" % (slot, why)})
        if slot == "card":
            try:
                h.card_reader.release()
            except ReaderError:
                pass    # the card or its session is gone already: nothing left to release
    if not h.host_channels:
        reader.let_go("terminal.device_requests")


def end_idle_hold(h):
    """The flow's turn while the host holds a slot (the card or a SAM): end each hold that
    saw no power-on or APDU for the setting host_slot_idle_s."""
    idle = h.config.get("host_slot_idle_s") or 30
    for slot in list(h.host_channels):
        if time.ticks_diff(time.ticks_ms(), h.host_apdu_ms.get(slot, 0)) > idle * 1000:
            end_hold(h, slot, "idle %d s" % idle)
