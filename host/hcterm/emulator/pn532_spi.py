"""The PN532 on its SPI interface: a SpiDevice over the command core.

Bytes travel LSB first; the SpiDevice sees them as they appear on MOSI/MISO, so each byte is
bit-reversed on the way in and out. The first byte of a chip-select window says what follows:

| first byte | meaning | the rest of the window |
|---|---|---|
| `01` DW | data write | a host frame (`00 00 FF …`, ACK, NACK) |
| `02` SR | status read | MISO `01` when a chip frame is ready, else `00` |
| `03` DR | data read | the ready frame byte by byte (a part read continues in the next DR) |

The IRQ line (`set_line("irq", …)`, active low) is 0 while a frame is ready. Selecting the chip
wakes it from LowVbat, and from PowerDown if its WakeUpEnable had the SPI bit (0x20).
"""

from collections import deque

from .bus_device import SpiDevice
from .chipfaults import ChipFaults
from .pn532 import WAKE_SPI, Pn532Core
from .pn532_frames import ACK, FrameParser
from .rf14443 import Field

DW, SR, DR = 0x01, 0x02, 0x03
STATUS_READY = 0x01
REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def lsb_first(data):
    """Bit-reverse every byte (what an LSB-first byte looks like to an MSB-first view)."""
    return bytes(REVERSED[b] for b in data)


class Pn532Spi(SpiDevice):
    def __init__(self, field=None, faults=None, model=None):
        super().__init__()
        faults = faults or ChipFaults()
        # SPI at MHz rates costs little; a WireTiming paces the RF side (wire "rf")
        self.core = Pn532Core(field or Field(faults, model=model), faults)
        self.core.emit = self._emit
        self.faults = faults
        self.field = self.core.field
        self._parser = FrameParser()
        self._out = deque()
        self._pos = 0
        self._op = None
        self.set_line("irq", 1)

    def on_select(self, selected):
        if selected:
            self._op = None
            if self.core.wakes_on(WAKE_SPI):
                self.core.asleep = False  # chip select wakes the chip (if SPI may wake it)
            return
        if self._op == DR and self._out and self._pos >= len(self._out[0]):
            self._out.popleft()
            self._pos = 0
        self._op = None
        self._update_irq()

    def transfer(self, data):
        out = bytearray()
        written = bytearray()
        for byte in lsb_first(data):
            if self._op is None:
                self._op = byte
                out.append(0)
            elif self._op == DW:
                written.append(byte)
                out.append(0)
            elif self._op == SR:
                out.append(STATUS_READY if self._out else 0x00)
            elif self._op == DR:
                out.append(self._next_byte())
            else:
                out.append(0)
        if written:
            for event in self._parser.feed(bytes(written)):
                self.core.host_event(event[:-1])
        return lsb_first(out)

    def _next_byte(self):
        if not self._out or self._pos >= len(self._out[0]):
            return 0x00
        byte = self._out[0][self._pos]
        self._pos += 1
        return byte

    def _emit(self, kind, frame):
        self._out.append(ACK if kind == "ack" else frame)
        self._update_irq()

    def _update_irq(self):
        level = 0 if self._out else 1
        if self.lines.get("irq") != level:
            self.set_line("irq", level)
