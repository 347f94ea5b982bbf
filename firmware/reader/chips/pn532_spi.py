"""PN532 over SPI: only the bus. Frames and commands are in pn532.PN532.

Every SPI transaction starts with an operation byte: DW 0x01 (data write), SR 0x02 (status
read, answer bit 0 = ready), DR 0x03 (data read). The chip shifts bits LSB first (mode 0);
pass `soft_lsb=True` when the port's SPI is MSB-only (rp2): bytes are then bit-reversed
through a 256-byte table on the way out and in. With an IRQ pin (active low) the driver
waits on the pin instead of polling SR.
"""

import time

from micropython import const

from reader.chips.pn532 import PN532

_DW = const(0x01)
_SR = const(0x02)
_DR = const(0x03)
_MAX_FRAME = const(8 + 265 + 2)


_REVERSE = []   # the bit-reversal table, built for the first MSB-only bus (soft_lsb)


def reverse_table():
    """The 256-byte bit-reversal table (bytes), built on first use."""
    if not _REVERSE:
        t = bytearray(256)
        for b in range(256):
            r = 0
            for i in range(8):
                if b & (1 << i):
                    r |= 0x80 >> i
            t[b] = r
        _REVERSE.append(bytes(t))
    return _REVERSE[0]


def reverse_bits(buf, n):
    """Reverse the bit order of the first n bytes of buf in place."""
    t = reverse_table()
    for i in range(n):
        buf[i] = t[buf[i]]


class PN532_SPI(PN532):
    poll_interval_us = 200        # IRQ line / status polling step (1 ms steps cost ~0.5 ms a wait)

    def __init__(self, spi, cs, irq=None, soft_lsb=False, wake=True):
        super().__init__()
        self.spi, self.cs, self.irq, self.soft_lsb = spi, cs, irq, soft_lsb
        # an MSB-only bus needs the frame bit-reversed in a buffer of its own; an LSB-first
        # one sends the driver's frame as it is
        self._out = bytearray(_MAX_FRAME) if soft_lsb else None
        self._op = bytearray(1)
        self._st = bytearray(1)
        cs.on()
        if wake:
            self._wakeup()
            self.sam_configuration()

    def _byte(self, value):
        return reverse_table()[value] if self.soft_lsb else value

    def _wakeup(self):
        # CS low for a couple of ms wakes the chip from power-down; it needs ~2 ms to start
        self.cs.off()
        time.sleep_ms(2)
        self.cs.on()
        time.sleep_ms(2)

    def _send(self, frame):
        if self.soft_lsb:
            n = len(frame)
            self._out[0:n] = frame
            reverse_bits(self._out, n)
            frame = memoryview(self._out)[0:n]
        self._op[0] = self._byte(_DW)
        self.cs.off()
        try:
            self.spi.write(self._op)        # DW, then the frame, under one chip select
            self.spi.write(frame)
        finally:
            self.cs.on()

    def _status(self):
        self._op[0] = self._byte(_SR)
        self.cs.off()
        try:
            self.spi.write(self._op)
            self.spi.readinto(self._st)
        finally:
            self.cs.on()
        return self._byte(self._st[0]) & 0x01

    def _ready(self, timeout_ms):
        start = time.ticks_ms()
        while True:
            if self.irq is not None:
                if not self.irq.value():
                    return True
            elif self._status():
                return True
            if time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                return False
            time.sleep_us(self.poll_interval_us)

    def _recv_begin(self):
        self._op[0] = self._byte(_DR)
        self.cs.off()
        self.spi.write(self._op)

    def _recv(self, mv, timeout_ms):
        self.spi.readinto(mv)
        if self.soft_lsb:
            reverse_bits(mv, len(mv))
        return True

    def _recv_end(self):
        self.cs.on()
