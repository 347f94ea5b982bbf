"""An emulated 4x4 matrix keypad, as a handheld reader wires it (docs/sim-bus.md, "Keypad").

Four row lines (`r0`..`r3`) are driven by the board, four column lines (`c0`..`c3`) are read
by it with pull-ups. A key that is held down joins its row to its column: the column reads
low while that row is driven low, high otherwise (the pull-up), exactly what the firmware's
scan (reader.chips.keypad) sees on a real matrix. Several keys down at once join their lines
the same way (a column reads low if any of its held keys sits on a low row).

`press(keys)` holds each key for `hold_s`, releases it for `gap_s`, one after the other, in
real time: the firmware debounces and must see each press and release.
"""

import threading
import time

from .bus_device import Device

# the keys by row, left to right: the common 4x4 membrane layout
LAYOUT = ("123A", "456B", "789C", "*0#D")
HOLD_S = 0.06     # a finger's press: long enough for a 20 ms debounce at a 10 ms scan
GAP_S = 0.06


class KeypadError(ValueError):
    pass


class Keypad(Device):
    def __init__(self, layout=LAYOUT):
        super().__init__()
        self.layout = layout
        self._rows = [1] * len(layout)       # what the board drives (1: high / not driven)
        self._down = set()                   # (row, column) of the keys held
        self._lock = threading.Lock()
        self.pressed = []                    # every key pressed, in order (tests, status)

    # -- the board's side -------------------------------------------------------------------
    def on_line(self, name, value):
        if name[:1] == "r" and name[1:].isdigit() and int(name[1:]) < len(self._rows):
            self._rows[int(name[1:])] = 1 if value else 0

    @property
    def lines(self):
        """Column levels as the board reads them (the bus reads `lines[name]`)."""
        with self._lock:
            down = set(self._down)
        levels = {}
        for column in range(len(self.layout[0])):
            low = any(c == column and not self._rows[r] for r, c in down)
            levels[f"c{column}"] = 0 if low else 1
        return levels

    @lines.setter
    def lines(self, _value):
        pass   # Device.__init__ sets it; the levels follow the keys and rows instead

    # -- a person's side ---------------------------------------------------------------------
    def position(self, key):
        for row, keys in enumerate(self.layout):
            column = keys.find(key)
            if column >= 0:
                return row, column
        raise KeypadError(f"no key {key!r} on this keypad: the keys are "
                          f"{''.join(self.layout)}")

    def hold(self, key):
        with self._lock:
            self._down.add(self.position(key))

    def release(self, key=None):
        with self._lock:
            if key is None:
                self._down.clear()
            else:
                self._down.discard(self.position(key))

    def press(self, keys, hold_s=HOLD_S, gap_s=GAP_S):
        """Press each key of `keys` in turn (returns when the last is released)."""
        for key in keys:
            self.position(key)                  # all checked before the first is pressed
        for key in keys:
            self.hold(key)
            time.sleep(hold_s)
            self.release(key)
            self.pressed.append(key)
            time.sleep(gap_s)
