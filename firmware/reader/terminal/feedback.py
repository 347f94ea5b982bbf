"""What a person sees and hears at the reader: beeper, LED, display. One interface, given by
the board.

A board either defines `feedback()` returning an object with this interface, or gets
`PinFeedback`, built from its `led()` and `beeper()` pins, its `display(text)` function and
its `led_colour(name)` function (a board with a multi-colour LED; the sim boards record the
colour for the virtual reader) where it has them.

    async beep(ms, count)   sound the beeper `count` times for `ms` each
    led(on)                 switch the status LED
    display(text)           show a line of text
    colour(name)            the status LED's colour: "green", "red", "amber" or "off" (a
                            one-colour LED is on for green, off otherwise; a sim board also
                            records the colour)
    features()              {"beeper": bool, "led": bool, "display": bool}

`pattern(outcome)` gives the terminal's outcomes (docs/terminal-flow.md): -> (LED colour,
beep ms, beep count). `signal(feedback, outcome, text, beeper_on)` shows the colour and the
text at once and returns the beep coroutine (the caller runs it as a task, so the beeps never
delay the event to the host), or None when the beeper is off or missing.

A board without a part raises `FeedbackError` for it (never a silent success).
"""

import asyncio

from reader.errors import table_line

_GAP_MS = 80  # silence between beeps

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


class PinFeedback:
    def __init__(self, board):
        self.board_name = getattr(board, "NAME", "?")
        self._led = board.led() if hasattr(board, "led") else None
        self._beeper = board.beeper() if hasattr(board, "beeper") else None
        self._display = getattr(board, "display", None)
        self._colour = getattr(board, "led_colour", None)

    def features(self):
        return {"beeper": self._beeper is not None, "led": self._led is not None,
                "display": self._display is not None}

    def _need(self, part, what):
        if part is None:
            raise FeedbackError("board %s has no %s" % (self.board_name, what))
        return part

    async def beep(self, ms=100, count=1):
        pin = self._need(self._beeper, "beeper")
        for i in range(count):
            if i:
                await asyncio.sleep_ms(_GAP_MS)
            pin.on()
            await asyncio.sleep_ms(ms)
            pin.off()

    def led(self, on):
        self._need(self._led, "LED").value(1 if on else 0)

    def display(self, text):
        self._need(self._display, "display")(text)

    def colour(self, name):
        if self._led is not None:
            self._led.value(1 if name == "green" else 0)
        if self._colour is not None:
            self._colour(name)


def signal(feedback, outcome, text, beeper_on=True):
    colour, ms, count = pattern(outcome)
    feedback.colour(colour)
    if feedback.features()["display"]:
        feedback.display(text)
    if beeper_on and feedback.features()["beeper"]:
        return feedback.beep(ms, count)
    return None


def for_board(board):
    if hasattr(board, "feedback"):
        return board.feedback()
    return PinFeedback(board)
