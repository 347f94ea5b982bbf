# firmware: romfs
# The 4x4 keypad driver (reader.chips.keypad) against a matrix of pins: rows it drives,
# columns it reads, keys that join them while held; debounce, one report per press, stuck
# keys, and no allocation while it scans.
import gc

from reader.chips.keypad import KEYS, Keypad


class Matrix:
    """Four row pins (outputs) and four column pins (inputs with pull-ups) of a membrane
    matrix: a column reads 0 while a held key joins it to a row driven low."""

    def __init__(self):
        self.levels = [1, 1, 1, 1]
        self.down = []                        # (row, column) of the keys held
        self.rows = tuple(_Row(self, r) for r in range(4))
        self.cols = tuple(_Col(self, c) for c in range(4))
        self.reads = 0

    def hold(self, key):
        i = KEYS.index(key.encode())
        self.down.append((i // 4, i % 4))

    def release(self):
        self.down = []


class _Row:
    def __init__(self, m, r):
        self.m, self.r = m, r

    def value(self, v=None):
        if v is None:
            return self.m.levels[self.r]
        self.m.levels[self.r] = v


class _Col:
    def __init__(self, m, c):
        self.m, self.c = m, c

    def value(self, v=None):
        m = self.m
        m.reads += 1
        for r, c in m.down:
            if c == self.c and not m.levels[r]:
                return 0
        return 1


def _press(pad, m, key, t, hold_ms=40, step=10):
    """Hold `key` for hold_ms, polling every `step` ms from time t; -> (reports, t)."""
    seen = []
    m.hold(key)
    for _ in range(hold_ms // step):
        got = pad.poll(t)
        if got is not None:
            seen.append(got)
        t += step
    m.release()
    for _ in range(3):
        got = pad.poll(t)
        if got is not None:
            seen.append(got)
        t += step
    return seen, t


def test_every_key_is_found_at_its_row_and_column():
    m = Matrix()
    pad = Keypad(m.rows, m.cols)
    assert m.levels == [0, 0, 0, 0]           # rows low between scans
    t = 1000
    for key in "123A456B789C*0#D":
        seen, t = _press(pad, m, key, t)
        assert seen == [key], (key, seen)
        assert m.levels == [0, 0, 0, 0]


def test_idle_scan_reads_the_four_columns_only():
    m = Matrix()
    pad = Keypad(m.rows, m.cols)
    m.reads = 0
    assert pad.scan() == -1
    assert m.reads == 4


def test_a_held_key_is_reported_once_and_bounce_is_not_a_press():
    m = Matrix()
    pad = Keypad(m.rows, m.cols, debounce_ms=20)
    m.hold("5")
    assert pad.poll(0) is None                # first seen
    assert pad.poll(10) is None               # not yet stable for 20 ms
    assert pad.poll(20) == "5"
    for t in range(30, 500, 10):              # held: no repeat
        assert pad.poll(t) is None
    # contact bounce on release: down/up flicker shorter than the debounce
    m.release()
    assert pad.poll(500) is None
    m.hold("5")
    assert pad.poll(505) is None
    m.release()
    assert pad.poll(510) is None
    assert pad.poll(530) is None              # released for good: no report
    m.hold("5")
    assert pad.poll(540) is None
    assert pad.poll(560) == "5"               # a new press after a release


def test_two_keys_held_the_first_row_wins_and_held_says_what():
    m = Matrix()
    pad = Keypad(m.rows, m.cols)
    m.hold("9")
    m.hold("2")
    assert pad.held() == "2"
    m.release()
    assert pad.held() is None


def test_scanning_allocates_nothing():
    m = Matrix()
    pad = Keypad(m.rows, m.cols)
    m.hold("8")
    pad.scan()
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for t in range(0, 1000, 10):
            pad.scan()
            pad.poll(t)
        used = gc.mem_alloc() - before
    finally:
        gc.enable()
    assert used == 0, used


def test_a_key_held_when_scanning_starts_is_not_a_press():
    m = Matrix()
    m.hold("*")                               # still down from what came before
    pad = Keypad(m.rows, m.cols)
    for t in range(0, 200, 10):
        assert pad.poll(t) is None
    m.release()
    assert pad.poll(200) is None
    assert pad.poll(230) is None
    m.hold("*")
    assert pad.poll(240) is None
    assert pad.poll(260) == "*"
