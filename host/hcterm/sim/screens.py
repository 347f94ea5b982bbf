"""The virtual reader's display as pictures: what the emulated SSD1306's glass shows
(hcterm.emulator.ssd1306), saved as a PNG each time it shows a new screen (`hcterm demo
--screens DIR`, `hcterm sim --screens DIR`) and served by the bridge's integrator page.

    ScreenRecorder(vr.devices.display, "shots").start()    # shots/001.png, 002.png, ...
"""

import io
import threading
from pathlib import Path

from PIL import Image

SCALE = 4                       # 128x64 -> 512x256: readable on a monitor
LIT = (150, 220, 255)           # the module's blue-white OLED on black
DARK = (0, 0, 0)
BORDER = 4                      # dark pixels (after scaling) around the glass


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


class ScreenRecorder:
    """Save each new screen of `display` (an emulated Ssd1306) as DIR/NNN.png: an image that
    differs from the last one saved and is not dark (the driver clears the glass at start)."""

    def __init__(self, display, directory, scale=SCALE):
        if display is None:
            raise ValueError("this board has no display: --screens needs a board with one "
                             "(sim-handheld)")
        self.display = display
        self.directory = Path(directory)
        self.scale = scale
        self.saved = []
        self._last = None
        self._lock = threading.Lock()

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        self.display.watch_frames(self._changed)
        return self

    def _changed(self, display):
        rows = display.image()
        with self._lock:
            if rows == self._last or not any(any(row) for row in rows):
                return
            self._last = rows
            path = self.directory / f"{len(self.saved) + 1:03d}.png"
            picture(rows, self.scale).save(path)
            self.saved.append(path)
