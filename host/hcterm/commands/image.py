"""`hcterm image build --board NAME [--config FILE] [--blacklist FILE] -o reader.img`: the
filesystem image of a reader (its settings, its signed blacklist, the flash manifest) and the
ROMFS image of its compiled firmware beside it (reader.img.rom), for production lines that
write images instead of flashing over USB; `hcterm sim --flash reader.img` boots a sim
board's pair (docs/flashing.md "Images")."""

import json
import sys
from pathlib import Path


def register(subparsers):
    p = subparsers.add_parser("image", help="build reader images (filesystem + firmware)")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    p.set_defaults(func=lambda args: p.print_help() or 2)
    b = sub.add_parser("build", help="the littlefs image (settings, signed blacklist) and the "
                       "ROMFS firmware image of a board")
    b.add_argument("--board", required=True, help="board folder under boards/")
    b.add_argument("--config", metavar="FILE", help="JSON settings (as hcterm flash --config)")
    b.add_argument("--blacklist", metavar="FILE", help="a signed blacklist list file")
    b.add_argument("-o", "--out", required=True, help="the filesystem image to write "
                   "(the firmware image goes beside it as OUT.rom)")
    b.add_argument("--fs-bytes", type=_size, metavar="N", help="the size of the board's "
                   "filesystem partition (e.g. 0x4F0000 or 4m): the image must fill it "
                   "exactly (default: the board family's, docs/flashing.md)")
    b.add_argument("--rom-bytes", type=_size, metavar="N", help="the size of the board's "
                   "ROMFS partition: refused if the firmware image does not fit")
    b.add_argument("--json", action="store_true", help="one JSON object")
    b.set_defaults(func=run)


def _size(text):
    """'0x4F0000', '5177344', '1408k', '4m' -> bytes, a whole number of 4 KiB blocks."""
    import argparse

    from ..sim.virtualreader import parse_size

    try:
        size = int(text, 0) if text.lower().startswith("0x") else parse_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a size in bytes (0x4F0000, 5177344, "
                                         "1408k, 4m)") from None
    if size <= 0 or size % 4096:
        raise argparse.ArgumentTypeError(f"{text!r}: a positive multiple of 4096 bytes (the "
                                         "flash's erase block)")
    return size


def run(args):
    from ..flashing import FlashError
    from ..flashing.image import build
    from ..sim import boards
    from .flash import _load_config

    try:
        boards.describe(args.board)
    except Exception:  # noqa: BLE001 - an unknown board, said plainly
        print(f"hcterm image build: no board named {args.board!r}: the boards are "
              f"{', '.join(boards.names())}", file=sys.stderr)
        return 2
    try:
        config = _load_config(args.config)
        blacklist = None
        if args.blacklist:
            try:
                blacklist = Path(args.blacklist).read_bytes()
            except OSError as error:
                raise FlashError(f"cannot read --blacklist {args.blacklist} "
                                 f"({error.strerror})", "give the signed list file") from None
        result = build(args.board, args.out, config, blacklist, fs_bytes=args.fs_bytes,
                       rom_bytes=args.rom_bytes)
    except FlashError as error:
        print(f"hcterm image build: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(f"{result['filesystem']}: littlefs, {result['filesystem_bytes']} bytes, "
              f"{', '.join(result['files'])}")
        print(f"{result['rom']}: firmware {result['firmware']} ({result['rom_image_bytes']} "
              f"bytes of ROMFS, hash {result['firmware_hash'][:16]})")
    return 0
