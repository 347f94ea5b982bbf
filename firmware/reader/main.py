"""Entry point of the reader firmware: `reader.main.boot(board)` from main.py / simboot.py."""

import json

from reader import selftest

_state = {}


def boot(board):
    """Power-on: run the self-test, print it as one line `SELFTEST {json}` (for people and
    tools watching the port before they speak the link), then serve the host link
    (docs/host-link.md) on the USB port until the host asks for the REPL or Ctrl-C stops
    it. Returns the self-test report; the REPL then has the port."""
    report = selftest.run(board)
    print("SELFTEST " + json.dumps(report))
    _state["board"] = board
    _state["report"] = report
    serve(announce=True)
    return report


def serve(announce=False):
    from reader import linkserver

    try:
        linkserver.run(_state["board"], _state["report"], announce=announce)
    except KeyboardInterrupt:
        print("\r\nhost link stopped by Ctrl-C; the REPL has the port")


def resume():
    """The host takes the port back from the REPL: it runs `import reader.main as m;m.resume()`
    in the raw REPL (docs/host-link.md, "Handing the port to the REPL")."""
    if "board" not in _state:
        import board

        _state["board"] = board
        _state["report"] = selftest.run(board)
    serve()
