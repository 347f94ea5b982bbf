# Boots the firmware on a sim board: what a board's ROM and _boot.py do before main.py.
#
# Run by `hcterm sim` as: micropython -X heapsize=… -i simboot.py, with the process's stdio
# on the reader's USB port (a pty) and the environment naming the board, the flash image, the
# firmware (a ROMFS image, or the repository's source; read-only at /rom, like frozen
# firmware) and the sim bus. sys.path keeps ".frozen": the port's own frozen modules
# (asyncio) import from there, as on a board.
import os
import sys

import simflash
import vfs

_BOARD = os.getenv("HCTERM_BOARD")
_IMAGE = os.getenv("HCTERM_FLASH_IMAGE")


def _partition():
    """The image in the ROM partition (`hcterm flash` writes it there; simport.py), or None
    when the partition holds no valid ROMFS image: erased, or cut in the middle of a deploy
    (the flasher writes the image's first block last)."""
    path = os.getenv("HCTERM_ROM_PARTITION")
    try:
        f = open(path, "rb")
    except (OSError, TypeError):
        return None
    with f:
        head = f.read(16)
        if head[:3] != b"\xd2\xcd\x31":
            return None
        size, i = 0, 3
        while True:                     # the image's size, a varuint after the header
            size = (size << 7) | (head[i] & 0x7F)
            if not head[i] & 0x80:
                break
            i += 1
        f.seek(0)
        return f.read(i + 1 + size)


def _rom():
    """The firmware, read-only at /rom: the ROM partition's image when it holds one, else
    the frozen firmware: a ROMFS image (as frozen on a board: modules import in place), or
    the source tree when $HCTERM_ROMFS is not given."""
    image = os.getenv("HCTERM_ROMFS")
    data = _partition() if image else None  # noqa: F821 - deleted after boot (RAM)
    if image and data is None:
        with open(image, "rb") as f:
            data = f.read()
    if data is not None:
        return vfs.VfsRom(data), ["", ".frozen", "/rom", "/lib"]
    return vfs.VfsPosix(os.getenv("HCTERM_ROOT")), [
        "", ".frozen", "/rom/firmware", "/rom/boards/" + _BOARD, "/rom/boards/sim-common", "/lib"]


def _mount():
    rom, path = _rom()  # noqa: F821 - deleted after boot (RAM)
    flash = simflash.NorFlash(_IMAGE, 256)  # 1 MiB, created erased on first boot
    try:
        fs = vfs.VfsLfs2(flash)
    except OSError:
        # a blank chip: format it, as a board's _boot.py does on first boot
        vfs.VfsLfs2.mkfs(flash)
        fs = vfs.VfsLfs2(flash)
    vfs.umount("/")
    vfs.mount(fs, "/")
    vfs.mount(rom, "/rom", readonly=True)
    os.chdir("/")
    sys.path[:] = path
    return flash


FLASH = _mount()
del _mount, _rom, _partition

import board  # noqa: E402

import reader.main  # noqa: E402

reader.main.boot(board)
