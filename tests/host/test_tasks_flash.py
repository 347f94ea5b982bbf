"""`invoke flash` copies the firmware onto a reader's filesystem with mpremote: checked on a
virtual reader whose port was handed to the REPL."""

import subprocess
import sys

from hcterm import Reader
from hcterm.mpy import REPO
from hcterm.sim.virtualreader import VirtualReader


def test_invoke_flash_copies_firmware_board_and_main(tmp_path):
    link = tmp_path / "reader.port"
    # 256k: after the hand-off the REPL must find room for mpremote's copy buffers next to
    # everything the link server and terminal loaded (see the issue notes)
    with VirtualReader(flash=tmp_path / "flash.img", port_link=str(link),
                       heapsize="256k") as reader:
        with Reader(str(link), timeout=10) as client:
            client.info()
            client.handoff()
        proc = subprocess.run(
            [sys.executable, "-m", "invoke", "flash", "--port", str(link),
             "--board", "esp32-pn532-uart", "--resume"],
            cwd=REPO, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        listing = subprocess.run(
            [sys.executable, "-m", "mpremote", "resume", "connect", str(link), "ls", ":reader",
             "+", "cat", ":main.py"], capture_output=True, text=True, timeout=60).stdout
        assert reader.running()
    names = {line.split()[-1] for line in listing.splitlines() if line.strip().endswith(".py")}
    expected = {p.name for p in (REPO / "firmware" / "reader").glob("*.py")}
    assert expected <= names, expected - names
    assert "reader.main.boot(board)" in listing


def test_invoke_flash_names_an_unknown_board(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "invoke", "flash", "--port", "/dev/null",
                           "--board", "nope"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert "no board named 'nope'" in proc.stderr + proc.stdout
