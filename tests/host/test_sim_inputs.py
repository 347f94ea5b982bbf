"""Host-side inputs of the virtual reader: card images refused in one line (never a
traceback), inputs read with size limits (`hcterm tap /dev/zero`), a flash image that does not
mount refused unless --format, and a firmware that does not boot reported with its own last
lines and a non-zero exit."""

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from hcterm.emulator import samples
from hcterm.emulator.cardimage import ImageError, data_from_image, read_image
from hcterm.sim.control import MAX_REQUEST, ControlServer


def hcterm(*argv, timeout=60):
    return subprocess.run([sys.executable, "-m", "hcterm.cli", *argv], capture_output=True,
                          text=True, timeout=timeout)


def sample():
    return json.loads(samples.paths()[0].read_text(encoding="utf-8"))


def _bad_images(tmp_path):
    """name -> (file content, words of the error)"""
    wrong_files = sample()
    wrong_files["files"]["DDF1/EF06"] = 5
    wrong_keys = sample()
    wrong_keys["keys"] = ["IRK_DDF1"]
    no_uid = sample()
    del no_uid["uid"]
    return {
        "list": (b"[1, 2]", "is a JSON list, not an object"),
        "files-int": (json.dumps(wrong_files).encode(), "wrong type or form"),
        "keys-list": (json.dumps(wrong_keys).encode(), "wrong type or form|missing"),
        "no-uid": (json.dumps(no_uid).encode(), "^uid is missing"),
        "deep": (b"[" * 100000, "nested too deep"),
        "not-utf8": (b"\xff\xfe{}", "not UTF-8"),
        "not-json": (b"{uid: 1", "not JSON"),
        "huge": (b" " * (300 * 1024) + b"{}", "over 256 KiB"),
    }


def test_rejected_card_images_give_one_line_not_a_traceback(tmp_path):
    for name, (content, words) in _bad_images(tmp_path).items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(content)
        with pytest.raises(ImageError, match=words):
            data_from_image(read_image(path))
    # through the CLI: sim --card and tap, argparse's one-line error (exit 2)
    for name in ("list", "files-int", "deep", "huge"):
        for argv in (["sim", "--card"], ["tap"]):
            out = hcterm(*argv, str(tmp_path / f"{name}.json"), "--control",
                         str(tmp_path / "none.ctl"))
            assert out.returncode == 2, (name, out)
            assert "Traceback" not in out.stderr, out.stderr
            error = out.stderr.strip().splitlines()[-1]
            assert "is not a card image" in error and "give a card JSON image" in error, error


def test_tap_reads_with_size_limits(tmp_path):
    start = time.monotonic()
    out = hcterm("tap", "/dev/zero", "--control", str(tmp_path / "none.ctl"))
    assert out.returncode == 2 and "not a regular file" in out.stderr, out
    assert time.monotonic() - start < 20          # (it used to read /dev/zero until OOM)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        read_image(fifo)                           # not blocked waiting for a writer
    out = hcterm("scan", "A" * 5000, "--control", str(tmp_path / "none.ctl"))
    assert out.returncode == 2 and "at most 4296" in out.stderr.replace("1 to ", "at most ")
    # the control socket reads one request line of at most MAX_REQUEST bytes
    seen = []
    server = ControlServer(tmp_path / "c.ctl", lambda request: seen.append(request) or {"ok": 1})
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(tmp_path / "c.ctl"))
            sock.settimeout(10)
            sock.sendall(b'{"op": "scan", "text": "' + b"A" * (4 * MAX_REQUEST))
            reply = b""
            while not reply.endswith(b"\n"):
                reply += sock.recv(4096)
            assert f"over {MAX_REQUEST} bytes" in json.loads(reply)["error"]
        with socket.socket(socket.AF_UNIX) as sock:   # the server goes on
            sock.connect(str(tmp_path / "c.ctl"))
            sock.sendall(b'{"op": "status"}\n')
            assert json.loads(sock.makefile("rb").readline()) == {"ok": 1}
        assert seen == [{"op": "status"}]
    finally:
        server.close()


def _sim(*argv):
    return subprocess.Popen([sys.executable, "-m", "hcterm.cli", "sim", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_flash_image_that_does_not_mount_is_refused_unless_format(tmp_path):
    image = tmp_path / "flash.img"
    image.write_bytes(bytes(range(256)) * 4096)       # 1 MiB: not littlefs, not blank
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    out = hcterm("sim", "--flash", str(image), "--control", str(tmp_path / "c.ctl"))
    assert out.returncode == 1, out
    assert "the firmware did not boot" in out.stderr
    assert "does not mount as littlefs and is not blank" in out.stderr
    assert "--format" in out.stderr
    assert hashlib.sha256(image.read_bytes()).hexdigest() == digest   # untouched
    # with --format: formatted, boots
    proc = _sim("--flash", str(image), "--format", "--control", str(tmp_path / "c.ctl"))
    try:
        lines = []
        while not lines or lines[-1] != "firmware booted\n":
            line = proc.stdout.readline()
            assert line, (lines, proc.stderr.read() if proc.poll() is not None else "")
            lines.append(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    assert hashlib.sha256(image.read_bytes()).hexdigest() != digest
    # a formatted image (and a new one) boots without --format, its files kept
    out = _sim("--flash", str(image), "--control", str(tmp_path / "c.ctl"))
    try:
        while (line := out.stdout.readline()) != "firmware booted\n":
            assert line, out.stderr.read()
    finally:
        out.send_signal(signal.SIGTERM)
        assert out.wait(timeout=15) == 0


def test_a_firmware_that_does_not_boot_is_reported(tmp_path):
    out = hcterm("sim", "--heapsize", "30k", "--control", str(tmp_path / "c.ctl"))
    assert out.returncode == 1, out
    assert "hcterm sim: the firmware did not boot: the firmware ran out of memory in a 30k " \
           "heap: give --heapsize more" in out.stderr, out.stderr
    assert "its last output:" in out.stderr and "MemoryError" in out.stderr
