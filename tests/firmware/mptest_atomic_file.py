# heapsize: 256k
# reader.terminal.atomic_file, the one-step file replace every writer of the reader uses, on
# the sim NOR flash with littlefs: an update that cannot fit is refused before the flash is
# touched (no block-device operation) with the bytes needed and free in its message; a power
# cut at every block-device operation of a replace leaves the old file or the new one and,
# after the boot's clean-up, nothing else; a writer that fails leaves the old file.
import os

import vfs
from cut_flash import CutFlash, copy, mount

from reader.terminal import atomic_file

TMP = os.getenv("MPTEST_TMP")
AT = "/af"
PATH = AT + "/f.bin"


def fresh(name, blocks=32):
    image = TMP + "/" + name
    try:
        os.remove(image)
    except OSError:
        pass
    vfs.VfsLfs2.mkfs(CutFlash(image, blocks=blocks))
    return image, mount(image, AT)


def content(path):
    with open(path, "rb") as f:
        return f.read()


def test_an_update_that_cannot_fit_is_refused_before_its_first_byte():
    image, flash = fresh("room.img", blocks=16)
    atomic_file.replace(PATH, b"old")
    with open(AT + "/filler", "wb") as f:
        f.write(bytes(8 * 4096))
    st = os.statvfs(AT)
    free = st[0] * st[3]
    data = bytes(free - 3 * st[0] + 1)            # one byte over what it lets in
    ops = flash.ops
    try:
        atomic_file.replace(PATH, data)
    except OSError as error:
        text = str(error)
    else:
        raise AssertionError("a replace that cannot fit was not refused")
    want = "not enough flash: %s needs %d bytes, %d are free; " % (PATH, len(data) + 3 * st[0],
                                                                    free)
    assert text.startswith(want), (text, want)
    assert "then try again" in text, text
    assert flash.ops == ops, "the refusal wrote to the flash (%d operations)" % (flash.ops - ops)
    assert content(PATH) == b"old" and sorted(os.listdir(AT)) == ["f.bin", "filler"]
    try:                                          # a named update, as blacklist_update asks
        atomic_file.check(PATH, free, "the update")
    except OSError as error:
        assert str(error).startswith("not enough flash: the update needs %d bytes, %d are "
                                     "free" % (free + 3 * st[0], free)), str(error)
    atomic_file.replace(PATH, bytes(4096))        # what fits is written
    assert content(PATH) == bytes(4096) and flash.ops > ops


def test_a_failing_writer_leaves_the_old_file_and_no_litter():
    fresh("writer.img")
    atomic_file.replace(PATH, b"old")

    def half(f):
        f.write(b"half of a new file")
        raise ValueError("the writer's check failed")
    try:
        atomic_file.replace(PATH, half, 100)
    except ValueError:
        pass
    else:
        raise AssertionError("the writer's error was swallowed")
    assert content(PATH) == b"old" and os.listdir(AT) == ["f.bin"]


def test_the_boot_clean_up_removes_every_tmp_and_nothing_else():
    fresh("clean.img")
    os.mkdir(AT + "/journal")
    keep = ["config.json", "blacklist.bin", "blacklist.bin.new", "journal/head",
            "journal/00000010"]
    litter = ["config.json.tmp", "blacklist.bin.tmp", "flash.json.tmp", "font16.hcf.tmp",
              "main.py.tmp", "journal/head.tmp", "journal/00000010.tmp"]
    for name in keep + litter:
        with open(AT + "/" + name, "wb") as f:
            f.write(b"x")
    atomic_file.clean(AT, AT + "/journal", AT + "/none")      # (no such folder: nothing)
    assert sorted(os.listdir(AT)) == ["blacklist.bin", "blacklist.bin.new", "config.json",
                                      "journal"]
    assert sorted(os.listdir(AT + "/journal")) == ["00000010", "head"]


def sweep(name, old, new, need=None):
    """A cut at every block-device operation of replace(PATH, new): after the boot's clean-up
    the file is `old` or `new` and alone; -> (cut points, outcomes)."""
    image, base = TMP + "/" + name + ".img", TMP + "/" + name + "-base.img"
    fresh(name + ".img")
    atomic_file.replace(PATH, old)
    vfs.umount(AT)
    copy(image, base)
    flash = mount(image, AT)
    atomic_file.replace(PATH, new, need)
    total = flash.ops
    want = new(None) if callable(new) else new
    assert content(PATH) == want and os.listdir(AT) == ["f.bin"]       # uncut: the new one
    outcomes = {"old": 0, "new": 0}
    for cut in range(total):
        copy(base, image)
        mount(image, AT, cut)
        try:
            atomic_file.replace(PATH, new, need)
        except OSError:
            pass
        mount(image, AT)                          # power back: the boot's clean-up
        atomic_file.clean(AT)
        got = content(PATH)
        if got == old:
            outcomes["old"] += 1
        elif got == want:
            outcomes["new"] += 1
        else:
            raise AssertionError("cut %d of %s: %d bytes, neither old nor new"
                                 % (cut, name, len(got)))
        assert os.listdir(AT) == ["f.bin"], (cut, name, os.listdir(AT))
    print("atomic_file power-cut sweep %s: %d cut points %r" % (name, total, outcomes))
    assert outcomes["old"] >= 1
    return total


class Pattern:
    """A writer of 3 blocks and a bit (called with None: the bytes it writes)."""

    def __call__(self, f):
        data = bytes(i & 0xFF for i in range(3 * 4096 + 100))
        if f is None:
            return data
        for at in range(0, len(data), 1024):
            f.write(data[at:at + 1024])


def test_a_power_cut_at_every_operation_of_a_replace_leaves_old_or_new_and_no_litter():
    total = sweep("inline", b"old settings", b"new settings, longer than the old")
    total += sweep("blocks", bytes(5000), bytes(range(256)) * 40)
    total += sweep("writer", b"x" * 9000, Pattern(), 3 * 4096 + 100)
    print("atomic_file power-cut sweep: %d cut points in all" % total)
    assert total >= 20, total
