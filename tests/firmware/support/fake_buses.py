# The reader's side of the wire, scripted: the buses and pins a driver under test is handed,
# with the chip's answers canned (runs inside micropython, in the test's process; no
# unittest.mock).
#
# ScriptedUART: checks each written byte against a script of expected writes and, once an
#   expected write is complete, queues its canned reply. Reads never block: with nothing
#   queued they return None, like machine.UART after its timeout.
# FakePin: value()/on()/off() with an optional change callback.
# FakePN532SPI: the SPI side of a PN532 (DW/SR/DR operations, CS framing, IRQ pin) over the
#   same script; can present the wire bit-reversed, as an MSB-only SPI sees an LSB chip.
# The frame helpers CMD/RSP/ACK/NACK compute LEN/LCS/DCS independently of the driver.
from binascii import hexlify, unhexlify


def h(text):
    return unhexlify(text.replace(" ", ""))


def hx(data):
    return hexlify(bytes(data), " ").decode()


def _pn532_frame(tfi, body):
    info = bytes((tfi,)) + body
    n = len(info)
    dcs = (-sum(info)) & 0xFF
    if n <= 254:
        head = bytes((0, 0, 0xFF, n, (-n) & 0xFF))
    else:
        head = bytes((0, 0, 0xFF, 0xFF, 0xFF, n >> 8, n & 0xFF, (-(n >> 8) - (n & 0xFF)) & 0xFF))
    return head + info + bytes((dcs, 0))


def CMD(text):
    """Host->chip PN532 frame around 'D4'-less hex text, e.g. CMD('02')."""
    return _pn532_frame(0xD4, h(text) if isinstance(text, str) else bytes(text))


def RSP(text):
    """Chip->host PN532 frame, e.g. RSP('03 32 01 06 07')."""
    return _pn532_frame(0xD5, h(text) if isinstance(text, str) else bytes(text))


def ACK():
    return h("00 00 FF 00 FF 00")


def NACK():
    return h("00 00 FF FF 00 00")


class Script:
    """Expected writes and the replies they trigger."""

    def __init__(self, echo=False):
        self.steps = []
        self.rx = bytearray()
        self.pending = bytearray()
        self.written = []
        self.echo = echo

    def expect(self, write, reply=b""):
        self.steps.append((bytes(write), bytes(reply)))
        return self

    def reply(self, data):
        """Queue bytes that arrive without being asked for."""
        self.rx.extend(data)
        return self

    def feed(self, data):
        if self.echo:
            self.rx.extend(data)
        self.pending.extend(data)
        while self.pending:
            if not self.steps:
                raise AssertionError("unexpected write: " + hx(self.pending))
            want, reply = self.steps[0]
            n = min(len(want), len(self.pending))
            if bytes(self.pending[:n]) != want[:n]:
                raise AssertionError("wrote %s, expected %s" % (hx(self.pending), hx(want)))
            if n < len(want):
                return
            self.steps.pop(0)
            self.pending = self.pending[n:]
            self.written.append(want)
            self.rx.extend(reply)

    def take(self, n):
        data = bytes(self.rx[:n])
        self.rx = self.rx[n:]
        return data

    def done(self):
        assert not self.steps, "script not finished, next: " + hx(self.steps[0][0])
        assert not self.pending, "partial write left: " + hx(self.pending)


class ScriptedUART:
    def __init__(self, echo=False):
        self.script = Script(echo)
        self.inits = []

    def expect(self, write, reply=b""):
        self.script.expect(write, reply)
        return self

    def reply(self, data):
        self.script.reply(data)
        return self

    def done(self):
        self.script.done()

    def write(self, buf):
        self.script.feed(bytes(buf))
        return len(buf)

    def any(self):
        return len(self.script.rx)

    def read(self, n=-1):
        if not self.script.rx:
            return None
        return self.script.take(len(self.script.rx) if n < 0 else n)

    def readinto(self, buf, nbytes=-1):
        n = len(buf) if nbytes < 0 else nbytes
        data = self.script.take(n)
        if not data:
            return None
        buf[:len(data)] = data
        return len(data)

    def init(self, baudrate=None, **kw):
        self.inits.append(baudrate)

    def flush(self):
        pass


class FakePin:
    def __init__(self, value=1, on_change=None):
        self._v = value
        self.on_change = on_change
        self.history = [value]

    def value(self, v=None):
        if v is None:
            return self._v
        v = 1 if v else 0
        if v != self._v:
            self._v = v
            self.history.append(v)
            if len(self.history) > 64:            # bounded: CS toggles thousands of times
                self.history = self.history[-32:]
            if self.on_change:
                self.on_change(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


def _reverse(b):
    r = 0
    for i in range(8):
        if b & (1 << i):
            r |= 0x80 >> i
    return r


class FakePN532SPI:
    """SPI bus + chip select + IRQ of a scripted PN532."""

    def __init__(self, wire_reversed=False):
        self.script = Script()
        self.wire_reversed = wire_reversed
        self.cs = FakePin(1, self._cs_changed)
        self.irq = _IRQ(self)
        self._op = None
        self.ops = []
        self.status_reads = 0

    def expect(self, write, reply=b""):
        self.script.expect(write, reply)
        return self

    def done(self):
        self.script.done()

    def _cs_changed(self, v):
        self._op = None if v == 0 else self._op

    def _wire_in(self, buf):
        return bytes(_reverse(b) for b in buf) if self.wire_reversed else bytes(buf)

    def write(self, buf):
        assert self.cs.value() == 0, "SPI write with CS high"
        data = self._wire_in(buf)
        if self._op is None:
            self._op = data[0]
            self.ops.append(self._op)
            data = data[1:]
        if data:
            assert self._op == 0x01, "data written during op %02x" % self._op
            self.script.feed(data)

    def readinto(self, buf, write=0):
        assert self.cs.value() == 0, "SPI read with CS high"
        n = len(buf)
        if self._op == 0x02:
            self.status_reads += 1
            data = bytes((1 if self.script.rx else 0,)) + bytes(n - 1)
        elif self._op == 0x03:
            data = self.script.take(n)
            data += bytes(n - len(data))
        else:
            raise AssertionError("SPI read during op %r" % self._op)
        if self.wire_reversed:
            data = bytes(_reverse(b) for b in data)
        buf[:] = data

    def read(self, n, write=0):
        buf = bytearray(n)
        self.readinto(buf)
        return bytes(buf)


class _IRQ:
    def __init__(self, chip):
        self.chip = chip

    def value(self):
        return 0 if self.chip.script.rx else 1
