# ruff: noqa: I001 - reader.terminal.link_server is imported before asyncio on purpose
# heapsize: 160k
# firmware: romfs
# The firmware's link server with a scripted port: ACK at once, retry on a lost ACK, parked
# frames sent again when the host returns, duplicates answered once, sequence wrap, and
# the requests of config (persisted) and of messages the firmware cannot do yet.
import os

from reader.terminal.link_server import LinkServer  # first: it makes the frozen asyncio importable

import asyncio  # noqa: E402
from reader import hostlink as H  # noqa: E402


class ScriptedPort:
    """The host's side: bytes to hand the server, and everything it wrote."""

    def __init__(self):
        self.inbox = bytearray()
        self.written = bytearray()
        self.flag = asyncio.Event()

    def send(self, data):
        self.inbox += data
        self.flag.set()

    async def readinto(self, buf):
        while not self.inbox:
            self.flag.clear()
            await self.flag.wait()
        n = min(len(buf), len(self.inbox))
        buf[:n] = self.inbox[:n]
        self.inbox = self.inbox[n:]
        return n

    def write(self, data):
        self.written += data

    def frames(self):
        got = H.Decoder().feed(self.written)
        self.written = bytearray()
        return got


async def echo(msg, payload):
    return H.RESPONSE, {"echo": H.unpack(payload), "msg": msg}


def run(scenario, **options):
    port = ScriptedPort()
    server = LinkServer(port, echo, **options)

    async def main():
        task = asyncio.create_task(server.serve())
        try:
            await scenario(port, server)
        finally:
            server.handoff = True
            task.cancel()

    asyncio.run(main())
    return server


def test_request_is_acked_then_answered_with_its_seq():
    async def scenario(port, server):
        port.send(H.encode(H.REQUEST, 0x41, H.INFO, b'{"a":1}'))
        await asyncio.sleep_ms(30)
        ack, resp = port.frames()
        assert ack == (H.ACK, 0x41, H.INFO, b"")
        assert resp == (H.RESPONSE, 0x41, H.INFO, b'{"echo":{"a":1},"msg":1}') or \
            resp == (H.RESPONSE, 0x41, H.INFO, b'{"msg":1,"echo":{"a":1}}')
        port.send(H.encode(H.ACK, 0x41, H.INFO))
        await asyncio.sleep_ms(150)
        assert port.frames() == []
    server = run(scenario, ack_ms=100)
    assert server.stats["acked"] == 1 and server.stats["retransmits"] == 0


def test_lost_ack_means_the_same_bytes_again_then_parking():
    async def scenario(port, server):
        server.event(H.EV_SELFTEST, {"ok": True})
        await asyncio.sleep_ms(5)
        first = port.frames()
        assert first == [(H.EVENT, 0, H.EV_SELFTEST, b'{"ok":true}')]
        await asyncio.sleep_ms(20 + 40 + 80 + 30)      # tries 2..4 at 20, 40, 80 ms
        again = port.frames()
        assert again == first * 3, again
        await asyncio.sleep_ms(300)                     # parked: silence
        assert port.frames() == []
        assert server.stats["parked"] == 1
        # any good frame from the host brings it back; its ACK ends it
        port.send(H.encode(H.ACK, 0x99, 0x99))
        await asyncio.sleep_ms(5)
        assert port.frames() == first
        port.send(H.encode(H.ACK, 0, H.EV_SELFTEST))
        await asyncio.sleep_ms(100)
        assert port.frames() == [] and server.pending() == 0
    run(scenario, ack_ms=20, tries=4)


def test_retransmitted_request_is_acked_but_handled_once():
    async def scenario(port, server):
        frame = H.encode(H.REQUEST, 7, H.CONFIG_GET, b"{}")
        port.send(frame)
        await asyncio.sleep_ms(10)
        port.send(frame)                                # the host lost our ACK
        await asyncio.sleep_ms(10)
        got = port.frames()
        assert got.count((H.ACK, 7, H.CONFIG_GET, b"")) == 2
        assert len([f for f in got if f[0] == H.RESPONSE]) == 1
        assert server.stats["duplicates"] == 1
    run(scenario, ack_ms=500)


def test_sequence_wraps_from_ff_to_00():
    async def scenario(port, server):
        server._tx_seq = 0xFE
        for n in range(3):
            server.event(H.EV_QR, {"n": n})
        seen = []
        for _ in range(3):
            await asyncio.sleep_ms(10)
            frames = [f for f in port.frames() if f[0] == H.EVENT]
            seen.append(frames[0][1])
            port.send(H.encode(H.ACK, frames[0][1], H.EV_QR))
        assert seen == [0xFE, 0xFF, 0x00], seen
        # requests with SEQ FF then 00 are two requests, not a duplicate
        port.send(H.encode(H.REQUEST, 0xFF, H.INFO, b"{}") + H.encode(H.REQUEST, 0, H.INFO, b"{}"))
        await asyncio.sleep_ms(20)
        acks = [f[1] for f in port.frames() if f[0] == H.ACK]
        assert acks == [0xFF, 0x00]
        assert server.stats["duplicates"] == 0
    run(scenario, ack_ms=200)


def test_outbox_overflow_drops_the_oldest_waiting_frame():
    async def scenario(port, server):
        for n in range(12):
            server.event(H.EV_QR, {"n": n})
        await asyncio.sleep_ms(5)
        assert server.pending() == 8
        assert server.stats["dropped"] == 4
    run(scenario, ack_ms=1000)


def test_session_config_persists_and_unsupported_is_an_error():
    import reader
    from reader.terminal.session import Session

    class Board:
        NAME = "test-board"

    path = os.getenv("MPTEST_TMP") + "/config.json"
    session = Session(Board, {"ok": True}, settings_path=path)

    async def call(msg, body):
        # as reader.main wires the link's dispatch
        return await reader.call("terminal.requests", "serve", session, msg, H.pack(body))

    kind, obj = asyncio.run(call(H.CONFIG_SET, {"terminal_id": "ER-07", "beeper": False}))
    assert kind == H.RESPONSE and obj["terminal_id"] == "ER-07" and obj["beeper"] is False
    again = Session(Board, {"ok": True}, settings_path=path)
    assert again.config["terminal_id"] == "ER-07"
    kind, obj = asyncio.run(call(H.CONFIG_SET, {"read_profile": "everything"}))
    assert kind == H.ERROR and obj["code"] == H.BAD_REQUEST
    assert obj["message"].startswith("read_profile must be one of ")
    kind, obj = asyncio.run(call(H.READ, {"files": ["DDF1/EF06"]}))
    assert (kind, obj["code"]) == (H.ERROR, H.NOT_SUPPORTED)
    assert obj["message"].startswith("card, blacklist and clock requests are served by the "
                                     "terminal flow, which is not running"), obj
    kind, obj = asyncio.run(call(H.POWER_ON, {"slot": "card"}))
    assert (kind, obj["code"]) == (H.ERROR, H.NO_SLOT), obj
    kind, obj = asyncio.run(call(H.FEEDBACK, {"led": {"on": True}}))
    assert (kind, obj["code"]) == (H.ERROR, H.NOT_SUPPORTED), obj
    assert obj["message"] == "board test-board has no LED"
    kind, obj = asyncio.run(call(0x5A, {}))
    assert (kind, obj["code"]) == (H.ERROR, H.UNKNOWN_MESSAGE)
    kind, obj = asyncio.run(reader.call("terminal.requests", "serve", session, H.INFO,
                                              b"[1]"))
    assert (kind, obj["code"]) == (H.ERROR, H.BAD_REQUEST)


def test_every_served_message_has_its_handler():
    # the dispatch finds a handler by the message's name in hostlink's table ("-" -> "_")
    from reader.terminal import device_requests as linkdevice
    from reader.terminal import requests as linkrequests
    from reader.terminal import blacklist_update, pin_entry
    from reader.terminal.card_writes import CardWrites

    for msg in linkrequests._DEVICE:
        name = H.message_name(msg).replace("-", "_")
        if name == "screen":        # boards with a display: reader.terminal.screens.page
            continue
        assert callable(getattr(linkdevice, name, None)), name
    for msg in linkrequests._CARD:
        name = H.message_name(msg).replace("-", "_")
        owner = blacklist_update if name.startswith("blacklist") else CardWrites
        if name == "verify_pin_on_reader":
            owner = pin_entry                       # the keypad's, not the card writes'
        assert callable(getattr(owner, name, None)), name
    assert sorted(linkrequests._DEVICE + linkrequests._CARD) == sorted(
        m for m in H.MESSAGES if m < 0x80)          # every request of the protocol is served


def test_a_session_without_its_self_test_report_says_so():
    from reader.terminal import session as s

    class Board:
        NAME = "test-board"

    s.REPORT_PATH = os.getenv("MPTEST_TMP") + "/no-such-report.json"
    gone = s.Session(Board, None, settings_path=os.getenv("MPTEST_TMP") + "/config.json")
    report = gone.report()
    assert report["ok"] is None and "cannot be read" in report["error"], report
    assert gone.report_ok is None


def test_hostile_payloads_are_refused_on_their_raw_bytes():
    import gc

    gc.collect()                  # what the tests before left (their servers, their loops)
    deep = b'{"files":' + b"[" * 500 + b"]" * 500 + b"}"          # 1 KiB, 500 arrays
    wide = b'{"a":[' + b",".join(b"1" for _ in range(300)) + b"]}"
    tricky = b'{"s":"' + b"[" * 300 + b'\\"' + b"[" * 300 + b'"}'   # brackets in a string
    from reader.terminal import requests

    def serve(payload):
        return asyncio.run(requests.serve(None, H.CONFIG_GET, payload))

    for payload, words in ((deep, "nested deeper than 6"), (wide, "more than 256 values")):
        gc.collect()
        before = gc.mem_alloc()
        kind, body = serve(payload)
        assert kind == H.ERROR and body["code"] == H.BAD_REQUEST, body
        assert words in body["message"] and "payload refused" in body["message"], body
        assert gc.mem_alloc() - before < 2048, gc.mem_alloc() - before   # not ~38 KB
    for payload in (tricky, b'{"a":[[[{"b":[1,2]}]]]}'):   # brackets in a string; 6 levels
        kind, body = serve(payload)
        assert "payload refused" not in body.get("message", ""), body


def test_a_memory_error_answers_its_request_and_the_worker_goes_on():
    calls = []

    async def dispatch(msg, payload):
        calls.append(msg)
        if len(calls) == 1:
            hog = [bytearray(1024) for _ in range(100000)]   # more than the heap
            return H.RESPONSE, {"n": len(hog)}
        return H.RESPONSE, {"ok": 1}

    async def scenario(port, server):
        for seq in (1, 2, 3):
            port.send(H.encode(H.REQUEST, seq, H.INFO, b"{}"))
            await asyncio.sleep_ms(60)
            ack, answer = port.frames()
            port.send(H.encode(H.ACK, seq, H.INFO))
            body = H.unpack(answer[3])
            if seq == 1:
                assert answer[0] == H.ERROR and body["code"] == H.INTERNAL, answer
                assert "reader busy: out of memory" in body["message"], body
            else:
                assert answer[:2] == (H.RESPONSE, seq) and body == {"ok": 1}, answer
    port = ScriptedPort()
    server = LinkServer(port, dispatch, ack_ms=100)

    async def main():
        task = asyncio.create_task(server.serve())
        try:
            await scenario(port, server)
        finally:
            server.handoff = True
            task.cancel()
    asyncio.run(main())


def acking_host(port, frames):
    """The host's side for `ms` milliseconds: take what the reader wrote into `frames`,
    acknowledge its events and answers."""
    async def host(ms):
        for _ in range(ms // 30):
            await asyncio.sleep_ms(30)
            for f in port.frames():
                frames.append(f)
                if f[0] in (H.EVENT, H.RESPONSE, H.ERROR):
                    port.send(H.encode(H.ACK, f[1], f[2]))
    return host


def test_a_task_that_dies_is_started_again_and_the_host_told():
    # the receiver dies of a fault once: it comes back and the host gets an error event; a
    # fault in the dispatch itself is that request's error answer, the worker goes on
    class FaultyPort(ScriptedPort):
        faults = 1

        async def readinto(self, buf):
            if self.faults:
                self.faults -= 1
                raise RuntimeError("UART overrun")
            return await super().readinto(buf)

    calls = []

    async def dispatch(msg, payload):
        calls.append(msg)
        if len(calls) == 1:
            raise ValueError("handler bug")
        return H.RESPONSE, {"ok": True}

    port = FaultyPort()
    server = LinkServer(port, dispatch)
    frames = []
    host = acking_host(port, frames)

    async def main():
        task = asyncio.create_task(server.serve())
        try:
            await host(150)
            port.send(H.encode(H.REQUEST, 1, H.INFO, b"{}"))
            await host(240)
            port.send(H.encode(H.REQUEST, 2, H.INFO, b"{}"))
            await host(240)
        finally:
            server.handoff = True
            task.cancel()

    asyncio.run(main())
    events = [H.unpack(f[3]) for f in frames if f[0] == H.EVENT and f[2] == H.EV_ERROR]
    assert [e["reason"] for e in events] == ["task_restarted"], frames
    assert "receiver stopped (RuntimeError: UART overrun)" in events[0]["message"]
    errors = [H.unpack(f[3]) for f in frames if f[0] == H.ERROR]
    assert len(errors) == 1 and "failed this request (ValueError: handler bug)" in \
        errors[0]["message"], frames
    answers = [f for f in frames if f[0] == H.RESPONSE]
    assert [f[1] for f in answers] == [2], frames
    assert server.stats["restarts"] == 1


def test_each_long_lived_task_killed_in_turn_comes_back_and_the_reader_serves():
    # the receiver, the sender, the request worker and the terminal flow (the real
    # reader.terminal.flow.Terminal, as reader.main runs it) each die of a fault once, one
    # after the other: each is started again, the host is told which, and afterwards a
    # request is answered, an event delivered and the flow polls
    from reader.terminal.flow import Terminal
    from reader.terminal.link_server import supervised
    from reader.terminal import settings

    class FaultyPort(ScriptedPort):
        fail_read = fail_write = False

        async def readinto(self, buf):
            if self.fail_read:
                self.fail_read = False
                raise OSError(5)                                  # the USB port's read fails
            return await super().readinto(buf)

        def write(self, data):
            if self.fail_write:
                self.fail_write = False
                raise OSError(5)                                  # ... its write
            super().write(data)

    class Reader:                                                 # a card reader, no card
        polls = 0

        def poll(self):
            self.polls += 1

        def release(self):
            pass

    class Board:
        NAME = "test"

        @staticmethod
        def reader_chip():
            return None

    class Session:
        opened = 0

        def __init__(self, server):
            self.server = server
            self.board = Board
            self.led = self.beeper = None
            self.config, _ = settings.load(os.getenv("MPTEST_TMP") + "/kill-config.json")
            self.chip_lock = asyncio.Lock()
            self.reader = Reader()
            self.host_channels = {}     # no slot held by the host

        def host_holds(self, slot):
            return False

        def open_card_reader(self):
            self.opened += 1
            if self.opened == 1:
                raise OSError(19)                                 # the chip's bus at open
            return self.reader

    async def dispatch(msg, payload):
        if H.unpack(payload).get("bad"):
            loop = []
            loop.append(loop)
            return H.RESPONSE, {"loop": loop}                     # the worker cannot pack it
        return H.RESPONSE, {"ok": True}

    port = FaultyPort()
    server = LinkServer(port, dispatch)
    session = Session(server)
    terminal = Terminal(session)
    frames = []
    host = acking_host(port, frames)

    async def main():
        flow = asyncio.create_task(supervised(server, terminal.run, "terminal flow"))
        task = asyncio.create_task(server.serve())
        try:
            await host(150)                                       # the flow died at open
            port.fail_read = True
            port.send(H.encode(H.REQUEST, 1, H.INFO, b"{}"))      # the receiver dies
            await host(150)
            port.send(H.encode(H.REQUEST, 2, H.INFO, b'{"bad":1}'))  # the worker dies
            await host(150)
            port.fail_write = True
            server.event(H.EV_QR, {"n": 1})                       # the sender dies
            await host(240)
            port.send(H.encode(H.REQUEST, 3, H.INFO, b"{}"))
            await host(240)
        finally:
            server.handoff = True
            task.cancel()
            flow.cancel()

    asyncio.run(main())
    told = [H.unpack(f[3])["message"] for f in frames if f[0] == H.EVENT and
            f[2] == H.EV_ERROR]
    for name, why in (("terminal flow", "OSError: [Errno 19]"), ("receiver", "OSError: [Errno 5]"),
                      ("request worker", "RuntimeError"), ("sender", "OSError: [Errno 5]")):
        assert any(("%s stopped (%s" % (name, why)) in m for m in told), (name, told)
    assert len(told) == 4 and server.stats["restarts"] == 4, told
    answers = [f[1] for f in frames if f[0] == H.RESPONSE]
    assert 3 in answers, frames                                   # served after it all
    assert [f for f in frames if f[0] == H.EVENT and f[2] == H.EV_QR], frames  # sent again
    assert session.opened == 2 and session.reader.polls > 5       # the flow polls again
