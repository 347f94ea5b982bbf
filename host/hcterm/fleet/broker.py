"""A local Mosquitto for `hcterm bench fleet` (Debian package `mosquitto`): anonymous, on a free
loopback port, $SYS every second, stopped by the caller."""

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path


class BrokerMissing(RuntimeError):
    pass


class LocalMosquitto:
    def __init__(self, workdir):
        self.binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(self.binary).exists():
            raise BrokerMissing("mosquitto is not installed: apt-get install mosquitto "
                                "(./dev.sh test installs it)")
        self.dir = Path(workdir)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                             "sys_interval 1\nmax_queued_messages 100000\n"
                             "max_inflight_messages 100\npersistence false\n"
                             f"user {getpass.getuser()}\nlog_dest none\n")
        self.proc = None

    def start(self, timeout=10):
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerMissing("mosquitto exited: " + self.proc.stderr.read().decode())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise BrokerMissing(f"mosquitto did not listen on port {self.port}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
