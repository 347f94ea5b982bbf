# Runs inside micropython for tests/host/test_display_screens.py: the screens module
# (reader.terminal.screens) draws each screen named on the command line on sim-handheld's
# display (micropython-lib's SSD1306 driver over the sim bus's I2C to the emulated SSD1306),
# with the font file $SCREENS_FONT. Prints "@@shown NAME draw_us total_us" after each (draw:
# the font and framebuf work into the driver's buffer; total: with show() over I2C), then
# the driver's behaviour on an address no device answers ("@@nak errno").
#   micropython screens_show.py patient refused ...
import json
import os
import sys
import time

import board
import framebuf

from reader.terminal import screens

VALUES = json.loads(os.getenv("SCREENS_VALUES"))
GBK = ("name",)   # values given as hex of GBK bytes (MicroPython has no GBK codec)


class Board:
    NAME = board.NAME
    FONT = os.getenv("SCREENS_FONT")
    display = staticmethod(board.display)


class Session:
    board = Board
    display = None
    terminal = None
    config = {"display_id_mask": os.getenv("SCREENS_MASK") or "4-4"}


def values(name):
    out = dict(VALUES.get(name, {}))
    for key in GBK:
        if key in out:
            out[key] = bytes.fromhex(out[key])
    return out


class Canvas(framebuf.FrameBuffer):
    """The driver's buffer without its bus: times the drawing alone."""

    def __init__(self):
        self.buffer = bytearray(1024)
        super().__init__(self.buffer, 128, 64, framebuf.MONO_VLSB)

    def show(self):
        pass


s = Session()
canvas = Session()
canvas.display = Canvas()
screens.show(s, "text", {"text": ""})      # the driver's init and first frame, not timed
for name in sys.argv[1:]:
    v = values(name)
    start = time.ticks_us()
    screens.show(canvas, name, v)
    begin = time.ticks_us()
    screens.show(s, name, v)
    end = time.ticks_us()
    print("@@shown", name, time.ticks_diff(begin, start), time.ticks_diff(end, begin))

from simi2c import I2C  # noqa: E402 - after the screens: the bus check comes last

try:
    I2C("i2c0").writeto(0x3D, b"\x80\xaf")
    print("@@nak none")
except OSError as error:
    print("@@nak", error.errno)
