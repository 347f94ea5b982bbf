"""`hcterm flash` on virtual readers, the path a real board takes: the device's MicroPython
asked for its mpy version, the firmware compiled for it, the ROMFS image written into the
sim's ROM partition block by block (only blocks that differ; block 0 last), verified by
hashes the device reads back, the config written, a reset (the sim restarts its firmware
process) and the self-test; the manufacturing record; each failure said per port with what
to do; a deploy cut in the middle leaves the reader saying "flash incomplete" and the next
flash completes it."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import serial

from hcterm import cli
from hcterm.flashing import FlashError, build
from hcterm.flashing.deploy import check_config, flash_device
from hcterm.flashing.record import CSV_NAME, JSONL_NAME
from hcterm.link import Reader
from hcterm.sim import romimage
from hcterm.sim.virtualreader import VirtualReader

BOARD = "sim-pn532-uart"
KEY = "AB" * 64


def _info(port):
    with Reader(port, timeout=10, open_timeout=30) as reader:
        return reader.info(), reader.config()


@pytest.fixture(scope="module")
def vr(tmp_path_factory):
    with VirtualReader(flash=tmp_path_factory.mktemp("flash") / "reader.img") as reader:
        yield reader


def test_flash_writes_verifies_configures_and_records(vr, tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"terminal_id": "W{n}", "department": "0301"}))
    records = tmp_path / "records"
    argv = ["flash", "--board", BOARD, "--port", vr.port, "--config", str(config),
            "--records", str(records), "--operator", "alice", "--json"]
    code = cli.main(argv)
    out = capsys.readouterr().out
    assert code == 0, out
    first = json.loads(out)
    assert first["result"] == "ok" and first["mode"] == "rom" and first["written_bytes"] > 0
    assert first["mpy"] == build.emitted_mpy() and first["selftest_ok"] is True
    assert "font_bytes" not in first        # no display: no font
    # the sim now boots the image in its ROM partition, and says who it is
    assert romimage.partition_image_size(vr.rom_partition)
    assert vr.resets >= 1      # the reset after the deploy (one more if it was booting)
    info, settings = _info(vr.port)
    assert info["unique_id"] == first["unique_id"] and "flash_incomplete" not in info
    assert (settings["terminal_id"], settings["department"]) == ("W1", "0301")
    # again: nothing differs, nothing is written
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["written_bytes"] == 0
    rows = (records / CSV_NAME).read_text().splitlines()
    assert rows[0].startswith("time,operator,port,unique_id,board,firmware,firmware_hash")
    assert len(rows) == 3
    record = json.loads((records / JSONL_NAME).read_text().splitlines()[-1])
    assert record["operator"] == "alice" and record["unique_id"] == first["unique_id"]
    assert record["firmware_hash"] == first["firmware_hash"] and record["selftest"] == "ok"
    assert record["sam_serial"] and record["terminal_id"] == "W1" and record["result"] == "ok"


def test_one_changed_module_writes_only_its_blocks(vr, tmp_path):
    target = build.Target("1.29.0", build.emitted_mpy(), "x64", "linux")
    name = "reader/terminal/qr_scan.py"
    source = dict(romimage.sources(BOARD))[name]
    changed = tmp_path / "qr_scan.py"
    changed.write_text(source.read_text() + "\nFLASH_TEST = 'changed'\n")
    firmware = build.compile_firmware(BOARD, target, replace={name: changed})
    flash_device(vr.port, BOARD, compiled=lambda t: firmware)        # first the layout
    result = flash_device(vr.port, BOARD, compiled=lambda t: build.compile_firmware(
        BOARD, t))
    assert 0 < result["written_bytes"] <= 3 * 4096, result["written_bytes"]


def test_wrong_board_is_refused(vr, tmp_path, capsys):
    code = cli.main(["flash", "--board", "sim-pn532-spi", "--port", vr.port,
                     "--records", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"wrong board: the reader on {vr.port} is {BOARD}, not sim-pn532-spi" in err
    assert f"give --board {BOARD}" in err
    assert "failed" in (tmp_path / CSV_NAME).read_text()


def test_a_busy_port_is_refused(vr):
    with serial.Serial(vr.port, exclusive=True):
        with pytest.raises(FlashError, match="port busy"):
            flash_device(vr.port, BOARD)


def test_a_port_without_micropython_is_refused():
    master, slave = os.openpty()
    try:
        with pytest.raises(FlashError, match="no MicroPython REPL answers") as error:
            flash_device(os.ttyname(slave), BOARD)
        assert "docs/flashing.md" in error.value.todo
    finally:
        os.close(master)
        os.close(slave)


def test_a_verify_mismatch_fails_loudly(vr, monkeypatch):
    from hcterm.flashing import device

    made = device.frame

    def corrupt(data):
        packed = made(data)
        if data[:64] == blocks[2][:64]:      # ROM block 2 of the image below, one bit off
            return made(bytes(data[:-1]) + bytes([data[-1] ^ 1]))
        return packed

    monkeypatch.setattr("hcterm.flashing.device.frame", corrupt)
    target = build.Target("1.29.0", build.emitted_mpy(), "x64", "linux")
    other = build.compile_firmware(BOARD, target)._replace(digest="x")
    files = dict(other.files)
    files["reader/aa_pad.mpy"] = os.urandom(9000)  # early in the image: later blocks move
    image, _ = build.build_image(other._replace(files=files))
    blocks = [image[i:i + 4096] for i in range(0, len(image), 4096)]
    with pytest.raises(FlashError, match="verify mismatch: ROM blocks") as error:
        flash_device(vr.port, BOARD, compiled=lambda t: other._replace(files=files))
    assert "run hcterm flash again" in error.value.todo
    monkeypatch.undo()
    assert flash_device(vr.port, BOARD)["selftest_ok"]      # and the next flash mends it


def test_a_failed_self_test_is_reported(vr):
    vr.devices.sam_slot.faults.mute = True
    try:
        with pytest.raises(FlashError, match="self-test failed: sam"):
            flash_device(vr.port, BOARD)
    finally:
        vr.devices.sam_slot.faults.mute = False


def test_config_is_checked_before_anything_is_flashed():
    assert check_config({"terminal_id": "T{n}", "blacklist_key": KEY})["blacklist_key"] == KEY
    for bad, why in (({"blacklist_key": "04" + KEY}, "128 hex"),
                     ({"sm2_private_key": KEY}, "secret"),
                     ({"colour": "red"}, "unknown setting colour")):
        with pytest.raises(FlashError, match=why):
            check_config(bad)


def test_an_mpy_mismatch_is_refused_with_the_reason():
    with pytest.raises(FlashError, match="loads mpy v6.1; this mpy-cross emits v6.3") as e:
        build.check_target(BOARD, build.Target("1.21.0", "6.1", "x64", "linux"))
    assert "1.23 or newer" in e.value.todo
    with pytest.raises(FlashError, match="wrong board"):
        build.check_target("esp32-pn532-uart", build.Target("1.29.0", "6.3", "x64", "linux"))


def test_a_cut_deploy_says_flash_incomplete_and_the_next_flash_completes_it(tmp_path):
    flash = tmp_path / "cut.img"
    with VirtualReader(flash=flash, usb_baud=115200) as vr:
        proc = subprocess.Popen([sys.executable, "-m", "hcterm.cli", "flash", "--board", BOARD,
                                 "--port", vr.port, "--records", str(tmp_path), "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:     # the first ROM block written (block 1)
            with open(vr.rom_partition, "rb") as f:
                f.seek(4096)
                if f.read(16) != b"\xff" * 16:
                    break
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)       # the cable cut in the middle of the deploy
        proc.wait()
        assert romimage.partition_image_size(vr.rom_partition) is None  # block 0 not yet
    with VirtualReader(flash=flash) as vr:     # powered again: boots its frozen firmware
        info, _ = _info(vr.port)
        assert info["flash_incomplete"] is True
        result = flash_device(vr.port, BOARD)
        assert result["selftest_ok"] and result["written_bytes"] > 0
        info, _ = _info(vr.port)
        assert "flash_incomplete" not in info
        assert romimage.partition_image_size(vr.rom_partition)


def _stop_at_the_repl(port, line):
    """Stop the reader's link server (Ctrl-C) and run `line` at its REPL: its output."""
    with serial.Serial(port, 115200, timeout=0.1) as ser:
        seen = b""
        deadline = time.monotonic() + 20
        while not seen.endswith(b">>> ") and time.monotonic() < deadline:
            ser.write(b"\x03")
            seen = (seen + ser.read(4096)).rstrip(b"\r\n")
        ser.write(line.encode() + b"\r\n")
        time.sleep(1)
        return ser.read(4096).decode(errors="replace")


def test_a_reader_stopped_before_it_mounted_its_flash_is_booted_before_writing(vr, tmp_path):
    # a Ctrl-C early in the boot leaves the unix port's own filesystem at / (the host's
    # disk; on a board: nothing mounted): a flash must not write its config there
    stand_in = tmp_path / "not-the-flash"
    stand_in.mkdir()
    out = _stop_at_the_repl(vr.port, f"import vfs;vfs.umount('/');vfs.mount(vfs.VfsPosix("
                                     f"'{stand_in}'),'/');print(vfs.mount()[0])")
    assert "VfsPosix" in out, out
    resets = vr.resets
    result = flash_device(vr.port, BOARD, config={"terminal_id": "R{n}"})
    assert result["terminal_id"] == "R1" and vr.resets >= resets + 2   # reboot, then reset
    assert list(stand_in.iterdir()) == []
    assert _info(vr.port)[1]["terminal_id"] == "R1"
