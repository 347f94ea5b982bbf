"""Images for production: the littlefs filesystem a reader boots with (its settings, its
signed blacklist, the flash manifest) and the ROMFS image of its compiled firmware, built on
the host (littlefs-python) rather than written through the USB port (docs/flashing.md,
"Images").

    build(board, out, config=None, blacklist=None) -> dict of what was built

`out` is the filesystem image; the ROMFS image goes beside it as `out.rom` (the sim keeps
its ROM partition there: `hcterm sim --flash out` boots both).
"""

import json
from pathlib import Path

from reader.terminal import blacklist as bl

from .. import fontbuild
from ..firmware_modules import board_has_display
from ..mpy import BOARDS_DIR
from . import FlashError
from .build import Target, build_image, compile_firmware, emitted_mpy

# the littlefs partition and the code architecture of each board family; littlefs geometry
# as MicroPython mounts it (4 KiB blocks, read/prog size 32, lookahead 32)
FAMILIES = {
    "sim": {"fs_bytes": 1024 * 1024, "arch": "x64", "platform": "linux", "rom_bytes": 512 * 1024},
    "esp32": {"fs_bytes": 2 * 1024 * 1024, "arch": "xtensawin", "platform": "esp32",
              "rom_bytes": None},
    "rp2040": {"fs_bytes": 1408 * 1024, "arch": "armv6m", "platform": "rp2",
               "rom_bytes": None},
    # ESP32_GENERIC_S3 (8 MiB): partitions-8MiB.csv's vfs, 0x4F0000 bytes at 0x310000
    "esp32s3": {"fs_bytes": 0x4F0000, "arch": "xtensawin", "platform": "esp32",
                "rom_bytes": None},
}
BLOCK = 4096


def family(board):
    name = board.split("-", 1)[0]
    if name not in FAMILIES:
        raise FlashError(f"no image layout for board {board}", "give a board of the "
                         f"families {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]


def build(board, out, config=None, blacklist=None, fs_bytes=None, rom_bytes=None):
    """Write the filesystem image `out` and the firmware image `out`.rom for `board`;
    `fs_bytes` and `rom_bytes`: the board's partition sizes, where they differ from its
    family's (a littlefs image must fill its partition: littlefs keeps the block count)."""
    from littlefs import LittleFS

    fam = dict(family(board))
    fam["fs_bytes"] = fs_bytes or fam["fs_bytes"]
    fam["rom_bytes"] = rom_bytes or fam["rom_bytes"]
    target = Target("image", emitted_mpy(), fam["arch"], fam["platform"])
    firmware = compile_firmware(board, target)
    rom, slots = build_image(firmware)
    if fam["rom_bytes"] and len(rom) > fam["rom_bytes"]:
        raise FlashError(f"the firmware image is {len(rom)} bytes, the ROM partition "
                         f"{fam['rom_bytes']}", "leave modules out of the board's manifest")
    files = {}
    if config:
        files["config.json"] = json.dumps(config, sort_keys=True).encode()
    if blacklist is not None:
        h = bl.parse_header(blacklist[:bl.HEADER_SIZE]) if len(blacklist) >= bl.HEADER_SIZE \
            else None
        if h is None or h["kind"] != 1 or blacklist[bl.STATEMENT:bl.HEADER_SIZE] == bytes(64):
            raise FlashError("--blacklist must be a signed list (not a delta)",
                             "build and sign it with hcterm blacklist build / sign")
        files["blacklist.bin"] = bytes(blacklist)
    if board_has_display(BOARDS_DIR / board / "board.py"):
        files[fontbuild.FILENAME] = fontbuild.build().read_bytes()   # board.FONT
    manifest = {"board": board, "firmware": firmware.version, "hash": firmware.digest,
                "mpy": target.mpy, "arch": target.arch, "slots": slots,
                "rom_image": len(rom)}
    files["flash.json"] = json.dumps(manifest, sort_keys=True).encode()
    fs = LittleFS(block_size=BLOCK, block_count=fam["fs_bytes"] // BLOCK, read_size=32,
                  prog_size=32, lookahead_size=32)
    for name, data in files.items():
        with fs.open("/" + name, "wb") as f:
            f.write(data)
    out = Path(out)
    out.write_bytes(bytes(fs.context.buffer))
    rom_path = out.with_name(out.name + ".rom")
    if fam["rom_bytes"]:       # the sim's partition file: the image, then erased flash
        rom = rom + b"\xff" * (fam["rom_bytes"] - len(rom))
    rom_path.write_bytes(rom)
    return {"board": board, "filesystem": str(out), "filesystem_bytes": fam["fs_bytes"],
            "files": sorted(files), "rom": str(rom_path), "rom_image_bytes":
            manifest["rom_image"], "firmware": firmware.version, "firmware_hash":
            firmware.digest}
