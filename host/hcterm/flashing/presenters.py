"""Who does the person's part of the acceptance (hcterm.flashing.acceptance): places the
reference card, takes it away, says whether the LED lit and the beeper sounded.

- `VirtualPresenter`: a virtual reader's control channel (`hcterm sim --control PATH`): the
  card is tapped and removed there, and the LED and beeper changes the sim board recorded
  are looked at.
- `ManualPresenter`: the operator at a real board, prompted on the terminal; every answer
  has a timeout.
"""

import contextlib
import select
import sys
import threading
import time

from ..sim.control import SimNotRunning, request

DEFAULT_CARD = "adult"    # the reference card of the virtual presenter (a sample card)


class PresenterError(RuntimeError):
    """The presenter cannot do its part (no virtual reader on the control path...)."""


class VirtualPresenter:
    tap_timeout = 15
    turn = contextlib.nullcontext()     # nobody to share: readers run their checks at once

    def __init__(self, control, card=DEFAULT_CARD):
        self.control = str(control)
        self.card = card
        self._ask({"op": "status"})     # PresenterError now when nothing answers there

    def _ask(self, message):
        try:
            reply = request(message, self.control)
        except (SimNotRunning, OSError) as error:
            raise PresenterError(f"{error}") from None
        if "error" in reply:
            raise PresenterError(f"the virtual reader on {self.control}: {reply['error']}")
        return reply

    def place(self):
        """Tap the reference card: its image's fields the check compares ({"uid"})."""
        from ..emulator.card import load_card

        path = self._ask({"op": "tap", "card": self.card})["card"]
        return {"uid": load_card(path).uid.hex().upper()}

    def take_away(self):
        self._ask({"op": "remove"})

    def mark(self):
        """The sim's clock (its last recorded change): changes after it are new."""
        records = self._ask({"op": "status"}).get("feedback") or []
        return records[-1]["t"] if records else -1.0

    def feedback_seen(self, since, parts, wait=2.0):
        """Of `parts` ("led", "beeper"), those the board did not switch on after `since`."""
        deadline = time.monotonic() + wait
        while True:
            on = {r.get("name") for r in self._ask({"op": "status"}).get("feedback") or []
                  if r["t"] > since and r.get("kind") == "pin" and r.get("value") == 1}
            missing = [p for p in parts if p not in on]
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.1)


class ManualPresenter:
    """Prompts on `out`, answers from `inp` (a terminal), each within `timeout` seconds. One
    operator: readers flashed in parallel take their turns (a lock)."""

    turn = threading.Lock()
    tap_timeout = 30

    def __init__(self, port, timeout=30, inp=None, out=None):
        self.port = port
        self.timeout = timeout
        self.tap_timeout = timeout
        self.inp = inp or sys.stdin
        self.out = out or sys.stderr

    def say(self, text):
        print(f"[{self.port}] {text}", file=self.out, flush=True)

    def place(self):
        self.say(f"place the reference card on the reader's antenna (within {self.timeout} s)")
        return {}

    def take_away(self):
        self.say("take the card away")

    def mark(self):
        return None

    def feedback_seen(self, since, parts):
        what = {"led": "the LED light", "beeper": "the beeper sound"}
        answer = self.ask(f"did {' and '.join(what[p] for p in parts)} just now? [y/n]")
        return [] if answer in ("y", "yes") else parts

    def ask(self, question):
        """The operator's answer (lower case), or "" when none came in time."""
        self.say(question)
        ready, _, _ = select.select([self.inp], [], [], self.timeout)
        if not ready:
            self.say(f"no answer within {self.timeout} s")
            return ""
        return self.inp.readline().strip().lower()
