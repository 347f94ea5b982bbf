"""The screens of a board with a display, end to end: reader.terminal.screens draws with the
built font (hcterm.fontbuild, read glyph by glyph by reader.terminal.glyphs) into
micropython-lib's SSD1306 driver, which sends it over sim-handheld's I2C on the sim bus to
the emulated SSD1306; what its glass shows is compared pixel for pixel with the same text
drawn here straight from unifont's .hex file (not through our font file or its reader), laid
out as docs/display.md says: four 16-pixel lines, each centred, the ID number from the left
with 7-pixel digits. Prints the render time of each screen on the unix port."""

import json
import os
from pathlib import Path

import pytest

from hcterm import fontbuild, mplib
from hcterm.emulator.ssd1306 import Ssd1306
from hcterm.mpy import BOARDS_DIR, FIRMWARE_DIR, run_micropython
from hcterm.sim.bus import SimBus

SUPPORT = Path(__file__).parents[1] / "firmware" / "support"
ID = "410105198503154213"
MASKED = ("4101**********4213",)            # a 1-tuple: the narrow line
NAME = "张伟"
TIME = "2026-12-07 09:30"
SCREENS = {   # name -> (values, the four lines it shows)
    "patient": ({"name": NAME.encode("gbk").hex(), "sex": "01", "birth": "19850315",
                 "id": ID, "today": "20261207", "stale": False},
                [NAME, "男 41岁", MASKED, "核验通过"]),
    "refused": ({"reason": "blacklisted", "id": ID}, ["拒绝受理", "黑名单卡", MASKED, None]),
    "error": ({"reason": "card_removed"}, ["读卡失败", "卡片已移开", "请重新刷卡", None]),
    "idle": ({"time": TIME, "installed": True, "age_h": 5},
             ["请刷卡", TIME, "黑名单5小时前", None]),
    "stale": ({"time": None, "installed": True, "age_h": 200},
              ["黑名单过期", "时钟未设置", "黑名单8天前", "请联网更新"]),
    "reading": ({}, [None, "读卡中...", "请勿移开卡片", None]),
    "pin": ({"digits": 3, "tries_left": 2}, ["请输入密码", "***", "剩余2次", "确认#  取消*"]),
    "low_battery": ({"percent": 9}, ["电量低", "9%", "请充电", None]),
    "link_down": ({"journal": 12}, ["主机未连接", "离线记录12条", "联网后上传", None]),
}


def unifont_glyphs(text):
    """{char: rows of bits as strings} for the characters of `text`, from unifont's .hex."""
    wanted = {f"{ord(c):04X}": c for c in text}
    glyphs = {}
    for line in fontbuild.UNIFONT_HEX.read_text().splitlines():
        code, _, bits = line.partition(":")
        if code in wanted:
            width = len(bits) * 4 // 16
            rows = [int(bits[i:i + width // 4], 16) for i in range(0, len(bits), width // 4)]
            glyphs[wanted[code]] = [format(r, f"0{width}b") for r in rows]
    return glyphs


def expected(lines):
    """The glass (64 rows of 128 booleans) showing `lines`."""
    glass = [[False] * 128 for _ in range(64)]
    glyphs = unifont_glyphs("".join(t[0] if isinstance(t, tuple) else t
                                    for t in lines if t))
    for row, text in enumerate(lines):
        if text is None:
            continue
        narrow = isinstance(text, tuple)
        text = text[0] if narrow else text
        widths = [len(glyphs[c][0]) for c in text]
        x = 0 if narrow else max(0, (128 - sum(widths)) // 2)
        for char, width in zip(text, widths):
            for dy, bits in enumerate(glyphs[char]):
                for dx, bit in enumerate(bits):
                    if bit == "1" and x + dx < 128:
                        glass[row * 16 + dy][x + dx] = True
            x += 7 if narrow and width == 8 else width
    return glass


def glass_from_png(data):
    """The glass (64 rows of 128 booleans) in a PNG of hcterm.screen_image (the virtual
    reader's screen shots, the bridge's screen.png): one pixel of each scaled-up dot."""
    import io

    from PIL import Image

    from hcterm.screen_image import BORDER, DARK, SCALE

    image = Image.open(io.BytesIO(data)).convert("RGB")
    return [[image.getpixel((BORDER + x * SCALE, BORDER + y * SCALE)) != DARK
             for x in range(128)] for y in range(64)]


def picture(glass):
    return "\n".join("".join("#" if p else "." for p in row) for row in glass)


@pytest.fixture(scope="module")
def shown(tmp_path_factory):
    """Run every screen once on the emulated display: ({name: glass}, {name: times})."""
    display = Ssd1306()
    frames = []
    display.watch_frames(lambda d: frames.append((d.frames, d.image())))
    scratch = tmp_path_factory.mktemp("screens")
    names = list(SCREENS)
    with SimBus(scratch / "bus", i2cs={"i2c0": [display]}):
        proc = run_micropython(
            SUPPORT / "screens_show.py", *names, heapsize="96k", cwd=SUPPORT,
            env={"MICROPYPATH": os.pathsep.join([
                ".frozen", str(FIRMWARE_DIR), str(BOARDS_DIR / "sim-handheld"),
                str(BOARDS_DIR / "sim-common"),
                str(mplib.module_path("micropython-ssd1306").parent)]),
                "HCTERM_SIM_DIR": str(scratch / "bus"),
                "SCREENS_FONT": str(fontbuild.build()),
                "SCREENS_VALUES": json.dumps({n: v for n, (v, _) in SCREENS.items()})})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    times, nak = {}, None
    for line in proc.stdout.splitlines():
        words = line.split()
        if words[0] == "@@shown":
            times[words[1]] = (int(words[2]), int(words[3]))
        elif words[0] == "@@nak":
            nak = words[1]
    # one data write per show(): the last frames are the screens, in order
    data_frames = []
    for count, glass in frames:
        if not data_frames or data_frames[-1][0] != count:
            data_frames.append((count, glass))
        else:
            data_frames[-1] = (count, glass)
    glasses = [glass for _, glass in data_frames[-len(names):]]
    for name, (draw_us, total_us) in times.items():
        print(f"{name}: drawn in {draw_us / 1000:.1f} ms, shown (with I2C) in "
              f"{total_us / 1000:.1f} ms")
    return dict(zip(names, glasses)), times, nak, display


@pytest.mark.parametrize("name", list(SCREENS))
def test_each_screen_shows_its_text_pixel_for_pixel(shown, name):
    glasses, times, _, _ = shown
    assert name in times, f"screen {name} was not shown"
    want = expected(SCREENS[name][1])
    assert picture(glasses[name]) == picture(want)


def test_the_driver_left_the_display_as_the_datasheet_wants(shown):
    _, _, _, display = shown
    assert display.display_on and display.charge_pump
    assert display.mode == 0 and display.seg_remap and display.com_remap
    assert display.mux == 64 and display.com_pins == 0x12
    assert display.ignored == []          # every byte the driver sent is a command


def test_an_address_nobody_answers_raises_enodev(shown):
    _, _, nak, _ = shown
    assert nak == "19"                    # OSError(ENODEV), as machine.I2C raises


def test_a_patient_screen_renders_fast_enough(shown):
    _, times, _, _ = shown
    draw_us, total_us = times["patient"]
    assert draw_us < 200_000 and total_us < 400_000, times["patient"]
