# The sim NOR flash whose power goes at a chosen operation: the power-cut sweeps
# (tests/firmware/mptest_settings_power_cut.py, mptest_journal.py, mptest_atomic_file.py,
# support/blacklist_power_cut.py) use it.
from simflash import NorFlash


class CutFlash(NorFlash):
    """Operations (programs and erases) counted from 0; at operation `cut` the power goes:
    that operation and every later one fail (OSError EIO), as on a board whose supply
    dropped."""

    def __init__(self, path, cut=-1, blocks=None):
        super().__init__(path, blocks)
        self.ops = 0
        self.cut = cut

    def _op(self):
        if 0 <= self.cut <= self.ops:
            raise OSError(5)
        self.ops += 1

    def writeblocks(self, block, buf, offset=None):
        self._op()
        super().writeblocks(block, buf, offset)

    def ioctl(self, op, arg):
        if op == 6:
            self._op()
        return super().ioctl(op, arg)


def mount(image, at, cut=-1):
    """littlefs of `image` mounted at `at` (whatever was there unmounted first) on a
    CutFlash whose power goes at operation `cut`; -> the flash."""
    import vfs

    try:
        vfs.umount(at)
    except OSError:
        pass
    flash = CutFlash(image, cut)
    vfs.mount(vfs.VfsLfs2(flash), at)
    return flash


def copy(src, dst):
    """A file copied 4 KiB at a time (the images are bigger than a small heap)."""
    buf = bytearray(4096)
    with open(src, "rb") as a, open(dst, "wb") as b:
        while True:
            n = a.readinto(buf)
            if not n:
                break
            b.write(memoryview(buf)[0:n])
