"""A reader's 128x64 display as a picture (Pillow): from the emulated SSD1306's glass
(hcterm.sim.screens saves one per new screen) or from the pages a reader reports over the
link (`Reader.screen()`, the bridge's /api/readers/{id}/screen.png)."""

import io

from PIL import Image

WIDTH, HEIGHT = 128, 64
SCALE = 4                       # 128x64 -> 512x256: readable on a monitor
LIT = (150, 220, 255)           # the module's blue-white OLED on black
DARK = (0, 0, 0)
BORDER = 4                      # dark pixels (after scaling) around the glass


def rows_from_pages(buffer):
    """64 rows of 128 booleans from 8 pages of 128 bytes (a column of 8 pixels each, LSB on
    top: the SSD1306's GDDRAM, framebuf MONO_VLSB)."""
    if len(buffer) != WIDTH * HEIGHT // 8:
        raise ValueError(f"a 128x64 display has {WIDTH * HEIGHT // 8} bytes, not {len(buffer)}")
    return [[bool(buffer[(y // 8) * WIDTH + x] >> (y % 8) & 1) for x in range(WIDTH)]
            for y in range(HEIGHT)]


def picture(rows, scale=SCALE):
    """An RGB Pillow image of the glass (rows of booleans), `scale` times its size."""
    height, width = len(rows), len(rows[0])
    mono = Image.new("1", (width, height))
    mono.putdata([1 if lit else 0 for row in rows for lit in row])
    big = mono.resize((width * scale, height * scale), Image.NEAREST)
    out = Image.new("RGB", (big.width + 2 * BORDER, big.height + 2 * BORDER), DARK)
    out.paste(Image.new("RGB", big.size, LIT), (BORDER, BORDER), big.convert("L"))
    return out


def png(rows, scale=SCALE):
    buffer = io.BytesIO()
    picture(rows, scale).save(buffer, "PNG")
    return buffer.getvalue()
