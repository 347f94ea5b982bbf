# What a board's MicroPython port provides and the unix port lacks, for `hcterm flash`:
# the ROM partition (`vfs.rom_ioctl` on a board with ROMFS) and a reset. Imported only by
# the flashing tool's code at the raw REPL, from the sim-common folder on disk, not from
# the firmware's ROMFS image: it is the "port", like simboot.py and simflash.py. The tool
# reaches it by mounting the host's files at /host (vfs.VfsPosix) when it finds no
# vfs.rom_ioctl and $HCTERM_ROM_PARTITION is set (hcterm.flashing.device); simboot.py does
# not mount them at boot, which would cost the firmware's heap.
#
# The ROM partition is a NOR flash chip of its own kept in a file beside the flash image
# ($HCTERM_ROM_PARTITION, hcterm.sim.virtualreader makes it erased), handed out by
# rom_ioctl(2, 0) as a block device (readblocks/writeblocks/ioctl), as ports whose ROM
# partition is not memory-mapped do; simboot.py mounts the image in it with vfs.VfsRom at
# /rom when it holds a valid one.
import os
import sys

import simflash

RESET_EXIT = 75  # hcterm.sim.virtualreader restarts the firmware process on this status


def rom_ioctl(op, *args):
    """vfs.rom_ioctl of a board, for partition 0 only: 1 -> number of partitions, 2 -> the
    partition's block device, 6 -> its erase block size; anything else -> -22 (EINVAL)."""
    path = os.getenv("HCTERM_ROM_PARTITION")
    if op == 1:
        return 1 if path else 0
    if not path or not args or args[0] != 0:
        return -22
    if op == 2:
        return simflash.NorFlash("/host" + path)
    if op == 6:
        return simflash.BLOCK_SIZE
    return -22


def reset():
    """machine.reset() of a board: the virtual reader starts the firmware again (the USB
    port stays; a board's USB-CDC port would come back)."""
    sys.exit(RESET_EXIT)
