# Sim board HAL: machine-like UART and Pin objects wired to the emulator process (SPI:
# simspi.py, imported by the SPI boards only).
#
# The virtual reader runs the firmware in the MicroPython unix port; this module is the only
# place where it reaches the emulated hardware (boards/ are the only code that touches
# hardware). Transports are AF_UNIX stream sockets in the directory $HCTERM_SIM_DIR, served
# by the CPython side (hcterm.sim.bus); docs/sim-bus.md specifies the bytes:
#   uart-<name>.sock   raw bytes both ways (the UART's TX and RX lines)
#   spi-<name>.sock    'C' level (chip select), 'X' len16 data -> len16 bytes back
#   control.sock       one JSON object per line, request -> one JSON line reply
#                      (GPIO lines, UART baud changes, feedback records; ADC inputs:
#                      simadc.py, imported by the boards with one)
import io
import json
import os
import select
import socket
import struct
import time

from micropython import const

_POLLIN = const(1)
_MP_STREAM_POLL = const(3)
_MP_STREAM_GET_FILENO = const(10)
_MP_STREAM_POLL_RD = const(1)
_MP_STREAM_POLL_WR = const(4)
_RX_SIZE = const(256)  # a port's UART ring buffer is typically 256 B; the socket holds more


def sim_dir():
    path = os.getenv("HCTERM_SIM_DIR")
    if not path:
        raise OSError("HCTERM_SIM_DIR is not set: start the firmware with `hcterm sim`")
    return path


def _connect(name):
    path = sim_dir() + "/" + name
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # MicroPython wants a raw sockaddr_un (a str address gives EINVAL on the unix port).
        sock.connect(struct.pack("H", socket.AF_UNIX) + path.encode() + b"\0")
    except OSError as error:
        sock.close()
        raise OSError("sim bus: cannot connect to %s (%s); is the emulator running?"
                      % (path, error)) from None
    return sock


def _write_all(sock, buf):
    view = memoryview(buf)
    while view:
        n = sock.write(view)
        if n is None:  # non-blocking socket full: wait until it drains
            select.select([], [sock], [], 1)
            continue
        view = view[n:]


class _Control:
    """The control channel, shared by every object of the board (one socket)."""

    _sock = None

    @classmethod
    def request(cls, message):
        if cls._sock is None:
            cls._sock = _connect("control.sock")
        try:
            _write_all(cls._sock, json.dumps(message).encode() + b"\n")
            line = cls._sock.readline()
        except BaseException:
            # a Ctrl-C between a request and its reply: that reply would answer the next
            # request; a fresh connection starts clean
            cls._sock.close()
            cls._sock = None
            raise
        if not line:
            raise OSError("sim bus: control channel closed by the emulator")
        reply = json.loads(line)
        if "error" in reply:
            raise OSError("sim bus: " + reply["error"])
        return reply


class UART(io.IOBase):
    """A UART like machine.UART: read/readinto wait `timeout` ms for the first byte and
    `timeout_char` ms between bytes; read returns None when nothing arrived."""

    def __init__(self, name, baudrate=115200, timeout=0, timeout_char=2, rxbuf=_RX_SIZE):
        self.name = name
        self._sock = _connect("uart-%s.sock" % name)
        self._sock.setblocking(False)
        self._poll = select.poll()
        self._poll.register(self._sock, _POLLIN)
        self._rx = bytearray(rxbuf)
        self._rxv = memoryview(self._rx)
        self._head = 0  # next byte to hand out
        self._tail = 0  # end of valid bytes
        self.baudrate = 0
        self.timeout = timeout
        self.timeout_char = timeout_char
        self.init(baudrate)

    def init(self, baudrate=None, timeout=None, timeout_char=None, **_ignored):
        if timeout is not None:
            self.timeout = timeout
        if timeout_char is not None:
            self.timeout_char = timeout_char
        if baudrate and baudrate != self.baudrate:
            self.baudrate = baudrate
            _Control.request({"op": "baud", "uart": self.name, "baud": baudrate})

    def deinit(self):
        self._sock.close()

    def _fill(self, wait_ms):
        """Move what the socket holds into the rx buffer, waiting up to wait_ms for it."""
        if self._head == self._tail:
            self._head = self._tail = 0
        elif self._tail == len(self._rx):
            # compact: keep the unread bytes at the start
            n = self._tail - self._head
            self._rx[:n] = self._rxv[self._head:self._tail]
            self._head, self._tail = 0, n
        if self._tail == len(self._rx):
            return
        if not self._poll.poll(wait_ms):
            return
        n = self._sock.readinto(self._rxv[self._tail:])
        if n == 0:
            raise OSError("sim bus: UART %s closed by the emulator" % self.name)
        if n:
            self._tail += n

    def any(self):
        self._fill(0)
        return self._tail - self._head

    def readinto(self, buf, nbytes=None):
        want = len(buf) if nbytes is None else nbytes
        got = 0
        wait = self.timeout
        deadline = time.ticks_add(time.ticks_ms(), wait)
        while got < want:
            if self._head == self._tail:
                remaining = time.ticks_diff(deadline, time.ticks_ms())
                if remaining < 0:
                    break
                self._fill(remaining)
                if self._head == self._tail:
                    if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                        break
                    continue
            n = min(want - got, self._tail - self._head)
            buf[got:got + n] = self._rxv[self._head:self._head + n]
            self._head += n
            got += n
            deadline = time.ticks_add(time.ticks_ms(), self.timeout_char)
        return got or None

    def read(self, nbytes=-1):
        if nbytes is None or nbytes < 0:
            self._fill(self.timeout)
            nbytes = self._tail - self._head
            if not nbytes:
                return None
        buf = bytearray(nbytes)
        got = self.readinto(buf)
        if not got:
            return None
        return bytes(buf) if got == nbytes else bytes(buf[:got])

    def write(self, buf):
        _write_all(self._sock, buf)
        return len(buf)

    def flush(self):
        pass

    def ioctl(self, request, arg):
        # Lets select.poll and asyncio.StreamReader wait on this UART without busy-looping.
        if request == _MP_STREAM_POLL:
            ready = 0
            if arg & _MP_STREAM_POLL_RD and self.any():
                ready |= _MP_STREAM_POLL_RD
            if arg & _MP_STREAM_POLL_WR:
                ready |= _MP_STREAM_POLL_WR
            return ready
        if request == _MP_STREAM_GET_FILENO:
            return -1  # no single fd: data may already sit in the rx buffer
        return 0


class Pin:
    """A GPIO line on the control channel. Output lines named `device.line` reach that
    device (e.g. `pn532.rst`); other outputs (led, beeper) are recorded by the sim; input
    lines read what the device drives (e.g. `pn532.irq`)."""

    IN = const(0)
    OUT = const(1)
    def __init__(self, name, mode=1, value=None):
        self.name = name
        self.mode = mode
        self._value = 0
        if value is not None:
            self.value(value)

    def value(self, level=None):
        if level is None:
            if self.mode == Pin.OUT:
                return self._value
            return _Control.request({"op": "pin?", "name": self.name})["value"]
        self._value = 1 if level else 0
        _Control.request({"op": "pin", "name": self.name, "value": self._value})

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    __call__ = value


def record(kind, **fields):
    """Tell the sim about something a person would see or hear (LED colour, beep, display
    text); the sim logs it with a timestamp so tests can check the reader's feedback."""
    fields["op"] = "record"
    fields["kind"] = kind
    _Control.request(fields)


def unique_id():
    """The board's unique id, as machine.unique_id() gives it on a board: the bytes the
    virtual reader keeps beside its flash image (made once per image, the same every boot),
    handed over in $HCTERM_UNIQUE_ID as hex."""
    import binascii

    return binascii.unhexlify(os.getenv("HCTERM_UNIQUE_ID") or "")


# The watchdog's timeout the firmware starts it with (board contract WATCHDOG_MS); the virtual
# reader may ask for another ($HCTERM_WATCHDOG_MS, e.g. a short one in a test).
WATCHDOG_MS = int(os.getenv("HCTERM_WATCHDOG_MS") or 8000)


def watchdog(timeout_ms):
    """machine.WDT on the sim, started: the virtual reader kills and restarts a firmware
    that has not fed it for `timeout_ms`, as a board's WDT resets the chip (docs/sim-bus.md).
    The object handed out is this module (its feed() and idle()): no class kept in RAM."""
    import sys

    _Control.request({"op": "watchdog", "timeout_ms": timeout_ms})
    return sys.modules[__name__]


def feed():
    _Control.request({"op": "watchdog", "feed": 1})


def idle():
    """The REPL has the port: no resets until the next feed() (a board's timer feeds)."""
    _Control.request({"op": "watchdog", "idle": 1})


def reset_cause():
    """Why the firmware last started, as the virtual reader says: "power-on", "reset"
    (machine.reset()) or "watchdog"."""
    return os.getenv("HCTERM_RESET_CAUSE") or "power-on"
