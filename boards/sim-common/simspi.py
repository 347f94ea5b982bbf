# Sim board HAL, SPI part: a machine-like SPI bus and the chip-select line of an SPI device,
# wired to the emulator over the sim bus (docs/sim-bus.md: spi-<name>.sock, 'C' level,
# 'X' len16 data -> len16 bytes back). Only the SPI boards import it; simhal.py has the rest.
from micropython import const
from simhal import _connect, _write_all


class SPI:
    """An SPI bus to one emulated device, like machine.SPI. The emulator sees the bytes in
    the order they appear on the wire read MSB first; with firstbit=LSB this object reverses
    each byte's bits both ways, as an LSB-first SPI peripheral does."""

    MSB = const(0)
    LSB = const(1)

    def __init__(self, name, baudrate=1000000, polarity=0, phase=0, firstbit=0,
                 lsb_capable=True):
        if firstbit == SPI.LSB and not lsb_capable:
            raise ValueError("firstbit must be MSB")  # what rp2's machine.SPI says
        self.name = name
        self._sock = _connect("spi-%s.sock" % name)
        self.firstbit = firstbit
        self._header = bytearray(3)
        self._hdr = bytearray(2)

    def init(self, baudrate=None, polarity=None, phase=None, firstbit=None, **_ignored):
        if firstbit is not None:
            self.firstbit = firstbit

    def _select(self, level):
        _write_all(self._sock, b"C0" if level == 0 else b"C1")

    def write_readinto(self, wbuf, rbuf):
        n = len(wbuf)
        if len(rbuf) != n:
            raise ValueError("buffers must be the same length")
        header = self._header
        header[0] = 0x58  # 'X'
        header[1] = n >> 8
        header[2] = n & 0xFF
        _write_all(self._sock, header)
        if self.firstbit == SPI.LSB:
            _write_all(self._sock, bytes(_reverse(b) for b in wbuf))
        else:
            _write_all(self._sock, wbuf)
        view = memoryview(rbuf)
        got = 0
        while got < n:
            k = self._sock.readinto(view[got:])
            if not k:
                raise OSError("sim bus: SPI %s closed by the emulator" % self.name)
            got += k
        if self.firstbit == SPI.LSB:
            for i in range(n):
                rbuf[i] = _reverse(rbuf[i])

    def write(self, buf):
        self.write_readinto(buf, bytearray(len(buf)))

    def readinto(self, buf, write=0):
        out = bytearray(len(buf))
        for i in range(len(out)):
            out[i] = write
        self.write_readinto(out, buf)

    def read(self, nbytes, write=0):
        buf = bytearray(nbytes)
        self.readinto(buf, write)
        return bytes(buf)


# bit order of a nibble reversed: a byte is reversed through it in two steps, so the sim's
# LSB-first emulation keeps 16 bytes in RAM, not a 256-byte table (on a board the SPI
# peripheral shifts LSB first in hardware)
_NIBBLE = b"\x00\x08\x04\x0c\x02\x0a\x06\x0e\x01\x09\x05\x0d\x03\x0b\x07\x0f"


def _reverse(b):
    return (_NIBBLE[b & 0x0F] << 4) | _NIBBLE[b >> 4]


class ChipSelect:
    """The chip-select pin of an SPI device (active low). Sent in band on the SPI socket so
    its edges stay ordered with the data, as on the real wires."""

    def __init__(self, spi, value=1):
        self._spi = spi
        self._value = value
        spi._select(value)

    def value(self, level=None):
        if level is None:
            return self._value
        self._value = 1 if level else 0
        self._spi._select(self._value)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    __call__ = value
