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


def _rom():
    """The firmware, read-only at /rom: a ROMFS image (as frozen on a board: modules import
    in place), or the source tree when $HCTERM_ROMFS is not given. The image is the ROM
    partition's when it holds a valid one (`hcterm flash` writes it; the first
    $HCTERM_ROMFS_SIZE bytes of the partition file), else the frozen firmware's: the host
    (hcterm.sim.virtualreader) looks, so that this file, compiled into the heap, stays small."""
    image = os.getenv("HCTERM_ROMFS")
    if image:
        with open(image, "rb") as f:
            return vfs.VfsRom(f.read(int(os.getenv("HCTERM_ROMFS_SIZE") or -1))), [
                "", ".frozen", "/rom", "/lib"]
    return vfs.VfsPosix(os.getenv("HCTERM_ROOT")), [
        "", ".frozen", "/rom/firmware", "/rom/boards/" + _BOARD, "/rom/boards/sim-common", "/lib"]


def _mount():
    rom, path = _rom()
    flash = simflash.NorFlash(_IMAGE, 256)  # 1 MiB, created erased on first boot
    try:
        fs = vfs.VfsLfs2(flash)
    except OSError:
        # a blank chip: format it, as a board's _boot.py does on first boot; an image that
        # holds something else only when asked (the host says which: HCTERM_FLASH_FORMAT)
        if os.getenv("HCTERM_FLASH_FORMAT") != "1":
            raise OSError("sim flash: the image does not mount as littlefs and is not blank") \
                from None
        vfs.VfsLfs2.mkfs(flash)
        fs = vfs.VfsLfs2(flash)
    vfs.umount("/")
    vfs.mount(fs, "/")
    vfs.mount(rom, "/rom", readonly=True)
    os.chdir("/")
    sys.path[:] = path
    return flash


FLASH = _mount()
del _mount

import board  # noqa: E402

if os.getenv("HCTERM_ROMFS") and os.getenv("HCTERM_QSTR_PRELOAD") != "0":
    import simqstr  # noqa: E402

    simqstr.intern()    # the names' seventh pool, allocated while the heap is empty
    del sys.modules["simqstr"], simqstr

import reader.main  # noqa: E402

reader.main.boot(board)
