"""`hcterm flash` on a board with a display (sim-handheld): its font (board.FONT,
/font16.hcf, hcterm.fontbuild) goes onto the reader's flash when the flash lacks it or holds
another, verified by the hash read back and recorded in the manifest; a second flash leaves
it alone; a board without a display gets no font."""

import hashlib
import json

from hcterm import cli, fontbuild
from hcterm.flashing.deploy import RESET
from hcterm.flashing.device import Device
from hcterm.link import Reader
from hcterm.sim.virtualreader import VirtualReader

BOARD = "sim-handheld"
FONT = "/" + fontbuild.FILENAME


def _on_the_device(port, code):
    """Run `code` at the reader's raw REPL (the flashing helpers defined), then reset it:
    its output."""
    device = Device(port)
    try:
        device.enter()
        out = device.run(code, "run the test's code")
        device.reset(RESET)
    finally:
        device.close()
    return out.decode().strip()


def _flash(port, tmp_path, capsys):
    code = cli.main(["flash", "--board", BOARD, "--port", port, "--records", str(tmp_path),
                     "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_flash_writes_the_font_of_a_display_board_once(tmp_path, capsys):
    font = fontbuild.build().read_bytes()
    digest = hashlib.sha256(font).hexdigest()
    with VirtualReader(BOARD, flash=tmp_path / "flash.img") as vr:
        # a handheld whose flash has no font (the sim seeds one: removed here)
        assert _on_the_device(vr.port, f"os.remove({FONT!r});print(_hf({FONT!r}))") == "None"
        with Reader(vr.port, timeout=10, open_timeout=30) as reader:
            assert not any(reader.screen())     # no font: the display stays blank
        first = _flash(vr.port, tmp_path, capsys)
        assert first["result"] == "ok" and first["font_bytes"] == len(font)
        assert first["written_bytes"] >= len(font)
        assert _on_the_device(vr.port, f"print(_hf({FONT!r}))\nprint(json.load(open("
                                       "'/flash.json'))['font'])") == f"{digest}\n{digest}"
        with Reader(vr.port, timeout=10, open_timeout=30) as reader:
            screen = reader.screen()
        assert len(screen) == 1024 and any(screen)       # the idle screen, drawn
        again = _flash(vr.port, tmp_path, capsys)        # nothing differs: nothing written
        assert (again["font_bytes"], again["written_bytes"]) == (0, 0)
