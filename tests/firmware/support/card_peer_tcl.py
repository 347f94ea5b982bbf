# The card's side of T=CL (ISO 14443-4), for the firmware's protocol code to talk to (runs
# inside micropython, in the test's process): a scripted frame transceiver and a small PICC
# that follows the ISO 14443-4 PICC rules (block numbers, chaining, R(ACK)/R(NAK)), with
# fault injection.
from fake_buses import h, hx

from reader.errors import TIMEOUT, TRANSMISSION, ReaderError


class FrameError(ReaderError):
    where = "fake RF"


def timeout():
    return FrameError(0, kind=TIMEOUT, message="no answer")


class ScriptedFrames:
    """frame_exchange against a list of (expected frame hex, reply hex | 'timeout' | 'crc')."""

    fsdi = 8
    max_frame = 256

    def __init__(self, steps):
        self.steps = list(steps)
        self.timeouts = []

    def frame_exchange(self, data, out, timeout_us):
        want, reply = self.steps.pop(0)
        assert bytes(data) == h(want), "sent %s, expected %s" % (hx(data), want)
        self.timeouts.append(timeout_us)
        if reply == "timeout":
            raise timeout()
        if reply == "crc":
            raise FrameError(0, kind=TRANSMISSION, message="CRC error")
        r = h(reply)
        out[:len(r)] = r
        return len(r)

    def done(self):
        assert not self.steps, "script not finished: %r" % (self.steps[0],)


class PICC:
    """Echo card: answers an APDU with `respond(apdu)` (default: the APDU reversed + 9000)."""

    def __init__(self, ats=h("05 78 80 70 02"), fsdi=8, max_frame=256, respond=None):
        self.ats = ats
        self.fsdi = fsdi                 # what the reader side advertises (transceiver)
        self.max_frame = max_frame
        self.respond = respond or (lambda apdu: bytes(reversed(apdu)) + b"\x90\x00")
        self.blk = 1
        self.last = None
        self.inbuf = bytearray()
        self.outq = b""
        self.fsd = 256
        self.count = 0
        self.lose_request = set()        # exchange numbers the card never hears
        self.lose_answer = set()         # exchange numbers whose answer is lost
        self.wtx_first = 0               # S(WTX) with this WTXM before the first answer
        self.frames = []
        self.present = True

    def frame_exchange(self, data, out, timeout_us):
        data = bytes(data)
        assert len(data) + 2 <= self.max_frame, "frame of %d bytes too long" % len(data)
        self.frames.append(data)
        if len(self.frames) > 32:
            self.frames = self.frames[-16:]
        self.count += 1
        if not self.present or self.count in self.lose_request:
            raise timeout()
        reply = self._handle(data)
        self.last = reply
        if reply is None or self.count in self.lose_answer:
            raise timeout()
        out[:len(reply)] = reply
        return len(reply)

    def _chunk(self):
        size = self.fsd - 3
        part, self.outq = self.outq[:size], self.outq[size:]
        return bytes((0x02 | self.blk | (0x10 if self.outq else 0),)) + part

    def _handle(self, d):
        pcb = d[0]
        if pcb == 0xE0:
            self.fsd = (16, 24, 32, 40, 48, 64, 96, 128, 256)[d[1] >> 4]
            self.blk = 1
            return self.ats
        if pcb == 0xC2:
            return b"\xC2"
        if pcb == 0xF2:                                   # WTX answered: now the answer
            return self._chunk()
        if pcb & 0xE2 == 0x02:                            # I-block
            if pcb & 1 != self.blk:
                self.blk = pcb & 1
            else:
                return self.last                          # duplicate
            self.inbuf += d[1:]
            if pcb & 0x10:
                return bytes((0xA2 | self.blk,))
            self.outq = self.respond(bytes(self.inbuf))
            self.inbuf = bytearray()
            if self.wtx_first:
                w, self.wtx_first = self.wtx_first, 0
                return bytes((0xF2, w))
            return self._chunk()
        if pcb & 0xE6 == 0xA2:                            # R-block
            b = pcb & 1
            if b == self.blk:
                return self.last                          # rule 11
            if pcb & 0x10:
                return bytes((0xA2 | self.blk,))          # rule 12
            self.blk = b
            return self._chunk()
        raise AssertionError("PICC got " + hx(d))
