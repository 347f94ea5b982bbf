"""The battery of a handheld (docs/handheld.md): its level, and the low-battery warning.
Transient: imported for a look at the battery (info, the self-test, the flow's idle check
every board.BATTERY_CHECK_MS) and let go after it. A board without `battery_mv()` has none.

    reader.call("terminal.battery", "status", board)   # {"mv", "percent", "low"} or
                                                       # {"error"}
    reader.call("terminal.battery", "check", terminal) # warn the host once when it goes low

Percent: linear between EMPTY_MV (0 %) and FULL_MV (100 %), a Li-ion cell's usable range
under a reader's light load (good to ~10 %, enough for "charge me"). Low: under LOW_MV
(board.BATTERY_LOW_MV overrides), cleared again at LOW_MV + 100 mV (no flapping at the edge).
"""

from micropython import const

import reader
from reader import hostlink

EMPTY_MV = const(3300)
FULL_MV = const(4200)
LOW_MV = const(3500)
_HYSTERESIS_MV = const(100)


def percent(mv):
    if mv <= EMPTY_MV:
        return 0
    if mv >= FULL_MV:
        return 100
    return (mv - EMPTY_MV) * 100 // (FULL_MV - EMPTY_MV)


def status(board, was_low=False):
    """The battery now: {"mv", "percent", "low"}; {"error"} when its ADC cannot be read."""
    try:
        mv = board.battery_mv()
    except OSError as error:
        return {"error": "the battery voltage cannot be read (%s): check the divider on the "
                "ADC pin" % error}
    low_mv = getattr(board, "BATTERY_LOW_MV", LOW_MV)
    return {"mv": mv, "percent": percent(mv),
            "low": mv < low_mv + (_HYSTERESIS_MV if was_low else 0)}


def check_battery(board):
    """The self-test's check: the voltage and level; a low battery is reported, not a failure
    (the reader works; the flow warns)."""
    report = {"present": True}
    report.update(status(board))
    report["ok"] = "error" not in report
    return report


def check(t):
    """The flow's idle look: an error event (status "warning", reason "low_battery") and the
    low-battery screen when the battery goes low, status "recovered" when it is charged
    again; `t.stats["battery"]` keeps the last reading for info."""
    was_low = t.stats.get("battery_low", False)
    now = status(t.board, was_low)
    if "error" in now:
        return
    t.stats["battery_low"] = low = now["low"]
    if low == was_low:
        return
    if low:
        _screen(t.session, now["percent"], "LOW BATTERY %d%%" % now["percent"])
        t.send(hostlink.EV_ERROR, {
            "status": "warning", "reason": "low_battery", "mv": now["mv"],
            "percent": now["percent"], "code": hostlink.DEVICE,
            "name": hostlink.error_name(hostlink.DEVICE),
            "message": "the battery is low (%d mV, %d %%): charge the handheld or put it in "
            "its dock soon" % (now["mv"], now["percent"])})
    else:
        t.send(hostlink.EV_ERROR, {"status": "recovered", "reason": "low_battery",
                                   "mv": now["mv"], "percent": now["percent"],
                                   "message": "the battery is charged again (%d mV)"
                                   % now["mv"]})


def _screen(s, percent, text):
    """The "low_battery" screen {percent} on a board with a display
    (reader.terminal.feedback.show, docs/display.md)."""
    if hasattr(s.board, "display"):
        reader.call("terminal.feedback", "show", s, "low_battery", {"percent": percent})
