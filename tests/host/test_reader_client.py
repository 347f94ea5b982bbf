"""hcterm.Reader against a scripted reader on a loopback socket (ACK, retry, duplicates,
errors, timeouts, event stream), with exact frames."""

import socket
import threading
import time

import pytest

from hcterm.link import DeviceError, LinkTimeout, NotConnected, NotSupported, Reader
from reader import hostlink as H

INFO = {"firmware": "0.1.0", "board": "scripted"}


class ScriptedReader:
    """A TCP peer speaking the link; `script(peer, frame)` decides what to answer."""

    def __init__(self, script):
        self.script = script
        self.received = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.url = "socket://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.conn = None
        self.seq = 0x10
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.conn, _ = self.listener.accept()
        dec = H.Decoder()
        while True:
            try:
                data = self.conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            for frame in dec.feed(data):
                self.received.append(frame)
                self.script(self, frame)

    def send(self, kind, seq, msg, body):
        self.conn.sendall(H.encode(kind, seq, msg, H.pack(body)))

    def ack(self, frame):
        self.conn.sendall(H.encode(H.ACK, frame[1], frame[2]))

    def close(self):
        for s in (self.conn, self.listener):
            if s:
                s.close()


def answer_everything(peer, frame):
    kind, seq, msg, payload = frame
    if kind != H.REQUEST:
        return
    peer.ack(frame)
    if msg in (H.HELLO, H.INFO):
        peer.send(H.RESPONSE, seq, msg, INFO)
    elif msg == H.READ:
        peer.send(H.ERROR, seq, msg, {"code": 3, "message": "not supported yet: issue 6"})
    elif msg == H.APDU:
        peer.send(H.ERROR, seq, msg, {"code": 4, "name": "no-card", "message": "no card"})
    elif msg == H.CONFIG_GET:
        peer.send(H.RESPONSE, seq, msg, {"terminal_id": "A"})


def wait_for(condition, timeout=2):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def peer_factory():
    peers = []

    def make(script):
        peers.append(ScriptedReader(script))
        return peers[-1]

    yield make
    for p in peers:
        p.close()


def test_hello_info_and_the_frames_on_the_wire(peer_factory):
    peer = peer_factory(answer_everything)
    with Reader(peer.url, timeout=2) as reader:
        assert reader.device == INFO
        assert reader.info() == INFO
        hello, info = [f for f in peer.received if f[0] == H.REQUEST]
        assert hello[2] == H.HELLO and set(H.unpack(hello[3])) == {"session"}
        assert info == (H.REQUEST, (hello[1] + 1) & 0xFF, H.INFO, b"{}")
        wait_for(lambda: len([f for f in peer.received if f[0] == H.ACK]) == 2)
        acks = [f for f in peer.received if f[0] == H.ACK]
        assert acks == [(H.ACK, hello[1], H.HELLO, b""), (H.ACK, info[1], H.INFO, b"")]


def test_lost_ack_means_the_request_again_then_one_answer(peer_factory):
    seen = {}

    def forgetful(peer, frame):
        if frame[0] == H.REQUEST and frame[2] == H.CONFIG_GET:
            seen[frame[1]] = seen.get(frame[1], 0) + 1
            if seen[frame[1]] == 1:
                return  # "lost": no ACK, no answer
        answer_everything(peer, frame)

    peer = peer_factory(forgetful)
    with Reader(peer.url, timeout=2, ack_timeout=0.05) as reader:
        assert reader.config() == {"terminal_id": "A"}
        assert reader.stats["retransmits"] == 1
    gets = [f for f in peer.received if f[0] == H.REQUEST and f[2] == H.CONFIG_GET]
    assert len(gets) == 2 and gets[0] == gets[1]  # the same bytes again


def test_a_parked_answer_comes_after_the_hosts_poke(peer_factory):
    # the reader parks an answer whose tries all went unacknowledged until the host sends any
    # good frame; a host waiting for that answer sends one (an ACK of message FF) each second
    parked = []

    def parking(peer, frame):
        kind, seq, msg, payload = frame
        if kind == H.REQUEST and msg == H.CONFIG_GET:
            peer.ack(frame)
            parked.append(seq)                 # the answer is "parked": nothing sent
        elif kind == H.ACK and msg == 0xFF and parked:
            peer.send(H.RESPONSE, parked.pop(), H.CONFIG_GET, {"terminal_id": "P"})
        else:
            answer_everything(peer, frame)

    peer = peer_factory(parking)
    with Reader(peer.url, timeout=5) as reader:
        start = time.monotonic()
        assert reader.config() == {"terminal_id": "P"}
        assert 0.9 < time.monotonic() - start < 3
    pokes = [f for f in peer.received if f[0] == H.ACK and f[2] == 0xFF]
    assert pokes and pokes[0][1] == 0, pokes


def test_a_repeated_answer_or_event_is_delivered_once(peer_factory):
    def twice(peer, frame):
        if frame[0] == H.REQUEST:
            peer.ack(frame)
            # each frame again as if its ACK was lost (the reader waits for each ACK)
            peer.send(H.EVENT, 0x33, H.EV_QR, {"text": "abc"})
            peer.send(H.EVENT, 0x33, H.EV_QR, {"text": "abc"})
            peer.send(H.RESPONSE, frame[1], frame[2], INFO)
            peer.send(H.RESPONSE, frame[1], frame[2], INFO)

    peer = peer_factory(twice)
    with Reader(peer.url, timeout=2) as reader:
        assert reader.next_event(timeout=2) == {"type": "qr", "text": "abc"}
        with pytest.raises(LinkTimeout, match="no event"):
            reader.next_event(timeout=0.3)
        assert reader.stats["duplicates"] >= 2


def test_errors_map_to_the_error_family(peer_factory):
    peer = peer_factory(answer_everything)
    with Reader(peer.url, timeout=2) as reader:
        with pytest.raises(NotSupported, match="not supported yet: issue 6"):
            reader.iR_DDF1EF06Info()
        with pytest.raises(DeviceError) as error:
            reader.SendAPDU(0x01, "0084000008")
        assert (error.value.code, error.value.name) == (4, "no-card")
        assert not isinstance(error.value, NotSupported)


def test_silence_is_a_link_timeout_and_a_missing_port_is_not_connected(peer_factory):
    peer = peer_factory(lambda peer, frame: None)
    start = time.monotonic()
    with pytest.raises(LinkTimeout, match="did not acknowledge hello after 3 tries"):
        Reader(peer.url, ack_timeout=0.05, retries=3, open_timeout=0)
    assert time.monotonic() - start < 2
    with pytest.raises(NotConnected, match="cannot open the reader's port /nonexistent/tty"):
        Reader("/nonexistent/tty")
    assert issubclass(LinkTimeout, Exception) and LinkTimeout is not TimeoutError


def test_hcterm_exports_reader():
    import runpy
    from pathlib import Path

    import hcterm

    init = Path(hcterm.__file__)
    assert runpy.run_path(str(init))["Reader"] is Reader
