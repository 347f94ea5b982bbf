"""The virtual reader's display as pictures: what the emulated SSD1306's glass shows
(hcterm.emulator.ssd1306), saved as a PNG each time it shows a new screen (`hcterm demo
--screens DIR`, `hcterm sim --screens DIR`; pictures: hcterm.screen_image).

    ScreenRecorder(vr.devices.display, "shots").start()    # shots/001.png, 002.png, ...
"""

import threading
from pathlib import Path

from ..screen_image import SCALE, picture


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
