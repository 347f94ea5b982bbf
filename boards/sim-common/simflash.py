# Sim flash: a NOR flash chip kept in an image file, as littlefs's block device.
#
# Real NOR semantics: the chip erases in 4 KiB blocks (every bit back to 1, 0xFF);
# programming can only clear bits (1 -> 0). Programming a 0 bit back to 1 without an erase
# is refused with OSError(EIO) and leaves the chip unchanged, so a filesystem that relied on
# it would be caught here rather than on a board. Implements littlefs's extended block
# device interface: readblocks/writeblocks with a byte offset, ioctl 1-6.
import errno

from micropython import const

BLOCK_SIZE = const(4096)
_IOCTL_INIT = const(1)
_IOCTL_DEINIT = const(2)
_IOCTL_SYNC = const(3)
_IOCTL_BLOCK_COUNT = const(4)
_IOCTL_BLOCK_SIZE = const(5)
_IOCTL_BLOCK_ERASE = const(6)
_CHUNK = const(256)


class NorFlash:
    def __init__(self, path, block_count=None):
        """Open the image at `path`; create it erased with `block_count` blocks if absent."""
        try:
            self._file = open(path, "r+b")
        except OSError:
            if not block_count:
                raise OSError("sim flash: no image at %s and no size to create it" % path) \
                    from None
            self._file = open(path, "w+b")
            erased = b"\xff" * BLOCK_SIZE
            for _ in range(block_count):
                self._file.write(erased)
            self._file.flush()
        self._file.seek(0, 2)
        size = self._file.tell()
        if size % BLOCK_SIZE or not size:
            raise OSError("sim flash: image %s is %d bytes, not a whole number of %d-byte "
                          "blocks" % (path, size, BLOCK_SIZE))
        self.block_count = size // BLOCK_SIZE
        self._old = bytearray(_CHUNK)
        self.erases = 0
        self.programs = 0

    def readblocks(self, block, buf, offset=0):
        self._file.seek(block * BLOCK_SIZE + offset)
        self._file.readinto(buf)

    def writeblocks(self, block, buf, offset=None):
        if offset is None:
            # Simple interface: erase the blocks, then program them.
            for i in range(len(buf) // BLOCK_SIZE):
                self.ioctl(_IOCTL_BLOCK_ERASE, block + i)
            offset = 0
        address = block * BLOCK_SIZE + offset
        if block < 0 or address + len(buf) > self.block_count * BLOCK_SIZE:
            raise OSError(errno.EINVAL)
        self._check_programmable(address, buf)
        self._file.seek(address)
        self._file.write(buf)
        self._file.flush()
        self.programs += 1

    def _check_programmable(self, address, buf):
        """Raise EIO if `buf` would set a bit that is 0 on the chip (NOR can only clear)."""
        view = memoryview(buf)
        old = self._old
        done = 0
        while done < len(view):
            n = min(_CHUNK, len(view) - done)
            self._file.seek(address + done)
            self._file.readinto(old)
            for i in range(n):
                new = view[done + i]
                if new & ~old[i] & 0xFF:
                    raise OSError(errno.EIO)
            done += n

    def ioctl(self, op, arg):
        if op == _IOCTL_BLOCK_COUNT:
            return self.block_count
        if op == _IOCTL_BLOCK_SIZE:
            return BLOCK_SIZE
        if op == _IOCTL_BLOCK_ERASE:
            if not 0 <= arg < self.block_count:
                return -errno.EINVAL
            self._file.seek(arg * BLOCK_SIZE)
            erased = b"\xff" * _CHUNK
            for _ in range(BLOCK_SIZE // _CHUNK):
                self._file.write(erased)
            self._file.flush()
            self.erases += 1
            return 0
        if op == _IOCTL_SYNC:
            self._file.flush()
            return 0
        if op in (_IOCTL_INIT, _IOCTL_DEINIT):
            return 0
        return None
