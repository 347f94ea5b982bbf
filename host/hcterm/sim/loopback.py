"""Loopback devices for the sim bus: they prove its UART and SPI transports end to end
(tests/host/test_simbus.py, the firmware's tests/firmware/mptest_simhal.py)."""

from ..emulator.bus_device import SpiDevice, UartDevice


class LoopbackUart(UartDevice):
    """Echoes every byte: proves the UART transport end to end."""

    def on_receive(self, data):
        self.send(data)


class LoopbackSpi(SpiDevice):
    """Answers each byte with its complement, and counts chip-select edges."""

    def __init__(self):
        super().__init__()
        self.selects = 0

    def on_select(self, selected):
        if selected:
            self.selects += 1

    def transfer(self, data):
        return bytes(b ^ 0xFF for b in data)
