# Sim board HAL, I2C part: a machine-like I2C bus wired to the emulator over the sim bus
# (docs/sim-bus.md: i2c-<name>.sock, 'W' addr len16 data -> acked16, 'R' addr len16 ->
# status16 data). Only boards with an I2C device (the display) import it.
from micropython import const
from simhal import _connect, _write_all

_NAK = const(0xFFFF)
_ENODEV = const(19)     # what machine.I2C raises when no device acknowledges the address


class I2C:
    """An I2C bus like machine.I2C (controller): writeto, writevto, readfrom(_into), scan.
    An address nobody acknowledges raises OSError(ENODEV), as the ports do."""

    def __init__(self, name, freq=400000):
        self.name = name
        self.freq = freq
        self._sock = _connect("i2c-%s.sock" % name)
        self._header = bytearray(4)
        self._answer = bytearray(2)

    def _send(self, op, addr, length):
        header = self._header
        header[0] = op
        header[1] = addr
        header[2] = length >> 8
        header[3] = length & 0xFF
        _write_all(self._sock, header)

    def _recv(self, buf):
        view = memoryview(buf)
        got = 0
        while got < len(buf):
            n = self._sock.readinto(view[got:])
            if not n:
                raise OSError("sim bus: I2C %s closed by the emulator" % self.name)
            got += n

    def _acked(self):
        self._recv(self._answer)
        acked = (self._answer[0] << 8) | self._answer[1]
        if acked == _NAK:
            raise OSError(_ENODEV)
        return acked

    def writeto(self, addr, buf, stop=True):
        """One write transaction; the number of data bytes acknowledged."""
        self._send(0x57, addr, len(buf))    # 'W'
        _write_all(self._sock, buf)
        return self._acked()

    def writevto(self, addr, vector, stop=True):
        """The buffers of `vector` as one write transaction (no copy joins them)."""
        total = 0
        for buf in vector:
            total += len(buf)
        self._send(0x57, addr, total)
        for buf in vector:
            _write_all(self._sock, buf)
        return self._acked()

    def readfrom_into(self, addr, buf, stop=True):
        self._send(0x52, addr, len(buf))    # 'R'
        self._acked()
        self._recv(buf)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf)
        return bytes(buf)

    def scan(self):
        """The addresses 0x08-0x77 that acknowledge (an empty write to each)."""
        found = []
        for addr in range(0x08, 0x78):
            try:
                self.writeto(addr, b"")
                found.append(addr)
            except OSError:
                pass
        return found
