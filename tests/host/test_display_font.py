"""The display font's format (docs/display.md, "The font file"): its test vector, and the
characters the built font holds."""

import re
from pathlib import Path

from support.required_tools import needs

from hcterm import fontbuild

DOC = Path(__file__).parents[2] / "docs" / "display.md"


def doc_vector():
    text = DOC.read_text()
    block = re.search(r"Test vector.*?```\n(.*?)```", text, re.S).group(1)
    return bytes.fromhex(block)


def test_the_documented_test_vector():
    glyphs = {0x41: bytes(range(16)), 0x4E2D: b"\x11" * 32, 0x5F20: b"\x22" * 32}
    assert fontbuild.encode(glyphs) == doc_vector()


def test_gb2312_level_one_is_3755_characters_in_code_order():
    chars = fontbuild.gb2312_level1()
    assert len(chars) == 3755 and chars[0] == "啊" and chars[-1] == "座"
    codes = [fontbuild.gb_code(c) for c in chars]
    assert codes == sorted(codes) and codes[0] == 0xB0A1


def test_every_screen_character_is_in_gb2312():
    chars = fontbuild.screen_characters()
    assert "请" in chars and "岁" in chars
    assert [c for c in chars if fontbuild.gb_code(c) == fontbuild.NO_GB] == []


@needs(fontbuild.UNIFONT_HEX.exists(), "unifont is not installed (./dev.sh test installs it)")
def test_the_built_font_holds_ascii_level_one_and_the_screens():
    data = fontbuild.build().read_bytes()
    magic, height, half_w, full_w, _, half, full = fontbuild.HEADER.unpack_from(data)
    assert (magic, height, half_w, full_w, half) == (b"HCF1", 16, 8, 16, 95)
    assert full == len(set(fontbuild.gb2312_level1()) | fontbuild.screen_characters())
    assert len(data) == 16 + 18 * half + 38 * full
