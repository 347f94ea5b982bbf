"""Fuzzing the host link: streams of random, mutated and garbage frames for both decoders
(CPython here, MicroPython through the firmware's own module), and `PortProxy`, a TCP
bridge to a reader's port that can add noise and be unplugged (tests, `hcterm bench`).
"""

import hashlib
import json
import os
import random
import select
import socket
import subprocess
import threading
import time

import serial

from reader import hostlink

from ..mpy import FIRMWARE_DIR, micropython_binary

MUTATIONS = ("flip", "truncate", "insert", "delete", "garbage", "duplicate")


def fuzz_stream(frames, seed=1, max_payload=64, mutate=0.3):
    """A byte stream of `frames` frames, some mutated or preceded by garbage. Returns
    (stream, expected): the good frames a decoder must deliver, in order."""
    rng = random.Random(seed)
    kinds = list(hostlink.KINDS)
    out = bytearray()
    expected = []
    for _ in range(frames):
        kind, seq, msg = rng.choice(kinds), rng.randrange(256), rng.randrange(256)
        payload = rng.randbytes(rng.randrange(max_payload + 1))
        frame = bytearray(hostlink.encode(kind, seq, msg, payload))
        if rng.random() >= mutate:
            out += frame
            expected.append((kind, seq, msg, payload))
            continue
        how = rng.choice(MUTATIONS)
        if how == "flip":  # 1-3 distinct bits, never the two SYNCs
            for bit in rng.sample(range(8, 8 * (len(frame) - 1)), rng.randrange(1, 4)):
                frame[bit >> 3] ^= 1 << (bit & 7)
        elif how == "truncate":
            frame = frame[:rng.randrange(1, len(frame) - 1)]
        elif how == "insert":
            at = rng.randrange(1, len(frame) - 1)
            frame[at:at] = bytes((rng.randrange(256),))
        elif how == "delete":
            del frame[rng.randrange(1, len(frame) - 1)]
        elif how == "garbage":
            frame = bytearray(rng.randbytes(rng.randrange(1, 80))) + frame
            expected.append((kind, seq, msg, payload))
        elif how == "duplicate":
            frame = frame + frame
            expected += [(kind, seq, msg, payload)] * 2
        out += frame
    return bytes(out), expected


def digest(frames):
    h = hashlib.sha256()
    for kind, seq, msg, payload in frames:
        h.update(bytes((kind, seq, msg)) + len(payload).to_bytes(2, "big") + payload)
    return h.hexdigest()


def decode_in_chunks(stream, seed=2):
    """CPython decoder, fed in random chunk sizes: (frames, counters, seconds)."""
    rng = random.Random(seed)
    dec = hostlink.Decoder()
    got = []
    start = time.perf_counter()
    at = 0
    while at < len(stream):
        n = rng.randrange(1, 300)
        got += dec.feed(stream[at:at + n])
        at += n
    return got, dec.counters(), time.perf_counter() - start


_MP_DECODE = """
import sys, hashlib, time
from reader import hostlink
dec = hostlink.Decoder()
h = hashlib.sha256()
buf = bytearray(4096)
n_frames = 0
t = time.ticks_ms()
with open(sys.argv[1], 'rb') as f:
    while True:
        n = f.readinto(buf)
        if not n:
            break
        for i in range(n):
            if dec.feed_byte(buf[i]):
                p = dec.payload
                h.update(bytes((dec.kind, dec.seq, dec.msg, len(p) >> 8, len(p) & 255)))
                h.update(p)
                n_frames += 1
print(n_frames, ''.join('%02x' % b for b in h.digest()), time.ticks_diff(time.ticks_ms(), t))
"""


def decode_on_micropython(stream, workdir, heapsize="128k"):
    """The firmware's decoder under MicroPython: (frames, sha256 of them, seconds)."""
    path = os.path.join(workdir, "fuzz.bin")
    with open(path, "wb") as f:
        f.write(stream)
    env = dict(os.environ, MICROPYPATH=str(FIRMWARE_DIR))
    proc = subprocess.run([micropython_binary(), "-X", f"heapsize={heapsize}", "-c",
                           _MP_DECODE, path], capture_output=True, text=True, env=env,
                          timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"micropython decoder crashed: {proc.stdout}{proc.stderr}")
    count, sha, ms = proc.stdout.split()
    return int(count), sha, int(ms) / 1000


class PortProxy:
    """`socket://127.0.0.1:PORT` in front of a reader's serial port. `noise(data, to_reader)`
    may change bytes in flight; `unplug()` drops the client and refuses new ones until
    `replug()`, as a USB cable pulled out and put back."""

    def __init__(self, port, noise=None):
        self.port = str(port)
        self.noise = noise
        self._listener = None
        self._client = None
        self._ser = serial.serial_for_url(self.port, 115200, timeout=0)
        self._stop = threading.Event()
        self._plugged = threading.Event()
        self.address = None
        self.replug()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    @property
    def url(self):
        return f"socket://127.0.0.1:{self.address[1]}"

    def replug(self):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.address[1] if self.address else 0))
        sock.listen(1)
        self.address = sock.getsockname()
        self._listener = sock
        self._plugged.set()

    def unplug(self):
        self._plugged.clear()
        for sock in (self._client, self._listener):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        self._client = self._listener = None

    def _pump(self):
        while not self._stop.is_set():
            listener, client = self._listener, self._client
            fds = [self._ser.fileno()] + [s for s in (listener, client) if s is not None]
            try:
                ready, _, _ = select.select(fds, [], [], 0.05)
            except (OSError, ValueError):
                continue
            try:
                if listener is not None and listener in ready:
                    self._client, _ = listener.accept()
                if client is not None and client in ready:
                    data = client.recv(4096)
                    if not data:
                        self._client = None
                        continue
                    self._ser.write(self._noisy(data, True))
                if self._ser.fileno() in ready:
                    data = self._ser.read(4096)
                    if data and self._client is not None and self._plugged.is_set():
                        self._client.sendall(self._noisy(data, False))
            except OSError:
                self._client = None if self._client is client else self._client

    def _noisy(self, data, to_reader):
        return self.noise(data, to_reader) if self.noise else data

    def close(self):
        self._stop.set()
        self.unplug()
        self._thread.join(timeout=2)
        self._ser.close()


class LineNoise:
    """Noise on a line, never a Ctrl-C: flips bits, drops and adds bytes at `rate` per
    chunk (a 03 that noise would create is sent as 00: a real reader's port would take
    it as an interrupt, which is the REPL's business, not the protocol's)."""

    def __init__(self, rate=0.05, seed=3):
        self.rate = rate
        self.rng = random.Random(seed)
        self.events = 0

    def __call__(self, data, to_reader):
        rng = self.rng
        if rng.random() >= self.rate:
            return data
        self.events += 1
        data = bytearray(data)
        how = rng.choice(("flip", "drop", "add"))
        at = rng.randrange(len(data))
        if how == "flip":
            data[at] ^= 1 << rng.randrange(8)
        elif how == "drop":
            del data[at]
        else:
            data[at:at] = rng.randbytes(rng.randrange(1, 8))
        return bytes(b if b not in (0x03, 0x04) else 0 for b in data) if to_reader \
            else bytes(data)


def report_json(result):
    return json.dumps(result, sort_keys=True)
