# firmware: romfs
# The feedback patterns and signal(): what a person sees and hears for each outcome.
import asyncio

from reader.terminal import feedback
from reader.terminal.session import Session


class Pin:
    def __init__(self, name, seen):
        self.name, self.seen = name, seen

    def on(self):
        self.seen.append((self.name, 1))

    def off(self):
        self.seen.append((self.name, 0))

    def value(self, v):
        self.seen.append((self.name, v))


class Parts:
    """A session whose board has every feedback part, each recorded in `seen`."""

    def __init__(self, beeper_on=True, board_parts=True):
        self.seen = seen = []
        self.led = Pin("led", seen)
        self.beeper = Pin("beeper", seen)
        self.config = {"beeper": beeper_on}

        class Board:
            NAME = "test-board"

        if board_parts:
            Board.led_colour = staticmethod(lambda name: seen.append(("colour", name)))
        self.board = Board
        self.terminal = None


def test_patterns_of_every_outcome():
    assert feedback.pattern("ok") == ("green", 100, 1)
    assert feedback.pattern("refused") == ("red", 60, 3)
    assert feedback.pattern("error") == ("amber", 300, 1)
    assert feedback.pattern("qr") == ("green", 50, 1)
    try:
        feedback.pattern("party")
    except ValueError as error:
        assert "party" in str(error)
    else:
        raise AssertionError("an unknown outcome has a pattern")


def test_signal_shows_the_colour_and_returns_the_beeps():
    parts = Parts()
    beeps = feedback.signal(parts, "refused", {"uid": "8A3F21C7", "reason": "blacklisted"})
    assert parts.seen == [("led", 0), ("colour", "red")]
    assert beeps == (60, 3)                           # three beeps of 60 ms, by the session
    quiet = Parts(beeper_on=False)
    assert feedback.signal(quiet, "ok", {"uid": "8A3F21C7"}) is None
    assert quiet.seen == [("led", 1), ("colour", "green")]


def test_a_board_without_a_display_imports_no_screen():
    import sys

    parts = Parts()
    assert feedback.show(parts, "pin", {"digits": 2, "tries_left": 3}) is False
    feedback.signal(parts, "ok", {"uid": "8A3F21C7", "XM": "D5C5CEB0"})
    assert "reader.terminal.screens" not in sys.modules
    assert "reader.terminal.glyphs" not in sys.modules


def test_a_board_without_a_part_says_so():
    bare = Parts(board_parts=False)
    bare.led = bare.beeper = None
    assert feedback.features(bare) == {"beeper": False, "led": False, "display": False}
    for call in (lambda: feedback.display(bare, "x"), lambda: feedback.led(bare, True),
                 lambda: feedback.need(bare, "beeper")):
        try:
            call()
        except feedback.FeedbackError as error:
            assert str(error) in ("board test-board has no display",
                                  "board test-board has no LED",
                                  "board test-board has no beeper"), error
        else:
            raise AssertionError("a missing part was a silent success")


def test_the_session_sounds_the_beeps_with_gaps():
    parts = Parts()
    asyncio.run(Session.beep(parts, 20, 3))
    assert parts.seen == [("beeper", 1), ("beeper", 0)] * 3
