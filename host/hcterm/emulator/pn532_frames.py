"""PN532 frames on the host interface: builders (pure) and an incremental parser.

| frame | bytes |
|---|---|
| normal information | `00 00 FF LEN LCS TFI PD0..PDn DCS 00` (LEN = TFI + data, ≤ 255) |
| extended information | `00 00 FF FF FF LENM LENL LCS TFI … DCS 00` (up to 265 bytes TFI + data) |
| ACK | `00 00 FF 00 FF 00` |
| NACK | `00 00 FF FF 00 00` |
| application error | `00 00 FF 01 FF 7F 81 00` |

The chip emits exactly one `00` preamble. The parser accepts any number of preamble bytes (or
none) before the `00 FF` start code and skips line noise between frames.
"""

ACK = bytes.fromhex("0000FF00FF00")
NACK = bytes.fromhex("0000FFFF0000")
ERROR_FRAME = bytes.fromhex("0000FF01FF7F8100")
TFI_HOST = 0xD4
TFI_CHIP = 0xD5
MAX_EXTENDED = 265  # TFI + up to 264 data bytes


def build_frame(body):
    """An information frame for `body` = TFI + data: normal up to 255 bytes, else extended."""
    body = bytes(body)
    n = len(body)
    if n > MAX_EXTENDED:
        raise ValueError(f"a PN532 frame carries at most {MAX_EXTENDED} bytes, not {n}")
    dcs = (-sum(body)) & 0xFF
    if n <= 255:
        return bytes([0x00, 0x00, 0xFF, n, (-n) & 0xFF]) + body + bytes([dcs, 0x00])
    lenm, lenl = n >> 8, n & 0xFF
    head = bytes([0x00, 0x00, 0xFF, 0xFF, 0xFF, lenm, lenl, (-(lenm + lenl)) & 0xFF])
    return head + body + bytes([dcs, 0x00])


def build_command(data, extended=None):
    """A host->chip frame (`D4` + data), extended when asked or when it does not fit."""
    body = bytes([TFI_HOST]) + bytes(data)
    if extended and len(body) <= 255:
        n = len(body)
        dcs = (-sum(body)) & 0xFF
        return bytes([0, 0, 0xFF, 0xFF, 0xFF, 0, n, (-n) & 0xFF]) + body + bytes([dcs, 0])
    return build_frame(body)


def build_response(data):
    return build_frame(bytes([TFI_CHIP]) + bytes(data))


class FrameParser:
    """Feed bytes; get events: ("ack",), ("nack",), ("frame", body), ("error", why).

    `body` is TFI + data. `leading` on each event counts the bytes seen before its start code
    (preamble, wake-up bytes, noise), which the HSU front end uses to tell a woken chip.
    """

    def __init__(self):
        self._buf = bytearray()
        self._leading = 0
        self._postamble_due = False

    def feed(self, data):
        if self._postamble_due and data:
            self._postamble_due = False
            data = data[1:] if data[0] == 0 else data
        self._buf += data
        events = []
        while True:
            event = self._next()
            if event is None:
                return events
            events.append(event)

    def _next(self):
        buf = self._buf
        start = buf.find(b"\x00\xff")
        if start < 0:
            keep = 1 if buf[-1:] == b"\x00" else 0
            self._leading += len(buf) - keep
            del buf[: len(buf) - keep]
            return None
        leading = self._leading + start
        rest = buf[start + 2 :]
        if len(rest) < 2:
            return None
        if rest[0] == 0x00 and rest[1] == 0xFF:
            return self._emit(start + 4, ("ack",), leading)
        if rest[0] == 0xFF and rest[1] == 0x00:
            return self._emit(start + 4, ("nack",), leading)
        if rest[0] == 0xFF and rest[1] == 0xFF:
            return self._extended(start, rest, leading)
        length, lcs = rest[0], rest[1]
        if (length + lcs) & 0xFF:
            return self._emit(start + 4, ("error", "length checksum"), leading)
        return self._body(start, 2, length, leading)

    def _extended(self, start, rest, leading):
        if len(rest) < 5:
            return None
        lenm, lenl, lcs = rest[2], rest[3], rest[4]
        if (lenm + lenl + lcs) & 0xFF:
            return self._emit(start + 7, ("error", "extended length checksum"), leading)
        return self._body(start, 5, (lenm << 8) | lenl, leading)

    def _body(self, start, head, length, leading):
        end = start + 2 + head + length + 1  # start code, header, body, DCS
        if len(self._buf) < end:
            return None
        body = bytes(self._buf[start + 2 + head : end - 1])
        dcs = self._buf[end - 1]
        if length == 0 or (sum(body) + dcs) & 0xFF:
            return self._emit(end, ("error", "data checksum"), leading)
        return self._emit(end, ("frame", body), leading)

    def _emit(self, consumed, event, leading):
        # The postamble 00 belongs to this frame: drop it now, or when it arrives.
        if len(self._buf) > consumed:
            consumed += self._buf[consumed] == 0
            self._postamble_due = False
        else:
            self._postamble_due = True
        del self._buf[:consumed]
        self._leading = 0
        return event + (leading,)
