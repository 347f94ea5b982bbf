"""`hcterm emu`: a PN532 on a pty with the first sample card, until SIGTERM."""

import argparse
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import tty
import weakref

import pytest

from hcterm import cli
from hcterm.commands import emu

WAKE = b"\x55\x55" + bytes(14)
GET_FIRMWARE_VERSION = bytes.fromhex("0000FF02FED4022A00")
ACK = bytes.fromhex("0000FF00FF00")
FIRMWARE = bytes.fromhex("0000FF06FAD50332010607E800")


def read_exactly(fd, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    got = b""
    while len(got) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        got += os.read(fd, n - len(got))
    return got


_PENDING = weakref.WeakKeyDictionary()   # stream -> bytes read past its last line


def read_line(stream, timeout=10.0):
    """The next line the process printed ("" after `timeout`). Reads the pipe's fd itself:
    `stream.readline()` would buffer the lines after the first, where select cannot see them."""
    fd = stream.fileno()
    buf = _PENDING.get(stream, b"")
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            _PENDING[stream] = buf
            return ""
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    line, newline, rest = buf.partition(b"\n")
    _PENDING[stream] = rest
    return (line + newline).decode()


@pytest.fixture
def emu_process(tmp_path):
    link = tmp_path / "pn532"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hcterm.commands.emu", "--chip", "pn532-uart",
         "--link", str(link), "--fault", "lost_ack=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc, link
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_emu_is_a_cli_command():
    assert "emu" in cli.COMMAND_MODULES
    parser = argparse.ArgumentParser()
    emu.register(parser.add_subparsers())
    args = parser.parse_args(["emu", "--chip", "rc522", "--link", "/tmp/x"])
    assert args.func is emu.run and args.chip == "rc522" and args.pty_link == "/tmp/x"


@pytest.mark.parametrize("command", ["sim", "emu"])
def test_link_is_one_option_and_the_old_spelling_a_hidden_alias(command):
    parser = cli.build_parser()
    old = {"sim": "--port-link", "emu": "--pty-link"}[command]
    dest = {"sim": "port_link", "emu": "pty_link"}[command]
    for option in ("--link", old):
        assert getattr(parser.parse_args([command, option, "/tmp/x"]), dest) == "/tmp/x"
    sub = dict((name, p) for name, p, _ in cli.subparsers_of(parser))[command]
    text = sub.format_help()
    assert "--link PATH" in text and old not in text


@pytest.mark.parametrize("chip", ["pn532-spi", "rc522"])
def test_spi_chips_exit_with_a_clear_message(chip, capsys):
    assert emu.main(["--chip", chip]) == 2
    err = capsys.readouterr().err
    assert f"{chip} is an SPI chip" in err and "--chip pn532-uart" in err


def test_emu_serves_the_first_sample_card_on_a_pty_until_sigterm(emu_process):
    proc, link = emu_process
    first = read_line(proc.stdout)
    assert first.startswith("PN532 (HSU, 115200 baud) on /dev/pts/"), proc.stderr.read()
    assert f"(link {link})" in first and "card-01" in first
    assert os.path.realpath(link).startswith("/dev/pts/")
    fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        os.write(fd, WAKE + GET_FIRMWARE_VERSION)
        assert read_exactly(fd, len(FIRMWARE)) == FIRMWARE  # --fault lost_ack=1: no ACK
        os.write(fd, GET_FIRMWARE_VERSION)
        assert read_exactly(fd, len(ACK + FIRMWARE)) == ACK + FIRMWARE
    finally:
        os.close(fd)
    if shutil.which("nfc-list"):
        env = dict(os.environ, LIBNFC_DEVICE=f"pn532_uart:{link}")
        out = subprocess.run(["nfc-list"], env=env, capture_output=True, text=True,
                             timeout=30).stdout
        assert "1 ISO14443A passive target(s) found" in out
        assert "SAK (SEL_RES): 20" in out and "ATS:" in out
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert not os.path.lexists(link)


@pytest.mark.parametrize("spec, message", [
    ("nope", "unknown fault 'nope'"), ("evil=nice", "unknown evil card kind"),
    ("card_removed_after", "needs an argument"), ("garbage=XYZ", "bad argument")])
def test_bad_fault_specs_are_refused_with_the_reason(spec, message, capsys):
    assert emu.main(["--no-card", "--fault", spec]) == 2
    assert message in capsys.readouterr().err


def test_emu_serves_a_qr_scanner_whose_scans_come_from_stdin(tmp_path):
    import serial

    qr_link = tmp_path / "qr"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hcterm.commands.emu", "--pty-link", str(tmp_path / "pn532"),
         "--qr-pty", str(qr_link)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [read_line(proc.stdout) for _ in range(3)]
        assert lines[2].startswith("QR scanner module (9600 8N1) on /dev/pts/"), lines
        with serial.Serial(str(qr_link), 9600, timeout=3) as qr:
            code = "272EB52D0696FD625B6F3E1A830728532779BEB87520CC83948C50A43F439F58:1"
            proc.stdin.write(code + "\n")
            proc.stdin.flush()
            assert qr.read_until(b"\r") == code.encode() + b"\r"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
    assert not qr_link.exists()
