# ruff: noqa: I001 - reader.terminal.link_server is imported before asyncio on purpose
# heapsize: 192k
# firmware: romfs
# The link server with the offline tap journal (docs/tap-journal.md) and a scripted host:
# down from boot until the host's first frame, tap and QR events kept on the flash meanwhile
# and delivered in order with their journal fields once it is back (answers first), the
# outbox's taps moved to the journal when a frame is parked, a full journal refusing, and
# the journal's code out of RAM while the host is connected.
import os
import sys

from reader.terminal.link_server import LinkServer  # noqa: F401 - first: it makes the frozen asyncio importable

import asyncio  # noqa: E402
from mptest_hostlink_server import run as run_server  # noqa: E402
from fake_journal_session import DIR, Session, fresh  # noqa: E402
from reader import hostlink as H  # noqa: E402

MODULE = "reader.terminal.journal"
UID = "0102030405060708-"         # fake_journal_session's board's unique id, in journal_id


def flash():
    """A fresh flash (what a reboot forgets: the journal's module is never left in RAM)."""
    assert MODULE not in sys.modules
    fresh()


def new_boot():
    assert MODULE not in sys.modules


def run(scenario, session=None, **options):
    return run_server(scenario, journal=DIR, session=session or Session(), **options)


async def until(condition, ms=3000):
    """Wait for `condition()` (a loaded machine makes the flash slow): AssertionError after
    `ms`."""
    for _ in range(ms // 5):
        if condition():
            return
        await asyncio.sleep_ms(5)
    raise AssertionError("not within %d ms" % ms)


async def ack_events(port, count, order=None):
    """Play a host that acknowledges every data frame; the events' payloads, until `count`
    came (`order`: a list that gets the kind of each data frame)."""
    got = []
    for _ in range(400):
        await asyncio.sleep_ms(3)
        for kind, seq, msg, payload in port.frames():
            if kind != H.ACK:
                port.send(H.encode(H.ACK, seq, msg))
                if order is not None:
                    order.append(kind)
            if kind == H.EVENT:
                got.append((msg, H.unpack(payload)))
        if len(got) >= count:
            break
    return got


def test_taps_before_the_host_are_journaled_then_delivered_in_order_after_the_answer():
    flash()

    async def scenario(port, server):
        for n in range(20):
            assert server.event(H.EV_TAP if n % 2 else H.EV_QR, {"n": n}) is True
        await asyncio.sleep_ms(20)
        assert port.frames() == [] and server.journal_waiting() == 20   # nothing sent: down
        assert MODULE not in sys.modules                  # imported for each call only
        port.send(H.encode(H.REQUEST, 9, H.HELLO, b'{"session":1}'))
        order = []
        got = await ack_events(port, 20, order)
        # the answer goes before the journal's events (but after one already in flight)
        assert order.index(H.RESPONSE) <= 1 and len(order) == 21, order
        assert [body["n"] for msg, body in got] == list(range(20))
        assert [msg for msg, body in got] == [H.EV_TAP if n % 2 else H.EV_QR for n in range(20)]
        assert [body[H.JOURNAL_SEQ] for msg, body in got] == list(range(20))
        assert {body[H.JOURNAL_ID][:len(UID)] for msg, body in got} == {UID}
        assert all(len(body[H.TAPPED_AT]) == 14 and body[H.CLOCK_SET] is True
                   for msg, body in got)
        await asyncio.sleep_ms(20)
        assert server.journal_waiting() == 0 and server.stats["journal_delivered"] == 20
        assert MODULE not in sys.modules, server.stats    # empty, host up: out of RAM
        assert os.listdir(DIR) == ["head"]
        # connected: a tap is an ordinary event, the journal stays out of RAM
        assert server.event(H.EV_TAP, {"n": 20}) is True
        got = await ack_events(port, 1)
        assert [(m, b["n"], H.JOURNAL_SEQ in b) for m, b in got] == [(H.EV_TAP, 20, False)]
        assert got[0][1][H.EVENT_ID].endswith("-21") and MODULE not in sys.modules
    run(scenario, ack_ms=20, tries=2)


def test_a_parked_tap_and_those_behind_it_move_to_the_journal():
    flash()

    async def scenario(port, server):
        port.send(H.encode(H.ACK, 0, 0xFF))             # a host is there
        await asyncio.sleep_ms(5)
        for n in range(3):
            server.event(H.EV_TAP, {"n": n})
        server.event(H.EV_REMOVED, {"uid": "01"})
        await until(lambda: server.stats["parked"] == 1)  # two tries unacknowledged
        port.frames()
        assert not server.jn[6]                         # the host is not up
        assert server.journal_waiting() == 3 and server.pending() == 1   # the removal waits
        server.event(H.EV_TAP, {"n": 3})                 # down: straight to the journal
        port.send(H.encode(H.ACK, 0, 0xFF))             # the host is back
        got = await ack_events(port, 5)
        assert [b.get("n") for m, b in got] == [0, 1, 2, 3, None]
        assert [b.get(H.JOURNAL_SEQ) for m, b in got] == [0, 1, 2, 3, None]
    run(scenario, ack_ms=20, tries=2)


def test_a_full_journal_refuses_a_tap_and_the_server_says_so():
    flash()

    async def scenario(port, server):
        for n in range(10):
            assert server.event(H.EV_TAP, {"n": n}) is True
        assert server.event(H.EV_TAP, {"n": 10}) is False
        assert server.refused() == "journal_full" and server.refused() is None
        assert server.stats["journal_refused"] == 1 and server.journal_waiting() == 10
    run(scenario, session=Session(most=10), ack_ms=20, tries=2)


def test_a_reader_booted_with_a_journal_delivers_it_and_the_host_can_drop_repeats():
    flash()

    async def down(port, server):
        for n in range(5):
            server.event(H.EV_TAP, {"n": n})
    run(down, ack_ms=20, tries=2)
    new_boot()

    async def back(port, server):
        assert server.journal_waiting() == 5            # found at boot
        port.send(H.encode(H.ACK, 0, 0xFF))
        got = await ack_events(port, 3)                 # 3 acknowledged, then power cut
        assert [b["n"] for m, b in got[:3]] == [0, 1, 2]
    run(back, ack_ms=20, tries=2)
    new_boot()

    async def again(port, server):
        # the progress is noted at a segment's end or when empty: all 5 come again, with
        # the same numbers (the host drops the first three by them)
        port.send(H.encode(H.ACK, 0, 0xFF))
        got = await ack_events(port, 5)
        assert [b[H.JOURNAL_SEQ] for m, b in got] == [0, 1, 2, 3, 4]
    run(again, ack_ms=20, tries=2)


def test_a_tap_acknowledged_on_a_later_try_is_not_sent_again_from_the_journal():
    flash()

    async def scenario(port, server):
        port.send(H.encode(H.ACK, 0, 0xFF))             # a host is there
        await asyncio.sleep_ms(5)
        server.event(H.EV_TAP, {"n": 0})
        await asyncio.sleep_ms(5)
        (kind, seq, msg, body), = [f for f in port.frames() if f[0] == H.EVENT]
        await until(lambda: server.journal_waiting() == 1)   # its first try unanswered:
        assert not server.jn[6] and server.stats["parked"] == 0        # kept, still tried
        assert server.event(H.EV_TAP, {"n": 1}) is True                 # behind it
        port.frames()
        port.send(H.encode(H.ACK, seq, msg))            # acknowledged on a later try
        got = await ack_events(port, 1)
        assert [(b["n"], b.get(H.JOURNAL_SEQ)) for m, b in got] == [(1, 1)], got  # 0 not again
        await asyncio.sleep_ms(10)
        assert server.journal_waiting() == 0 and MODULE not in sys.modules
    run(scenario, ack_ms=20, tries=5)
