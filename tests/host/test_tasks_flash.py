"""`invoke flash` runs `hcterm flash`: checked on a virtual reader with --files (the .mpy
files written to littlefs, the path of a board without a ROM partition), and an unknown
board named."""

import json
import subprocess
import sys

from hcterm.link import Reader
from hcterm.mpy import REPO
from hcterm.sim.virtualreader import VirtualReader


def test_invoke_flash_writes_the_compiled_firmware_to_littlefs(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"terminal_id": "F{n}"}))
    # 256k: modules imported from .mpy files on littlefs are loaded into RAM (no ROM)
    with VirtualReader(flash=tmp_path / "flash.img", heapsize="256k") as reader:
        proc = subprocess.run(
            [sys.executable, "-m", "invoke", "-r", str(REPO), "flash", "--port", reader.port,
             "--board", "sim-pn532-uart", "--files", "--config", str(config)],
            cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        with Reader(reader.port, timeout=10, open_timeout=30) as client:
            assert client.config()["terminal_id"] == "F1"
            client.handoff()
        listing = subprocess.run(
            [sys.executable, "-m", "mpremote", "resume", "connect", reader.port, "ls",
             ":reader/terminal", "+", "ls", ":"], capture_output=True, text=True,
            timeout=60).stdout
    assert "flow.mpy" in listing and "flow.py" not in listing
    assert "flash.json" in listing and "flash.incomplete" not in listing
    record = json.loads((tmp_path / "flash-records.jsonl").read_text().splitlines()[-1])
    assert record["result"] == "ok" and record["selftest"] == "ok"


def test_invoke_flash_names_an_unknown_board(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "invoke", "-r", str(REPO), "flash", "--port",
                           "/dev/null", "--board", "nope"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    assert "no board named 'nope'" in proc.stderr + proc.stdout
