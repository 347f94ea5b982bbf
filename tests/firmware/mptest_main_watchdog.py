# ruff: noqa: I001 - reader.terminal.link_server is imported before the rest on purpose
# heapsize: 160k
# firmware: romfs
# reader.main.run and the watchdog: a Ctrl-C (a host taking the port) at any moment after the
# watchdog started, and a second Ctrl-C while the watchdog is being quieted, still leave the
# watchdog idle for the REPL; otherwise a board's WDT (the virtual reader's on a sim) resets
# the reader under the host's raw REPL (seen as a flash failing with "the device stopped
# answering" when the Ctrl-C came while the reader was still starting).
from reader.terminal.link_server import LinkServer  # noqa: F401 - makes asyncio importable

import reader.main  # noqa: E402
from reader.terminal import flow  # noqa: E402


class Dog:
    def __init__(self, timeout_ms, interrupts=0):
        self.timeout_ms = timeout_ms
        self.calls = []
        self.interrupts = interrupts      # idle() calls cut by a Ctrl-C before one completes

    def feed(self):
        self.calls.append("feed")

    def idle(self):
        self.calls.append("idle")
        if self.interrupts:
            self.interrupts -= 1
            raise KeyboardInterrupt


class Board:
    WATCHDOG_MS = 8000

    def __init__(self, interrupts=0):
        self.interrupts = interrupts
        self.dog = None

    def watchdog(self, ms):
        self.dog = Dog(ms, self.interrupts)
        return self.dog


class Port:
    def write(self, data):
        pass

    async def readinto(self, buf):
        raise KeyboardInterrupt           # the host's Ctrl-C as the server starts reading


class CtrlCAtStart:
    """Stands in for the terminal flow: the Ctrl-C lands before the event loop runs."""

    def __init__(self, session):
        raise KeyboardInterrupt


def _run(board, terminal):
    reader.main._state.clear()
    real = flow.Terminal
    flow.Terminal = terminal
    try:
        reader.main.run(board, {"ok": True}, port=Port())
    except KeyboardInterrupt:
        pass
    finally:
        flow.Terminal = real
        reader.main._state.clear()


def test_a_ctrl_c_before_the_event_loop_still_quiets_the_watchdog():
    board = Board()
    _run(board, CtrlCAtStart)
    assert board.dog is not None and board.dog.calls == ["idle"], board.dog.calls


def test_a_second_ctrl_c_while_quieting_it_does_not_skip_idle():
    board = Board(interrupts=2)
    _run(board, CtrlCAtStart)
    assert board.dog.calls == ["idle", "idle", "idle"], board.dog.calls
    assert board.dog.interrupts == 0


def test_a_ctrl_c_in_the_running_loop_quiets_it_too():
    board = Board()
    _run(board, flow.Terminal)
    assert board.dog.calls[-1] == "idle", board.dog.calls


