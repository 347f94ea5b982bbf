"""Two `hcterm sim` on one control socket: the second refuses, naming the socket and
--control, and the first keeps answering `hcterm tap`; a stale socket is taken over."""

import signal
import socket
import subprocess
import sys

import pytest

from hcterm.sim.control import ControlInUse, claim, request


def hcterm(*argv, timeout=60):
    return subprocess.run([sys.executable, "-m", "hcterm.cli", *argv], capture_output=True,
                          text=True, timeout=timeout)


def test_a_second_sim_on_the_same_control_socket_refuses(tmp_path):
    control = tmp_path / "sim.ctl"
    first = subprocess.Popen(
        [sys.executable, "-m", "hcterm.cli", "sim", "--control", str(control)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        while not lines or not lines[-1].startswith("Ctrl-C"):
            line = first.stdout.readline()
            assert line, lines
            lines.append(line)
        assert f"control: {control}" in "".join(lines)
        second = hcterm("sim", "--control", str(control))
        assert second.returncode == 2, second
        assert second.stdout == ""
        assert f"the control socket {control} is in use by another running virtual reader" \
            in second.stderr
        assert "--control PATH" in second.stderr
        tap = hcterm("tap", "adult", "--control", str(control))
        assert tap.returncode == 0, tap.stderr
        assert "card-01-adult-zhang-wei" in tap.stdout
        assert request({"op": "status"}, control)["running"] is True
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=15) == 0
    assert not control.exists()


def test_claim_takes_over_a_stale_socket_and_refuses_a_live_one(tmp_path):
    path = tmp_path / "stale.ctl"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()                   # the file stays, nobody listens: a killed sim's
    claim(path)
    assert not path.exists()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as live:
        live.bind(str(path))
        live.listen(1)
        with pytest.raises(ControlInUse, match="--control PATH"):
            claim(path)
        assert path.exists()
