# The sim flash behaves like NOR flash and carries littlefs across "restarts".
import errno
import os

import vfs
from simflash import BLOCK_SIZE, NorFlash

IMAGE = os.getenv("MPTEST_TMP") + "/flash.img"


def _fresh(blocks=16):
    try:
        os.remove(IMAGE)
    except OSError:
        pass
    return NorFlash(IMAGE, blocks)


def test_new_image_is_erased():
    flash = _fresh(4)
    buf = bytearray(BLOCK_SIZE)
    flash.readblocks(3, buf)
    assert buf == b"\xff" * BLOCK_SIZE
    assert flash.ioctl(4, 0) == 4 and flash.ioctl(5, 0) == BLOCK_SIZE


def test_program_can_only_clear_bits():
    flash = _fresh(4)
    flash.writeblocks(1, b"\x0f\xf0", 10)
    try:
        flash.writeblocks(1, b"\xff", 10)  # would set bits 7..4 back to 1
    except OSError as error:
        assert error.errno == errno.EIO
    else:
        raise AssertionError("programming 0 -> 1 without erase was accepted")
    buf = bytearray(2)
    flash.readblocks(1, buf, 10)
    assert buf == b"\x0f\xf0", buf  # the refused write changed nothing
    flash.writeblocks(1, b"\x0c\x00", 10)  # clearing more bits is fine
    flash.readblocks(1, buf, 10)
    assert buf == b"\x0c\x00"


def test_erase_sets_block_to_ff_and_only_that_block():
    flash = _fresh(4)
    flash.writeblocks(1, b"\x00" * 8, BLOCK_SIZE - 4)  # spans blocks 1 and 2
    assert flash.ioctl(6, 1) == 0
    buf = bytearray(8)
    flash.readblocks(1, buf, BLOCK_SIZE - 4)
    assert buf == b"\xff" * 4 + b"\x00" * 4, buf
    assert flash.ioctl(6, 99) < 0


def test_littlefs_files_survive_a_restart():
    flash = _fresh(32)
    vfs.VfsLfs2.mkfs(flash)
    fs = vfs.VfsLfs2(flash)
    vfs.mount(fs, "/sim")
    with open("/sim/blacklist.txt", "w") as f:
        f.write("110101199003078515\n")
    vfs.umount("/sim")
    # "restart": a new device object on the same image, a new mount
    again = NorFlash(IMAGE)
    vfs.mount(vfs.VfsLfs2(again), "/sim")
    try:
        with open("/sim/blacklist.txt") as f:
            assert f.read() == "110101199003078515\n"
    finally:
        vfs.umount("/sim")
        os.remove(IMAGE)
