"""The display's font, read glyph by glyph from the file the board names (board.FONT; format
in docs/display-font.md): nothing of it is loaded whole. A glyph is found by binary search
in the file's sorted indexes (halfwidth code points; fullwidth code points; fullwidth GB2312
codes) and its 16 or 32 bytes are read into one buffer, which a FrameBuffer over it blits
onto the display. Transient (reader.TRANSIENT): open for one screen, closed after it.

    font = Font(path)
    x = font.text(fb, "请刷卡", x, y)     # str: by Unicode code point
    x = font.text(fb, b"\\xd5\\xc5", x, y)  # bytes: GBK as a health card stores names
    font.close()
"""

import struct

import framebuf
from micropython import const

_HEADER = const(16)
_HEIGHT = const(16)
_BOX = const(0xFFFF)


class FontError(OSError):
    """The font file is missing or is not one (an OSError: the display's other faults are)."""


class Font:
    def __init__(self, path):
        try:
            self._f = open(path, "rb")
        except OSError as error:
            raise FontError("the display font %s cannot be opened (%s): flash the board's "
                            "image again (hcterm image build)" % (path, error)) from None
        head = self._f.read(_HEADER)
        if len(head) < _HEADER or head[:4] != b"HCF1" or head[4] != _HEIGHT:
            self._f.close()
            raise FontError("%s is not a 16-pixel HCF1 font: build the image again" % path)
        self.half, self.full = struct.unpack_from("<HH", head, 8)
        self._unicode = _HEADER + 2 * self.half
        self._gb = self._unicode + 4 * self.full
        self._half_glyphs = self._gb + 2 * self.full
        self._full_glyphs = self._half_glyphs + 16 * self.half
        self._key = bytearray(2)
        self._buf = bytearray(32)
        self._half_fb = framebuf.FrameBuffer(self._buf, 8, _HEIGHT, framebuf.MONO_HLSB)
        self._full_fb = framebuf.FrameBuffer(self._buf, 16, _HEIGHT, framebuf.MONO_HLSB)

    def close(self):
        self._f.close()

    def _read_key(self, at):
        self._f.seek(at)
        self._f.readinto(self._key)
        return self._key[0] | (self._key[1] << 8)

    def _search(self, at, count, size, code):
        """The position of `code` among `count` sorted u16 keys `size` bytes apart, or -1."""
        low, high = 0, count - 1
        while low <= high:
            mid = (low + high) >> 1
            key = self._read_key(at + mid * size)
            if key == code:
                return mid
            if key < code:
                low = mid + 1
            else:
                high = mid - 1
        return -1

    def _glyph(self, at, size):
        self._f.seek(at)
        self._f.readinto(memoryview(self._buf)[:size])

    def glyph(self, code, gb=False):
        """Load the glyph of Unicode `code` (or of GB2312 code `code` with gb=True) into the
        buffer; its FrameBuffer, None when the font has no such glyph."""
        if not gb:
            i = self._search(_HEADER, self.half, 2, code)
            if i >= 0:
                self._glyph(self._half_glyphs + 16 * i, 16)
                return self._half_fb
            i = self._search(self._unicode, self.full, 4, code)
            if i >= 0:
                i = self._read_key(self._unicode + 4 * i + 2)
        else:
            i = self._search(self._gb, self.full, 2, code)
        if i < 0:
            return None
        self._glyph(self._full_glyphs + 32 * i, 32)
        return self._full_fb

    def draw(self, fb, code, x, y, gb=False, narrow=False):
        """Draw one character at (x, y); returns the x after it (a box for a missing glyph).
        `narrow`: halfwidth glyphs advance 7 pixels, not 8 (unifont leaves the last column
        of digits and letters blank: an 18-character ID number fits 128 pixels)."""
        glyph = self.glyph(code, gb)
        if glyph is None:
            width = 16 if code > 0x7F else 8
            fb.rect(x + 1, y + 2, width - 2, _HEIGHT - 4, 1)
            return x + width
        width = 16 if glyph is self._full_fb else 8
        fb.blit(glyph, x, y, 0)
        return x + (7 if narrow and width == 8 else width)

    def text(self, fb, text, x, y, narrow=False):
        """Draw `text` (str, or bytes in GBK) from (x, y); returns the x after it."""
        if isinstance(text, str):
            for char in text:
                x = self.draw(fb, ord(char), x, y, False, narrow)
            return x
        i = 0
        while i < len(text):
            byte = text[i]
            if byte < 0x80 or i + 1 == len(text):
                x = self.draw(fb, byte, x, y, False, narrow)
                i += 1
            else:
                x = self.draw(fb, (byte << 8) | text[i + 1], x, y, True, narrow)
                i += 2
        return x

    @staticmethod
    def width(text):
        """The width in pixels of `text` (str, or GBK bytes; halfwidth: ASCII)."""
        if not isinstance(text, str):
            return 8 * len(text)     # GBK: a byte of ASCII is 8 pixels, a pair of hanzi 16
        w = 0
        for char in text:
            w += 8 if ord(char) < 0x80 else 16
        return w
