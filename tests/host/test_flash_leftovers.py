"""The one-step file replace (reader.terminal.atomic_file) on a virtual reader, across every
writer of the flash: the boot removes what a power cut left of each writer's replace (the
settings, the blacklist's delta, the tap journal, and `hcterm flash`'s manifest, config, font
and main.py, written under the same temporary name) and nothing else; `hcterm flash` refuses a
deploy that cannot fit before it writes anything, and the reader a settings change, each with
the bytes needed and free."""

import re

import pytest

from hcterm.flashing import FlashError
from hcterm.flashing.deploy import MANIFEST, MARKER, TMP, flash_device
from hcterm.sim.virtualreader import FLASH_BLOCKS, VirtualReader
from reader.terminal.blacklist import PATH as BLACKLIST

BOARD = "sim-pn532-uart"
BLOCK = 4096
# what a cut in each writer's replace leaves: the target's name + TMP (hcterm flash's; the
# firmware's reader.terminal.atomic_file writes the same name)
LEFTOVERS = ["/config.json" + TMP,             # reader.terminal.settings.store; hcterm flash
             BLACKLIST + TMP,                  # the list a delta makes (blacklist_update)
             "/journal/head" + TMP,            # the journal's head (reader.terminal.journal)
             "/journal/00000010" + TMP,        # a segment cut at boot (journal._cut)
             MANIFEST + TMP, "/font16.hcf" + TMP, "/main.py" + TMP]     # hcterm flash
KEPT = {"/config.json": b'{"terminal_id": "KEPT-1"}',
        BLACKLIST + ".new": b"a download the host resumes: not litter",
        "/journal/head": b"J1"}


def _fs(image):
    """littlefs-python over the sim flash image (the geometry simboot.py mounts)."""
    from littlefs import LittleFS

    fs = LittleFS(block_size=BLOCK, block_count=FLASH_BLOCKS, read_size=32, prog_size=32,
                  lookahead_size=32, mount=False)
    data = image.read_bytes() if image.exists() else b""
    if len(data) == BLOCK * FLASH_BLOCKS:
        fs.context.buffer[:] = data
        fs.mount()
    else:
        fs.format()
        fs.mount()
    return fs


def _save(fs, image):
    image.write_bytes(bytes(fs.context.buffer))


def _files(fs, top="/"):
    out = []
    for root, _dirs, names in fs.walk(top):
        out += [root.rstrip("/") + "/" + n for n in names]
    return sorted(out)


def test_the_boot_removes_every_writers_leftovers_and_nothing_else(tmp_path):
    image = tmp_path / "flash.img"
    fs = _fs(image)
    fs.mkdir("/journal")
    for name in LEFTOVERS:
        with fs.open(name, "wb") as f:
            f.write(b"half of a file, left by a power cut")
    for name, data in KEPT.items():
        with fs.open(name, "wb") as f:
            f.write(data)
    _save(fs, image)
    with VirtualReader(BOARD, flash=image) as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            assert reader.config()["terminal_id"] == "KEPT-1"
            assert reader.selftest()["flash"]["ok"] is True
        finally:
            reader.close()
    files = _files(_fs(image))
    assert not [n for n in files if n.endswith(TMP)], files
    fs = _fs(image)
    for name in (BLACKLIST + ".new", "/config.json"):
        with fs.open(name, "rb") as f:
            assert f.read() == KEPT[name], name


def test_a_flash_that_cannot_fit_is_refused_before_its_first_byte(tmp_path):
    image = tmp_path / "full.img"
    fs = _fs(image)
    with fs.open("/filler", "wb") as f:          # the flash nearly full: 40 KiB left
        f.write(bytes(BLOCK * (FLASH_BLOCKS - 12)))
    _save(fs, image)
    before = _files(_fs(image))
    with VirtualReader(BOARD, flash=image) as vr:
        vr.wait_booted()
        with pytest.raises(FlashError) as caught:
            flash_device(vr.port, BOARD, mode="files")
    found = re.fullmatch(r"not enough flash: writing (\d+) firmware files needs (\d+) bytes, "
                         r"(\d+) are free", caught.value.reason)
    assert found, caught.value.reason
    count, need, free = (int(g) for g in found.groups())
    assert count > 10 and need > free and free < 12 * BLOCK, found.groups()
    assert "free the reader's flash" in caught.value.todo
    after = _files(_fs(image))
    # nothing written: no marker, no firmware file, only what the boot itself keeps
    assert MARKER not in after and not [n for n in after if n.startswith("/reader")], after
    assert set(after) - set(before) <= {"/boot_count", "/selftest.json"}, after


def test_a_settings_change_on_a_full_flash_is_refused_with_the_figures(tmp_path):
    from hcterm.link import ReaderError

    image = tmp_path / "full.img"
    fs = _fs(image)
    with fs.open("/filler", "wb") as f:          # a few blocks left: less than the slack
        f.write(bytes(BLOCK * (FLASH_BLOCKS - 6)))
    _save(fs, image)
    with VirtualReader(BOARD, flash=image) as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            before = reader.config()
            with pytest.raises(ReaderError) as caught:
                reader.set_config(terminal_id="ROOM-9")
            found = re.search(r"not enough flash: /config.json needs (\d+) bytes, (\d+) are "
                              r"free; free some \(.*\) or send less, then try again",
                              str(caught.value))
            assert found and int(found.group(1)) > int(found.group(2)), str(caught.value)
            assert reader.config() == before      # nothing changed, in RAM or on the flash
        finally:
            reader.close()
    assert not [n for n in _files(_fs(image)) if n.endswith(TMP) or n == "/config.json"]
