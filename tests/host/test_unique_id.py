"""`hcterm info` shows the board's unique id (board.unique_id(): machine.unique_id() on a
board; the virtual reader keeps one beside its flash image, made once, the same every boot)
and says so when a deploy of `hcterm flash` was cut before it finished."""

from hcterm import cli
from hcterm.link import Reader
from hcterm.sim.virtualreader import VirtualReader, sidecar


def _info(vr):
    with Reader(vr.port, timeout=10, open_timeout=30) as reader:
        return reader.info()


def test_unique_id_is_kept_with_the_flash_image(tmp_path, capsys):
    flash = tmp_path / "a.img"
    with VirtualReader(flash=flash) as vr:
        first = _info(vr)["unique_id"]
        assert cli.main(["info", "--port", vr.port]) == 0
        assert f"unique id: {first}" in capsys.readouterr().out
    assert len(first) == 16 and sidecar(flash, "uid").read_text().strip() == first
    with VirtualReader(flash=flash) as vr:
        assert _info(vr)["unique_id"] == first             # the same board after a reboot
    with VirtualReader(flash=tmp_path / "b.img") as vr:
        assert _info(vr)["unique_id"] != first             # another board


def test_info_says_when_a_flash_was_left_incomplete(tmp_path, capsys):
    with VirtualReader(flash=tmp_path / "c.img") as vr:
        with Reader(vr.port, timeout=10, open_timeout=30) as reader:
            assert "flash_incomplete" not in reader.info()
            reader.handoff()
        # what hcterm flash leaves behind when the cable is cut in the middle of a deploy
        import subprocess
        import sys
        subprocess.run([sys.executable, "-m", "mpremote", "resume", "connect", vr.port, "exec",
                        "open('/flash.incomplete','w').close()"], check=True, timeout=60,
                       capture_output=True)
        assert _info(vr)["flash_incomplete"] is True
        assert cli.main(["info", "--port", vr.port]) == 0
        out = capsys.readouterr().out
        assert "FLASH INCOMPLETE" in out and "hcterm flash --board sim-pn532-uart" in out
