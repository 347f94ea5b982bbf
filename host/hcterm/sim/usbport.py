"""The virtual reader's USB port: the firmware's stdio on one pty, the client's on another.

A board's USB-CDC port carries the MicroPython REPL and the host link. Here the firmware
process gets the slave of pty A as stdin/stdout/stderr (and as its controlling terminal, so
Ctrl-C from the client interrupts it as on a board), and clients (mpremote, pyserial, the
bridge) open the slave of pty B: `path`, optionally through a symlink. One thread copies
bytes between the two masters, both ways, unchanged; with `baud`, each way at most as fast
as a UART at that rate (10 bits a byte), as a board behind a USB-UART bridge.

`unplug()` pulls the cable: what the firmware writes is lost (as a USB device's writes with
no host attached; kept in `firmware_output` for error messages) and nothing reaches it;
`replug()` plugs it in again, with nothing stale left in the client's side.
"""

import fcntl
import os
import select
import signal
import termios
import threading
import time
import tty

from .ptyserve import release, replace_symlink

OUTPUT_TAIL = 4096  # bytes of the firmware's output kept for error messages
OUTPUT_HEAD = 8192  # and its first bytes: the boot (the SELFTEST line, or why it failed)


class UsbPort:
    def __init__(self, link=None, baud=None):
        self.firmware_master, self.firmware_slave = os.openpty()
        self.client_master, self._client_slave = os.openpty()
        # Firmware side: raw bytes, except that Ctrl-C (0x03) interrupts running code, as on a
        # board (the unix REPL restores this mode while code runs). No other byte is a
        # signal: suspend and quit characters are disabled.
        tty.setraw(self.firmware_slave)
        attrs = termios.tcgetattr(self.firmware_slave)
        attrs[3] |= termios.ISIG
        attrs[6][termios.VSUSP] = attrs[6][termios.VQUIT] = b"\0"
        termios.tcsetattr(self.firmware_slave, termios.TCSANOW, attrs)
        # Client side: only a wire.
        tty.setraw(self._client_slave)
        self.path = os.ttyname(self._client_slave)
        self.link = link
        if link:
            replace_symlink(self.path, link)
        self.to_client = 0
        self.baud = baud
        self.to_firmware = 0
        self.plugged = True
        # the last bytes the firmware wrote (a traceback, a MemoryError): for error messages
        self.firmware_output = bytearray()
        self.firmware_head = bytearray()
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._pump, name="usbport", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def child_setup(self):
        """For subprocess.Popen(preexec_fn=…): make pty A the firmware's controlling tty."""
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        # a Ctrl-C before MicroPython sets its own handler must not kill the process (a
        # board never dies of one): ignored until then, as a board's does before USB is up
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _pump(self):
        pending = {self.firmware_master: b"", self.client_master: b""}
        other = {self.firmware_master: self.client_master,
                 self.client_master: self.firmware_master}
        # pacing: each way's line is busy until ready[fd]; a write is at most `burst` bytes
        ready = dict.fromkeys(pending, 0.0)
        byte_s = 10 / self.baud if self.baud else 0.0
        burst = max(1, int(0.004 / byte_s)) if byte_s else 4096
        while True:
            now = time.monotonic()
            readers = [fd for fd in other if not pending[other[fd]]] + [self._stop_r]
            writers = [fd for fd, data in pending.items() if data and ready[fd] <= now]
            waits = [ready[fd] - now for fd, data in pending.items() if data and fd not in writers]
            readable, writable, _ = select.select(readers, writers, [],
                                                  min(waits + [0.5]))
            if self._stop_r in readable:
                return
            for fd in readable:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue  # EIO: the other end of that pty is closed for now
                if data:
                    if self.plugged:
                        pending[other[fd]] += data
                    if fd == self.firmware_master:
                        self.firmware_output += data
                        del self.firmware_output[:-OUTPUT_TAIL]
                        if len(self.firmware_head) < OUTPUT_HEAD:
                            self.firmware_head += data[:OUTPUT_HEAD - len(self.firmware_head)]
            for fd in writable:
                try:
                    n = os.write(fd, pending[fd][:burst])
                except OSError:
                    n = len(pending[fd])  # nobody there: the bytes are lost, as on a wire
                if byte_s:
                    ready[fd] = max(ready[fd], time.monotonic() - 0.002) + n * byte_s
                if fd == self.client_master:
                    self.to_client += n
                else:
                    self.to_firmware += n
                pending[fd] = pending[fd][n:]

    def unplug(self):
        self.plugged = False

    def replug(self):
        termios.tcflush(self._client_slave, termios.TCIFLUSH)   # nothing stale for the host
        self.plugged = True

    def close(self):
        os.write(self._stop_w, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        release(self.link, self.firmware_master, self.firmware_slave, self.client_master,
                self._client_slave, self._stop_r, self._stop_w)
