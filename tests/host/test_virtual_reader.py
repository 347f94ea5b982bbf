"""The virtual reader: the firmware boots on the sim board under a bounded heap, keeps its
files on the littlefs sim flash across restarts, and its USB port works with mpremote."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from hcterm import mplib
from hcterm.mpy import BOARDS_DIR
from hcterm.sim.control import request
from hcterm.sim.virtualreader import QSTR_POOL_HEAP, VirtualReader, wait_for_line

SAMPLE_QR = "272EB52D0696FD625B6F3E1A830728532779BEB87520CC83948C50A43F439F58:1"


def selftest(reader):
    return json.loads(wait_for_line(reader.port, "SELFTEST ", timeout=30)[len("SELFTEST "):])


def mpremote(port, *args):
    proc = subprocess.run([sys.executable, "-m", "mpremote", "resume", "connect", str(port),
                           *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def test_firmware_boots_under_128k_heap_and_reports_selftest(tmp_path):
    with VirtualReader("sim-pn532-uart", flash=tmp_path / "flash.img",
                       heapsize="128k") as reader:
        report = selftest(reader)
        # the firmware's budget is 128 KiB; the ROMFS image (its "flash") and the names'
        # seventh qstr pool (boards/sim-common/simqstr.py) come on top
        image = reader.rom_image.stat().st_size
        assert reader.outside_budget == image + QSTR_POOL_HEAP
        assert f"heapsize={128 * 1024 + image + 1024 + QSTR_POOL_HEAP}" in reader.process.args
    check_selftest(report)


def test_the_names_seventh_pool_is_allocated_at_boot(tmp_path, monkeypatch):
    """simqstr (boards/sim-common) interns the flow's names and fillers at boot, so the
    seventh qstr pool exists before the firmware runs and the seventh and last pool the
    flow ever needs (docs/firmware-memory.md); with HCTERM_QSTR_PRELOAD=0 the idle reader
    stays in six pools."""
    counts = {}
    for preload in ("1", "0"):
        monkeypatch.setenv("HCTERM_QSTR_PRELOAD", preload)
        with VirtualReader("sim-rc522", flash=tmp_path / f"flash{preload}.img") as reader:
            selftest(reader)
            counts[preload] = mpremote(reader.port, "exec",
                                       "import micropython;micropython.qstr_info()")
    assert "n_pool=7," in counts["1"], counts
    assert "n_pool=6," in counts["0"], counts


def test_firmware_boots_from_source(tmp_path):
    # From source the firmware compiles every module it imports (parse trees, and the qstr
    # text in RAM), and modules it lets go are compiled again when next needed: a 192k
    # budget. A board runs the frozen image, whose budget test_heap_budget.py checks.
    with VirtualReader(flash=tmp_path / "flash.img", from_source=True,
                       heapsize="192k") as reader:
        report = selftest(reader)
        assert "heapsize=196608" in reader.process.args
        assert reader.rom_image is None
    check_selftest(report)


def test_a_display_board_boots_from_source_with_the_driver_from_the_venv(tmp_path):
    # the SSD1306 driver is micropython-lib's, installed in the venv (hcterm.mplib), not in
    # the repository: from source, as in the ROMFS image, it is found beside the board
    # (no --heapsize: from source the board's own, 160k, and 128k for the compiling)
    with VirtualReader("sim-handheld", flash=tmp_path / "flash.img",
                       from_source=True) as reader:
        assert reader.rom_image is None and reader.heapsize == "288k"
        root = reader.source_root
        assert (root / "boards" / "sim-handheld" / "ssd1306.py").resolve() == \
            mplib.module_path("micropython-ssd1306").resolve()
        assert (root / "boards" / "sim-handheld" / "board.py").resolve() == \
            BOARDS_DIR / "sim-handheld" / "board.py"
        link = reader.open_reader(open_timeout=60, timeout=20)
        try:
            assert link.info()["feedback"]["display"] is True
        finally:
            link.close()
        display = reader.devices.display
        assert display.frames > 0 and display.lit(), "no screen reached the display"
        assert any(any(row) for row in display.image())     # the idle screen's pixels
        assert "ImportError" not in reader.firmware_output()
    assert not root.exists() and (BOARDS_DIR / "sim-handheld" / "board.py").exists()


def check_selftest(report):
    assert report["ok"] is True, report
    assert report["board"] == "sim-pn532-uart"
    assert report["reader_chip"] == {"ok": True, "chip": "pn532-uart", "ic": "32",
                                     "version": "1.6", "support": 7}
    assert report["flash"]["size"] == 1024 * 1024
    assert 0 < report["heap_free"] < 192 * 1024


def test_files_on_sim_flash_survive_a_restart(tmp_path):
    image = tmp_path / "flash.img"
    with VirtualReader(flash=image, port_link=str(tmp_path / "port")) as reader:
        assert selftest(reader)["flash"]["boots"] == 1
        mpremote(reader.port, "exec",
                 "with open('patient.txt', 'w') as f: f.write('张伟 kept')")
    assert image.stat().st_size == 1024 * 1024
    with VirtualReader(flash=image, port_link=str(tmp_path / "port")) as reader:
        # the firmware's own boot counter and the file written through mpremote both persist
        assert selftest(reader)["flash"]["boots"] == 2
        assert mpremote(reader.port, "cat", ":patient.txt") == "张伟 kept"


def test_mpremote_lists_the_readers_littlefs_not_the_host_disk(tmp_path):
    with VirtualReader(flash=tmp_path / "flash.img") as reader:
        selftest(reader)
        listing = mpremote(reader.port, "ls", ":")
        assert mpremote(reader.port, "exec", "import os; print(os.getcwd())").strip() == "/"
    names = sorted(line.split()[-1] for line in listing.splitlines()[1:] if line.strip())
    # the firmware's files (boot counter, the self-test report it keeps on the flash) and the
    # read-only firmware image
    assert names == ["boot_count", "rom/", "selftest.json"], listing


def test_control_socket_taps_removes_and_scans(tmp_path):
    control = tmp_path / "sim.ctl"
    with VirtualReader(flash=tmp_path / "flash.img", control=str(control)) as reader:
        selftest(reader)
        # the firmware opens its QR scanner UART; the code scanned on the host reaches it
        mpremote(reader.port, "exec", "import board; qr = board.qr_scanner()")
        reply = request({"op": "tap", "card": "adult"}, control)
        assert reply["ok"] and reply["card"].endswith("card-01-adult-zhang-wei.json")
        assert [p.uid for p in reader.devices.field.cards] == [reader.devices.card.uid]
        assert request({"op": "scan", "text": SAMPLE_QR}, control) == {"ok": True}
        got = mpremote(reader.port, "exec",
                       "import time\ntime.sleep_ms(100)\nprint(qr.read(100))")
        assert got.strip() == repr((SAMPLE_QR + "\r").encode()), got
        assert request({"op": "remove"}, control) == {"ok": True}
        assert reader.devices.field.cards == []
        error = request({"op": "tap", "card": "nobody"}, control)["error"]
        assert "no card image 'nobody'" in error and "card-01-adult-zhang-wei" in error


def test_hcterm_sim_runs_until_sigterm_and_ends_its_children(tmp_path):
    link = tmp_path / "reader.port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hcterm.cli", "sim", "--port-link", str(link),
         "--control", str(tmp_path / "c.ctl"), "--card", "child"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("virtual reader sim-pn532-uart running"), lines
        assert f"(link {link})" in lines[1]
        assert os.path.realpath(link).startswith("/dev/pts/")
        assert "UART pn532" in lines[2]
        status = request({"op": "status"}, tmp_path / "c.ctl")
        assert status["running"] is True
        firmware_pid = int(subprocess.check_output(["pgrep", "-P", str(proc.pid)]).split()[0])
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    assert not link.exists()
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(firmware_pid, 0)


def test_sim_list_boards_and_unknown_board():
    out = subprocess.run([sys.executable, "-m", "hcterm.cli", "sim", "--list-boards"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert "sim-pn532-uart       virtual" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "hcterm.cli", "sim", "--board", "nope"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2
    assert "no board named 'nope'" in bad.stderr


def test_demo_json_prints_the_selftest_event():
    out = subprocess.run([sys.executable, "-m", "hcterm.cli", "demo", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    event = json.loads(out.stdout.splitlines()[0])
    assert event["type"] == "selftest" and event["status"] == "ok"
    assert event["reader_chip"]["version"] == "1.6"


@pytest.mark.parametrize("board, chip", [
    ("sim-pn532-spi", {"ok": True, "chip": "pn532-spi", "ic": "32", "version": "1.6",
                       "support": 7}),
    ("sim-rc522", {"ok": True, "chip": "rc522", "version_register": "92",
                   "model": "MFRC522 v2.0"}),
])
def test_demo_json_selftest_passes_on_the_spi_sim_boards(board, chip):
    out = subprocess.run([sys.executable, "-m", "hcterm.cli", "demo", "--json", "--board", board],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    event = json.loads(out.stdout.splitlines()[0])
    assert event["type"] == "selftest" and event["status"] == "ok", event
    assert event["board"] == board
    assert event["reader_chip"] == chip
    # the sample PSAM: ATR at 9600 baud, then PPS to TA1 13 (Fi 372, Di 4): clock * 4 / 372
    assert event["sam"]["atr"] == "3B1A1348435053414D00002301"
    assert event["sam"]["baud"] == (38402 if board == "sim-rc522" else 38400)
    # the sample PSAM's files (host/hcterm/emulator/samples/sam-henan.json 0015, 0016)
    assert event["sam"]["serial"] == "41010000000000002301"
    assert event["sam"]["terminal_number"] == "410101000123"


def test_removing_a_card_a_fault_already_took_away():
    from hcterm.sim.wiring import Devices

    devices = Devices({"uarts": {"pn532": "pn532-hsu"}})
    devices.tap("adult")
    devices.field.remove()  # what the card_removed fault does mid-exchange
    devices.remove()
    devices.tap("child")
    assert len(devices.field.cards) == 1
