"""Entry point of the reader firmware: `reader.main.boot(board)` from main.py / simboot.py.

The one place the parts are wired together: the self-test runs once, then a session
(reader.terminal.session) joins the link server (reader.terminal.link_server), whose dispatch
serves each host request through reader.terminal.requests, and the terminal flow
(reader.terminal.flow), which polls beside it.
"""

import gc
import json

import reader

_state = {}


def _selftest(board):
    """Run the self-test; it and every reader module it brought in (drivers, the blacklist)
    leave RAM after it: it runs once, and the terminal imports what it needs again itself."""
    report = reader.run_once("terminal.selftest", "run", board)
    gc.collect()
    return report


def boot(board):
    """Power-on: run the self-test, print it as one line `SELFTEST {json}` (for people and
    tools watching the port before they speak the link), then serve the host link
    (docs/host-link.md) and run the terminal flow (docs/terminal-flow.md) on the USB port
    until the host asks for the REPL or Ctrl-C stops it. Returns the self-test report; the
    REPL then has the port."""
    report = _selftest(board)
    text = json.dumps(report)
    print("SELFTEST " + text)
    _state["board"] = board
    _state["report"] = _keep(text)
    del report
    serve(announce=True)
    return json.loads(text)


def _keep(text):
    """Keep the self-test report on the flash (asked for rarely), not in RAM: None; the text
    itself where the flash refuses it."""
    from reader.terminal.session import REPORT_PATH

    try:
        with open(REPORT_PATH, "w") as f:
            f.write(text)
    except OSError:
        return text
    return None


def serve(announce=False):
    try:
        run(_state["board"], _state["report"], announce=announce)
    except KeyboardInterrupt:
        print("\r\nhost link stopped by Ctrl-C; the REPL has the port")


def run(board, report, port=None, announce=True):
    """The link server and the terminal side by side until the host takes the REPL; returns
    "repl". `announce`: send the self-test report as an event first (at boot, not when
    resumed), so a host sees it before any tap."""
    import asyncio

    from reader import hostlink
    from reader.terminal.flow import Terminal
    from reader.terminal.link_server import LinkServer, StdioPort, supervised
    from reader.terminal.session import Session

    # a collection every 8 KiB allocated: a tap's garbage (~30 KB of it) is freed before it
    # lies between what stays (the SAM session, the card application's modules while it
    # reads), so the free heap stays in few large holes (docs/firmware-memory.md, round 7)
    gc.threshold(8192)
    # the session outlives a visit of the host at the REPL (devices opened, slots the host
    # holds, a blacklist update between its chunks), as the hardware does
    session = _state.get("session")
    if session is None or session.board is not board:
        session = Session(board, report)

    def dispatch(msg, payload):
        return reader.call("terminal.requests", "serve", session, msg, payload)

    # the offline tap journal's folder on the flash (docs/tap-journal.md)
    server = session.server = LinkServer(port or StdioPort(), dispatch, journal="/journal",
                                         session=session)
    try:
        # from here to the REPL, a Ctrl-C (a host taking the port, perhaps while the reader
        # still boots) leaves through the finally below, which quiets the watchdog
        if "watchdog" not in _state:
            # the board's watchdog (board contract `watchdog(ms)`: machine.WDT on a board, the
            # virtual reader's on a sim), started once per boot; None on a board without one
            make = getattr(board, "watchdog", None)
            _state["watchdog"] = make(board.WATCHDOG_MS) if make else None
        dog = _state["watchdog"]
        if announce:
            server.event(hostlink.EV_SELFTEST, session.report())
        terminal = Terminal(session)
        _state["session"] = session

        async def feed():
            # the watchdog fed from the event loop every 0.5 s: a loop stalled in a call that
            # never returns stops feeding it, and it resets the reader (docs/terminal-flow.md)
            while True:
                try:
                    dog.feed()
                except MemoryError:   # a sim's feed allocates (a board's does not): next turn
                    pass
                await asyncio.sleep_ms(500)

        async def main():
            tasks = [asyncio.create_task(supervised(server, terminal.run, "terminal flow"))]
            if dog is not None:
                tasks.append(asyncio.create_task(feed()))
            try:
                await server.serve()
            finally:
                for task in tasks:
                    task.cancel()

        # A fresh loop, also after the last one was left by Ctrl-C: MicroPython keeps one
        # task queue, and the old server's tasks would otherwise run again and read the port.
        asyncio.new_event_loop()
        asyncio.run(main())
    finally:
        # the REPL has the port: the board keeps the watchdog quiet. Hosts send Ctrl-C more
        # than once (mpremote retries): one landing here must not skip idle(), or the
        # watchdog resets the reader under the host's raw REPL
        while _state.get("watchdog") is not None:
            try:
                _state["watchdog"].idle()
                break
            except KeyboardInterrupt:
                pass
        asyncio.new_event_loop()
    return "repl"


def resume():
    """The host takes the port back from the REPL: it runs `import reader.main as m;m.resume()`
    in the raw REPL (docs/host-link.md, "Handing the port to the REPL")."""
    if "board" not in _state:
        import board

        _state["board"] = board
        _state["report"] = _keep(json.dumps(_selftest(board)))
    serve()
