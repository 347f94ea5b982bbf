"""The board's side of an emulated UART device, for host tests: collects what the device
sends; every read has a timeout."""

import threading
import time


class Wire:
    def __init__(self, device):
        self.buf = bytearray()
        self.cond = threading.Condition()
        device.connect(self._sink)

    def _sink(self, data):
        with self.cond:
            self.buf += data
            self.cond.notify_all()

    def wait(self, n, timeout):
        """True once `n` bytes are there, False after `timeout` seconds."""
        with self.cond:
            return self.cond.wait_for(lambda: len(self.buf) >= n, timeout)

    def read(self, n, timeout=1.0):
        """`n` bytes, or what came within `timeout`."""
        with self.cond:
            self.cond.wait_for(lambda: len(self.buf) >= n, timeout)
            out, self.buf[:] = bytes(self.buf[:n]), self.buf[n:]
            return out

    def read_all(self, settle=0.0):
        """Everything received so far, after waiting `settle` seconds."""
        time.sleep(settle)
        with self.cond:
            out, self.buf[:] = bytes(self.buf), b""
            return out
