"""A real Mosquitto broker for the fleet's tests (Debian package `mosquitto`), on a free
loopback port, with docs/fleet/mosquitto.conf and its ACL and a password file made with
mosquitto_passwd. Started and stopped by the test; restartable on the same port and
persistence folder."""

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "fleet"
USERS = {"platform": "platform-secret", "h-4101-0001": "secret-0001",
         "h-4101-0002": "secret-0002"}
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require():
    if not Path(MOSQUITTO).exists() or not shutil.which("mosquitto_passwd"):
        pytest.fail("mosquitto is not installed: ./dev.sh test installs it "
                    "(apt-get install mosquitto)")


class Mosquitto:
    def __init__(self, workdir, users=USERS, extra=""):
        require()
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        conf = (DOCS / "mosquitto.conf").read_text()
        conf = conf.replace("@PORT@", str(self.port)).replace("@DIR@", str(self.dir))
        self.conf = self.dir / "mosquitto.conf"
        # run as the test's user (as root Mosquitto would switch to user mosquitto, who
        # cannot read the test's folder)
        self.conf.write_text(conf + f"user {getpass.getuser()}\n" + extra)
        shutil.copy(DOCS / "acl", self.dir / "acl")
        passwords = self.dir / "passwords"
        passwords.write_text("")
        for user, password in users.items():
            subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password],
                           check=True, capture_output=True)
            (self.dir / f"{user}.pass").write_text(password + "\n")
            (self.dir / f"{user}.pass").chmod(0o600)
        self.proc = None

    def password_file(self, user):
        return str(self.dir / f"{user}.pass")

    def start(self, timeout=10):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited: " + self.proc.stderr.read().decode()
                                   + self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port}: {self.log()}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()         # SIGTERM: it saves its persistence file
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self):
        path = self.dir / "mosquitto.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
