"""Faster links negotiated by the firmware on the virtual reader (issue 15): the PN532's HSU
raised with SetSerialBaudrate to the board's HSU_MAX_BAUD, with a fall back to 115200 when
the chip does not answer at the new rate; a tap is read either way."""

import json

from hcterm.emulator import samples
from hcterm.sim.virtualreader import VirtualReader


def _adult():
    path = next(p for p in samples.paths() if "-adult-" in p.name)
    return path, json.loads(path.read_text(encoding="utf-8"))


def _tap(vr, reader):
    path, image = _adult()
    vr.devices.tap(path)
    while True:
        event = reader.next_event(timeout=15)
        if event["type"] == "tap":
            return event, image


def _boot_and_tap(tmp_path, chip_switches=True):
    with VirtualReader("sim-pn532-uart", flash=tmp_path / "flash.img") as vr:
        chip = vr.devices.uarts["pn532"]
        if not chip_switches:
            chip.core.on_baudrate = lambda baudrate: None  # answers, then never switches
        with vr.open_reader() as reader:
            event, image = _tap(vr, reader)
            return chip.baudrate, vr.bus.baudrates["pn532"], chip.core.history, event


def test_hsu_runs_at_the_boards_fastest_rate(tmp_path):
    chip_baud, board_baud, history, event = _boot_and_tap(tmp_path)
    assert (chip_baud, board_baud) == (921600, 921600)
    assert 0x10 in history  # SetSerialBaudrate
    assert event["status"] == "ok"
    assert bytes.fromhex(event["KH"]).decode() == _adult()[1]["files"]["DDF1/EF05"]["KH"]


def test_hsu_falls_back_to_115200_when_the_chip_stays_silent_at_the_new_rate(tmp_path):
    chip_baud, board_baud, history, event = _boot_and_tap(tmp_path, chip_switches=False)
    assert (chip_baud, board_baud) == (115200, 115200)
    assert event["status"] == "ok"
    assert bytes.fromhex(event["KH"]).decode() == _adult()[1]["files"]["DDF1/EF05"]["KH"]
