"""The PN532 on its HSU (UART) interface: a UartDevice over the command core.

What the HSU adds to the core:
- wake-up: asleep (LowVbat at power-on, or after PowerDown) the chip loses a frame that does
  not come after at least `WAKE_BYTES` wake-up bytes (`55 55 00 …` from libnfc/Adafruit, a run
  of `00` from nfcpy); the bytes of a lost frame still wake it; after PowerDown only if its
  WakeUpEnable had the HSU bit (0x10), else the chip sleeps on (UM0701 §7.2.11);
- baud rate: `baudrate` is the chip's, `on_host_baudrate` tells the board's; when they differ,
  bytes are garbled both ways. SetSerialBaudrate switches after the host's ACK to the answer;
- line faults from `ChipFaults`: `chip_nack` (the chip answers a command with NACK and drops
  it), `lost_ack` (the ACK never arrives), `garbage` (noise before the chip's next frame).
"""

from .bus_device import UartDevice
from .chipfaults import ChipFaults
from .pn532 import WAKE_HSU, Pn532Core
from .pn532_frames import ACK, NACK, FrameParser
from .rf14443 import Field

WAKE_BYTES = 3  # bytes before the start code that give an asleep chip time to wake


def garble(data, chip_baud, host_baud):
    """What bytes sent at one baud rate look like when read at another (deterministic)."""
    key = (chip_baud * 7 + host_baud * 13) & 0xFF
    return bytes(((b * 29) ^ key ^ 0xA5) & 0xFF for b in data)


class Pn532Uart(UartDevice):
    """An emulated PN532 wired to a UART (115200 8N1 after reset)."""

    def __init__(self, field=None, faults=None, model=None, link="pn532"):
        super().__init__()
        faults = faults or ChipFaults()
        self.model = model  # a WireTiming: bytes take their time on the HSU line (and the air)
        self.link = link
        if model is not None and not model.has(link):
            model.add_uart(link, self.baudrate)
        self.core = Pn532Core(field or Field(faults, model=model), faults)
        self.core.emit = self._emit
        self.core.on_baudrate = self._switch_baudrate
        self.faults = faults
        self.field = self.core.field
        self.host_baudrate = None  # unknown: assume the board matches
        self._parser = FrameParser()

    # -- host -> chip ------------------------------------------------------------------------
    def on_host_baudrate(self, baudrate):
        self.host_baudrate = baudrate

    def _mismatched(self):
        return self.host_baudrate is not None and self.host_baudrate != self.baudrate

    def on_receive(self, data):
        if self.model is not None:
            self.model.pace(self.link, len(data), "rx")
        if self._mismatched():
            data = garble(data, self.host_baudrate, self.baudrate)
        for event in self._parser.feed(data):
            self._event(event[:-1], event[-1])

    def _event(self, event, leading):
        if self.core.asleep:
            if event[0] != "frame" or not self.core.wakes_on(WAKE_HSU):
                return     # PowerDown without HSU in WakeUpEnable: the line does not wake it
            if leading < WAKE_BYTES:
                self.core.asleep = False  # these bytes woke it; the frame itself is lost
                return
        if event[0] == "frame":
            nack, _ = self.faults.take("chip_nack")
            if nack:
                self._put(NACK)
                return
        self.core.host_event(event)

    # -- chip -> host ------------------------------------------------------------------------
    def _emit(self, kind, frame):
        if kind == "ack":
            lost, _ = self.faults.take("lost_ack")
            if lost:
                return
            frame = ACK
        self._put(frame)

    def _put(self, frame):
        noisy, noise = self.faults.take("garbage")
        out = (noise if noisy else b"") + frame
        if self._mismatched():
            out = garble(out, self.baudrate, self.host_baudrate)
        if self.model is not None:
            self.model.pace(self.link, len(out), "tx")
        self.send(out)

    def _switch_baudrate(self, baudrate):
        self.baudrate = baudrate
        if self.model is not None:
            self.model.set_baud(self.link, baudrate)
