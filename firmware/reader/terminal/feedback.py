"""What a person sees and hears at the reader: beeper, LED, display.

The parts are the board's (docs/firmware-drivers.md, "Board contract"): its `led()` and
`beeper()` pins (made once by the session: `session.led`, `session.beeper`; the session's
`beep(ms, count)` sounds the beeper), its `display()` (boards with a screen only; the
screens are reader.terminal.screens, docs/display.md), and `led_colour(name)` for a
multi-colour LED (the sim boards record the colour for the virtual reader). Functions of
the session (reader.terminal.session), in a module that is in RAM for the call only
(reader.TRANSIENT): nothing it defines outlives the call, the beeps included.

    features(s)             {"beeper": bool, "led": bool, "display": bool}
    need(s, part)           the part ("beeper", "led", "display"); FeedbackError without it
    led(s, on)              switch the status LED
    display(s, text)        show text on the display (the host's feedback request)
    show(s, name, values)   show screen `name` (reader.terminal.screens: idle, reading,
                            patient, refused, pin, low_battery, link_down, ...); False on a
                            board without a display, where nothing of the screens is imported
    colour(s, name)         the status LED's colour: "green", "red", "amber" or "off" (a
                            one-colour LED is on for green, off otherwise)

`pattern(outcome)` gives the terminal's outcomes (docs/terminal-flow.md): -> (LED colour,
beep ms, beep count). `signal(s, outcome, body)` shows the colour and, on a board with a
display, the outcome's screen (from the event's `body`: a tap's or a QR code's) at once and
returns the beeps to sound, (ms, count) for `session.beep` (the caller runs them as a task,
so they never delay the event to the host), or None when the beeper is off (setting
`beeper`) or missing.

A board without a part raises `FeedbackError` for it (never a silent success).
"""

import gc
import time

from micropython import const

import reader
from reader.errors import table_line

# outcome -> LED colour, beep ms, beeps: one line each, a bytes constant read in place
_PATTERNS = (
    b"\nok green 100 1"
    b"\nrefused red 60 3"
    b"\nerror amber 300 1"
    b"\nqr green 50 1"
    b"\n"
)


def pattern(outcome):
    """(LED colour, beep ms, number of beeps) of an outcome: ok, refused, error, qr."""
    line = table_line(_PATTERNS, outcome)
    if line is None:
        raise ValueError("no feedback pattern %r" % outcome)
    colour, ms, count = line.split()
    return colour, int(ms), int(count)


class FeedbackError(Exception):
    pass


def features(s):
    return {"beeper": s.beeper is not None, "led": s.led is not None,
            "display": hasattr(s.board, "display")}


def need(s, part):
    """The board's `part` ("beeper", "led", "display"); FeedbackError when it has none."""
    found = getattr(s.board, "display", None) if part == "display" else getattr(s, part)
    if found is None:
        raise FeedbackError("board %s has no %s" % (getattr(s.board, "NAME", "?"),
                                                     "LED" if part == "led" else part))
    return found


def led(s, on):
    need(s, "led").value(1 if on else 0)


def display(s, text):
    need(s, "display")
    if not show(s, "text", {"text": text}):
        raise FeedbackError("the display of board %s failed: %s" % (s.board.NAME,
                                                                    s.display_error))


_SCREEN_S = const(3)     # an outcome's screen stays this long (a card's: until removed)


def show(s, name, values=None):
    """Show screen `name` with `values` on the board's display; False without a display, or
    when it failed (s.display_error says why: the reader goes on without its screen)."""
    if not hasattr(s.board, "display"):
        return False
    # a collection first and after, from this shallow frame: left to the allocator, the
    # collections came deep inside the drawing and the sim-handheld demo needed 160k, not
    # 120k (docs/firmware-memory.md)
    gc.collect()
    shown = None
    try:
        shown = reader.call("terminal.screens", "show", s, name, values or {})
        s.display_error = None
    except (OSError, ImportError) as error:  # its bus, its font (FontError), its driver
        s.display_error = "%s: %s" % (type(error).__name__, error)
    finally:
        reader.let_go("terminal.glyphs")     # the font reader leaves with the screens
        gc.collect()
    t = s.terminal
    if t is not None:              # when the flow redraws the idle screen (its clock)
        now = time.time()
        idle = shown in ("idle", "stale") or shown is None and name == "idle"
        t.idle_at = now - now % 60 + 60 if idle else now + _SCREEN_S
    return shown is not None


def colour(s, name):
    if s.led is not None:
        s.led.value(1 if name == "green" else 0)
    if hasattr(s.board, "led_colour"):
        s.board.led_colour(name)


def signal(s, outcome, body=None):
    colour_name, ms, count = pattern(outcome)
    colour(s, colour_name)
    if body is not None and hasattr(s.board, "display"):
        show(s, "outcome", {"outcome": outcome, "body": body})
    if s.config.get("beeper") and s.beeper is not None:
        return ms, count
    return None
