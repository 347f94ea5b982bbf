# firmware: romfs
# The feedback patterns and signal(): what a person sees and hears for each outcome.
from reader.terminal import feedback


class Parts:
    """A board's feedback parts, recorded."""

    def __init__(self):
        self.seen = []

    def features(self):
        return {"beeper": True, "led": True, "display": True}

    def colour(self, name):
        self.seen.append(("colour", name))

    def display(self, text):
        self.seen.append(("display", text))

    def beep(self, ms, count):
        self.seen.append(("beep", ms, count))
        return "beep coroutine"


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


def test_signal_shows_colour_and_text_and_returns_the_beeps():
    parts = Parts()
    assert feedback.signal(parts, "refused", "REFUSED: blacklisted") == "beep coroutine"
    assert parts.seen == [("colour", "red"), ("display", "REFUSED: blacklisted"),
                          ("beep", 60, 3)]
    quiet = Parts()
    assert feedback.signal(quiet, "ok", "OK", beeper_on=False) is None
    assert quiet.seen == [("colour", "green"), ("display", "OK")]
