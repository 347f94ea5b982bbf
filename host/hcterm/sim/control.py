"""The virtual reader's control socket: `hcterm tap/remove/scan` talk to a running sim.

One JSON object per line each way: {"op": "tap", "card": …} | {"op": "remove"} |
{"op": "scan", "text": …} | {"op": "press", "keys": "1234#"} (the board's keypad: each key
held and released in turn, the answer once the last is up; `hcterm press`) |
{"op": "battery", "mv": 3500} (the cell's voltage its ADC reads; `hcterm battery`) |
{"op": "status", "reset"?: true} (with "radio": the field's polls per second and modeled
radio-on fraction since the last reset) -> {"ok": true, …} or {"error": "…"}.
"""

import json
import os
import socket
import threading

DEFAULT_PATH = os.path.join(os.environ.get("XDG_RUNTIME_DIR") or "/tmp", "hcterm-sim.ctl")
MAX_REQUEST = 16 * 1024   # bytes of one control request line (a QR code's text fits)


class ControlInUse(RuntimeError):
    """Another running virtual reader answers on this control socket."""


def claim(path):
    """Make `path` free for a new control socket: a stale one (its sim gone) is removed; one a
    running sim answers on raises ControlInUse, so two sims never share (and steal) one."""
    path = str(path)
    if not os.path.exists(path):
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)         # nobody listens: left by a sim that was killed
        return
    finally:
        probe.close()
    raise ControlInUse(
        f"the control socket {path} is in use by another running virtual reader: stop that "
        f"one, or give this one its own socket with --control PATH (and pass the same "
        f"--control PATH to hcterm tap/remove/scan)")


class ControlServer:
    def __init__(self, path, handler):
        self.path = str(path)
        self.handler = handler
        claim(self.path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(4)
        self._thread = threading.Thread(target=self._accept, name="sim-control", daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn, conn.makefile("rwb") as stream:
            while True:
                line = stream.readline(MAX_REQUEST + 1)   # never more than that in memory
                if not line:
                    return
                too_long = len(line) > MAX_REQUEST
                try:
                    if too_long:
                        raise ValueError(f"control request over {MAX_REQUEST} bytes: a card "
                                         "is given by its path, a QR code is a short text")
                    reply = self.handler(json.loads(line))
                except Exception as error:  # noqa: BLE001 - every failure goes back as text
                    reply = {"error": str(error)}
                stream.write(json.dumps(reply).encode() + b"\n")
                stream.flush()
                if too_long:
                    return   # the rest of that line is not read

    def close(self):
        self._sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


class SimNotRunning(ConnectionError):
    pass


def request(message, path=DEFAULT_PATH, timeout=10):
    """Send one control request to a running `hcterm sim`; return its reply dict."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except OSError as error:
        sock.close()
        raise SimNotRunning(
            f"no virtual reader on {path} ({error.strerror}): start one with "
            f"`hcterm sim --control {path}`") from None
    with sock, sock.makefile("rwb") as stream:
        stream.write(json.dumps(message).encode() + b"\n")
        stream.flush()
        line = stream.readline()
    if not line:
        raise SimNotRunning(f"the virtual reader on {path} closed the connection")
    return json.loads(line)
