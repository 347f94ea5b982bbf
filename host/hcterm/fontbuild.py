"""The display boards' font: built at build time from Debian's unifont (.hex), never kept in
the repository. Format (docs/display-font.md): "HCF1", a header, three sorted indexes
(halfwidth code points; fullwidth code points -> glyph; fullwidth GB2312 codes, in glyph
order) and the glyphs as MONO_HLSB rows, so the firmware (reader.terminal.glyphs) finds a
glyph by binary search in the file and reads only its 16 or 32 bytes.

Which characters: printable ASCII (halfwidth, 8x16), GB2312 level 1 (the 3755 common hanzi,
16x16: the names on a health card are GBK, so the firmware looks them up by their GB code),
and every character of the screens' own text (reader/terminal/screens.py's string constants).

    path = build()                 # cached per content in ~/.cache/hcterm/font/
"""

import ast
import hashlib
import os
import struct
from pathlib import Path

from .mpy import FIRMWARE_DIR

UNIFONT_HEX = Path(os.environ.get("HCTERM_UNIFONT_HEX", "/usr/share/unifont/unifont.hex"))
SCREENS = FIRMWARE_DIR / "reader" / "terminal" / "screens.py"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hcterm" / "font"
FILENAME = "font16.hcf"
MAGIC = b"HCF1"
HEIGHT = 16
HEADER = struct.Struct("<4sBBBBHH4x")     # magic, height, half width, full width, 0, counts
NO_GB = 0xFFFF                            # a fullwidth glyph with no GB2312 code
_BUILDER = b"hcf1 unifont"                # a change of the format makes new files


class FontSourceMissing(RuntimeError):
    """unifont's .hex file is not installed."""


def gb2312_level1():
    """The 3755 characters of GB2312 level 1 (rows 16-55), in GB code order."""
    out = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                out.append(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                pass          # D7FA-D7FE: unassigned
    return out


def screen_characters(path=SCREENS):
    """Every non-ASCII character of the string constants of the screens module."""
    found = set()
    for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(c for c in node.value if ord(c) > 0x7E)
    return found


def gb_code(char):
    try:
        code = char.encode("gb2312")
    except UnicodeEncodeError:
        return NO_GB
    return int.from_bytes(code, "big") if len(code) == 2 else NO_GB


def read_hex(path, wanted):
    """{code point: glyph bytes} of the code points `wanted` in a unifont .hex file."""
    glyphs = {}
    try:
        lines = Path(path).read_text(encoding="ascii").splitlines()
    except OSError as error:
        raise FontSourceMissing(
            f"cannot read {path} ({error}): install Debian's unifont package "
            "(apt-get install unifont), which the display boards' font is built from") from None
    for line in lines:
        code, _, bits = line.partition(":")
        if code and int(code, 16) in wanted:
            glyphs[int(code, 16)] = bytes.fromhex(bits)
    return glyphs


def encode(glyphs):
    """The font file for `glyphs` ({code point: 16 bytes (8x16) or 32 bytes (16x16)})."""
    half = sorted(c for c, g in glyphs.items() if len(g) == HEIGHT)
    full = sorted((c for c, g in glyphs.items() if len(g) == 2 * HEIGHT),
                  key=lambda c: (gb_code(chr(c)), c))        # glyph order: GB code
    by_code = sorted((c, i) for i, c in enumerate(full))
    out = bytearray(HEADER.pack(MAGIC, HEIGHT, 8, 16, 0, len(half), len(full)))
    out += b"".join(struct.pack("<H", c) for c in half)
    out += b"".join(struct.pack("<HH", c, i) for c, i in by_code)
    out += b"".join(struct.pack("<H", gb_code(chr(c))) for c in full)
    out += b"".join(glyphs[c] for c in half)
    out += b"".join(glyphs[c] for c in full)
    return bytes(out)


def characters():
    """The code points the font holds."""
    chars = {chr(c) for c in range(0x20, 0x7F)} | set(gb2312_level1()) | screen_characters()
    return {ord(c) for c in chars}


def build(hex_path=UNIFONT_HEX):
    """Path of the font file, built once per content (unifont's file, the screens' text)."""
    wanted = characters()
    digest = hashlib.sha256(_BUILDER)
    try:
        stat = Path(hex_path).stat()
    except OSError:
        read_hex(hex_path, wanted)       # raises FontSourceMissing with what to do
        raise
    digest.update(f"{Path(hex_path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    digest.update("".join(sorted(map(chr, wanted))).encode())
    path = CACHE_DIR / f"font16-{digest.hexdigest()[:16]}.hcf"
    if path.exists():
        return path
    glyphs = read_hex(hex_path, wanted)
    missing = sorted(wanted - set(glyphs))
    if missing:
        raise FontSourceMissing(f"{hex_path} has no glyph for "
                                f"{''.join(map(chr, missing[:20]))!r}")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(encode(glyphs))
    os.replace(tmp, path)
    return path
