"""What an emulated device plugs into: the contract between the sim bus and the emulators.

The sim bus (hcterm.sim.bus, the layer above the emulator, which imports these classes from
here) carries bytes between the firmware's board objects and these devices. An emulator
subclasses one of the classes below and overrides the `on_*` hooks; it never touches sockets
or ptys itself, so the same device serves a sim board's socket, a pty for libnfc, or a test
calling the hooks directly.

All hooks are called from one bus thread per device; a device that needs time (card
processing, pacing) may block in its hook, or keep state and answer later via `send()`.
"""

import threading


class Device:
    """Base of every emulated device: named GPIO lines shared with the board."""

    def __init__(self):
        self._line_listeners = []
        self.lines = {}

    # -- lines (reset, IRQ, ready...): set by either side, watched by the other --------------
    def set_line(self, name, value):
        """Drive an output line of the device (e.g. the PN532 IRQ pin) towards the board."""
        self.lines[name] = int(value)
        for listener in list(self._line_listeners):
            listener(name, int(value))

    def watch_lines(self, listener):
        self._line_listeners.append(listener)

    def on_line(self, name, value):
        """The board drove one of the device's input lines (e.g. RSTPDN, SAM RST)."""


class UartDevice(Device):
    """A device on a UART. `send()` delivers bytes to the firmware's RX."""

    default_baudrate = 115200

    def __init__(self):
        super().__init__()
        self.baudrate = self.default_baudrate
        self._sink = None
        self._lock = threading.Lock()

    def connect(self, sink):
        """Called by the bus: `sink(bytes)` delivers bytes to the other end (or None)."""
        self._sink = sink

    def send(self, data):
        with self._lock:
            sink = self._sink
        if sink is not None and data:
            sink(bytes(data))

    def on_receive(self, data):
        """Bytes the firmware wrote on its TX line, in order, possibly split anywhere."""

    def on_host_baudrate(self, baudrate):
        """The board re-initialised its UART at `baudrate` (a device may check the match)."""


class SpiDevice(Device):
    """A device on an SPI bus with its own chip select."""

    def on_select(self, selected):
        """Chip select asserted (True) or released (False)."""

    def transfer(self, data):
        """Full-duplex exchange while selected: return exactly len(data) bytes."""
        return bytes(len(data))


class I2cDevice(Device):
    """A device on an I2C bus at its 7-bit `address`. The bus calls `on_write` for a write
    transaction addressed to it (START, address+W, data, STOP) and `on_read` for a read; a
    transaction to an address no device answers is not acknowledged (the bus's doing)."""

    address = 0x00

    def on_write(self, data):
        """The data bytes of one write transaction; return how many the device acknowledged
        (a device NAKs a byte it refuses, and the master stops there)."""
        return len(data)

    def on_read(self, count):
        """`count` bytes for a read transaction, or None: the address is not acknowledged
        for reading."""
        return None
