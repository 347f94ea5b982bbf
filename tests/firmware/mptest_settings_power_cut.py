# heapsize: 256k
# A power cut at every block-device operation of a settings change (reader.terminal.settings
# through reader.terminal.atomic_file: a temporary file, then a rename) on the sim NOR flash
# with littlefs: after the boot (atomic_file.clean removes what a cut left, then load()) the
# reader holds exactly the old or exactly the new settings, no leftover file.
import os

import vfs
from cut_flash import CutFlash, copy, mount

from reader.terminal import atomic_file, settings

TMP = os.getenv("MPTEST_TMP")
PATH = "/cf/config.json"


def test_a_power_cut_anywhere_in_a_settings_change_leaves_old_or_new():
    image, base = TMP + "/cfg.img", TMP + "/cfg-base.img"
    try:
        os.remove(image)
    except OSError:
        pass
    vfs.VfsLfs2.mkfs(CutFlash(image, blocks=32))
    mount(image, "/cf")
    old, _ = settings.load(PATH)
    settings.store(PATH, old, {"terminal_id": "ROOM-101", "beeper": False})
    vfs.umount("/cf")
    copy(image, base)
    change = {"terminal_id": "ROOM-202", "department": "cardiology", "host_slot_idle_s": 90}
    flash = mount(image, "/cf")
    values, _ = settings.load(PATH)
    settings.store(PATH, values, change)
    total = flash.ops
    seen = {"old": 0, "new": 0}
    for cut in range(total):
        copy(base, image)
        mount(image, "/cf", cut)
        values, _ = settings.load(PATH)
        try:
            settings.store(PATH, values, change)
        except OSError:
            pass
        mount(image, "/cf")                            # power back: the boot cleans up
        atomic_file.clean("/cf")                       # and loads the settings
        values, error = settings.load(PATH)
        assert error is None, (cut, error)
        if values["terminal_id"] == "ROOM-101":
            assert values["department"] == "" and values["beeper"] is False, (cut, values)
            seen["old"] += 1
        else:
            assert values["terminal_id"] == "ROOM-202" and values["department"] == \
                "cardiology" and values["host_slot_idle_s"] == 90, (cut, values)
            seen["new"] += 1
        assert sorted(os.listdir("/cf")) == ["config.json"], (cut, os.listdir("/cf"))
    print("settings power-cut sweep:", total, "cut points", seen)
    assert total >= 5 and seen["old"] >= 1
