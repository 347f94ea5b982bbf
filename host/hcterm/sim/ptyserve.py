"""Serve an emulated UART device on a pseudo-terminal, for real clients (libnfc, nfcpy).

The client opens the pty's slave path (or a symlink to it) like a serial port; bytes it
writes reach `device.on_receive`, bytes the device sends appear on the client's RX. The
slave is put in raw mode; line settings the client makes (baud rate) are not modelled here.
"""

import os
import select
import threading
import tty


class PtyPort:
    """A pty whose master side is wired to a UartDevice, pumped by one thread."""

    def __init__(self, device, link=None):
        self.device = device
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.link = link
        if link:
            replace_symlink(self.path, link)
        self._stop_r, self._stop_w = os.pipe()
        self._write_lock = threading.Lock()
        device.connect(self._to_client)
        self._thread = threading.Thread(target=self._pump, name=f"pty:{self.path}", daemon=True)
        self._thread.start()

    def _to_client(self, data):
        with self._write_lock:
            view = memoryview(data)
            while view:
                try:
                    n = os.write(self.master, view)
                except BlockingIOError:
                    select.select([], [self.master], [], 0.05)
                    continue
                except OSError:
                    return  # port closed: bytes on a dead line are lost, as on a real wire
                view = view[n:]

    def _pump(self):
        while True:
            ready, _, _ = select.select([self.master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(self.master, 4096)
            except OSError:
                # EIO: no client has the slave open right now; wait for one to come back.
                select.select([self._stop_r], [], [], 0.05)
                continue
            if data:
                self.device.on_receive(data)

    def close(self):
        self.device.connect(None)
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=2)
        release(self.link, self.master, self._slave, self._stop_r, self._stop_w)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def release(link, *fds):
    """Close a pty's descriptors (quietly: some may be closed already) and remove its link."""
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
    if link and os.path.islink(link):
        os.unlink(link)


def replace_symlink(target, link):
    """Point `link` at `target` atomically (an old link is replaced, never left dangling)."""
    tmp = f"{link}.tmp{os.getpid()}"
    os.symlink(target, tmp)
    os.replace(tmp, link)
