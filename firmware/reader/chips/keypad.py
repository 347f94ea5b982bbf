"""A 4x4 matrix keypad on GPIO lines (chip layer; the board hands over the Pin objects).

    rows, cols = board.keypad()          # 4 output Pins, 4 input Pins with pull-ups
    pad = Keypad(rows, cols)
    key = pad.poll(time.ticks_ms())      # "1".."9", "0", "*", "#", "A".."D" once per press,
                                         # else None

Between scans every row is driven low, so the idle check reads the four columns only: all
high (the pull-ups) means no key is down. When a column reads low, the rows are driven low one
at a time (the others high) to find the key; the first key found wins when several are down.
A key counts once it has read the same for `debounce_ms` (contact bounce is a few ms), and is
reported once per press: the next report needs it released (a key held down repeats nothing;
one held when the Keypad is made is not reported either).
Scanning allocates nothing (the key map is a bytes constant; the state is small ints).
"""

import time

from micropython import const

KEYS = b"123A456B789C*0#D"     # row by row, left to right: the common membrane layout
_NONE = const(-1)


class Keypad:
    def __init__(self, rows, cols, debounce_ms=20):
        self.rows = rows
        self.cols = cols
        self.debounce_ms = debounce_ms
        for row in rows:
            row.value(0)
        # a key already held when scanning starts (the one that started it) is not a press:
        # it counts once released and pressed again
        self._seen = self._stable = self.scan()   # raw reading / debounced (index or -1)
        self._since = 0               # ticks_ms when _seen began

    def scan(self):
        """The index (row * columns + column) of a key held down now, or -1."""
        cols = self.cols
        for col in cols:
            if not col.value():
                break
        else:
            return _NONE              # every column high: nothing held
        rows = self.rows
        found = _NONE
        for row in rows:
            row.value(1)
        for r in range(len(rows)):
            rows[r].value(0)
            for c in range(len(cols)):
                if not cols[c].value():
                    found = r * len(cols) + c
                    break
            rows[r].value(1)
            if found != _NONE:
                break
        for row in rows:
            row.value(0)
        return found

    def poll(self, now_ms):
        """The key newly pressed (a one-character str), once per press after debouncing;
        None otherwise."""
        raw = self.scan()
        if raw != self._seen:
            self._seen = raw
            self._since = now_ms
            return None
        if raw == self._stable or time.ticks_diff(now_ms, self._since) < self.debounce_ms:
            return None
        self._stable = raw
        return None if raw == _NONE else chr(KEYS[raw])

    def held(self):
        """The key held down now (no debouncing: the self-test's stuck-key check), or None."""
        raw = self.scan()
        return None if raw == _NONE else chr(KEYS[raw])
