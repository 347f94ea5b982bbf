"""The offline tap journal (docs/tap-journal.md) from the host: the documented bytes in
CPython, the settings' checks, the bridge keeping late events in order, and the issue's
scenario on a virtual reader at the flow's heap budget: the host unplugged, taps with two
power cuts in between, the host plugged in again (one more cut in the middle of the
delivery), every tap received once, in order; and a full journal refusing a tap where the
person sees it.

The suite taps the issue's 500 cards (each tap is a real card read, ~0.1 s: ~1 min in all),
as `hcterm bench journal` does (docs/tap-journal.md, "Figures")."""

import asyncio
import re
from pathlib import Path

import pytest

from hcterm.commands import bench_journal
from hcterm.sim.virtualreader import VirtualReader
from reader import hostlink
from reader.terminal import journal, settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "tap-journal.md"
TAPS = 500
HEAP = "104k"        # tests/host/test_heap_budget.py's budget: journaling must fit in it too


def doc_vectors():
    block = re.search(r"```tap-journal-vectors\n(.*?)```", DOC.read_text(), re.S).group(1)
    vectors = []
    for line in block.splitlines():
        if line.startswith("    "):
            vectors[-1][1].extend(bytes.fromhex(line))
        elif line.strip():
            vectors.append((line, bytearray()))
    return vectors


@pytest.mark.parametrize("line,data", doc_vectors(), ids=lambda v: str(v)[:24])
def test_the_documented_bytes(line, data):
    words = line.split(" ", 3)
    if words[0] == "head":
        assert journal.head_bytes(int(words[1], 16), int(words[2], 16)) == data
    else:
        assert journal.entry_bytes(int(words[1], 16), int(words[2], 16),
                                   words[3].encode()) == data
        assert data[-2:] == journal.crc16_ccitt(data[:-2]).to_bytes(2, "big")


def test_the_journal_settings_are_checked_with_clear_errors():
    assert settings.DEFAULTS["journal_max"] == 1000
    assert settings.DEFAULTS["journal_full"] == "refuse"
    settings.check({"journal_max": 10, "journal_full": "drop_oldest"})
    with pytest.raises(ValueError, match=r"journal_max must be a whole number of events, "
                       r"10-10000"):
        settings.check_one("journal_max", 9)
    with pytest.raises(ValueError, match="journal_max must be"):
        settings.check_one("journal_max", True)
    with pytest.raises(ValueError, match=r"journal_full must be one of refuse, drop_oldest"):
        settings.check_one("journal_full", "overwrite")


def test_the_bridge_publishes_late_events_in_the_order_they_came():
    from hcterm.bridge.events import EventHub, EventRouter

    class SlowVerifier:
        async def verify(self, text):
            await asyncio.sleep(0.05)           # the platform takes its time
            return {"XM": "张伟"}

        async def close(self):
            pass

    class Log:
        def info(self, *args, **kwargs):
            pass

        warning = exception = info

    async def scenario():
        hub = EventHub()
        queue = hub.subscribe()
        router = EventRouter(hub, Log(), SlowVerifier())
        late = {"late": True, "status": "ok", "tapped_at": "20261206120000"}
        router("r1", {"type": "qr", "text": "code", "journal_seq": 0, **late})
        router("r1", {"type": "tap", "uid": "01", "journal_seq": 1, **late})
        router("r1", {"type": "tap", "uid": "02", "journal_seq": 2, **late})
        got = [await asyncio.wait_for(queue.get(), 2) for _ in range(3)]
        await router.close()
        return got

    got = asyncio.run(scenario())
    assert [e["journal_seq"] for e in got] == [0, 1, 2]
    assert got[0]["verified"] is True and all(e["late"] for e in got)
    assert got[1]["tapped_at"] == "20261206120000"


def test_taps_while_unplugged_with_power_cuts_reach_the_host_once_in_order(tmp_path):
    with VirtualReader(flash=tmp_path / "flash.img", heapsize=HEAP) as vr:
        vr.cuts = 0
        reader = vr.open_reader(open_timeout=30, timeout=10)
        reader.set_config(heap_probe=True)
        reader.close()
        vr.usb.unplug()
        tapped = bench_journal.tap_unplugged(vr, TAPS, power_cuts=2)
        assert vr.cuts == 2 and vr.running()
        got, stats, info = bench_journal.receive(vr, TAPS, cut_after=TAPS // 2)
        assert vr.cuts == 3 and "MemoryError" not in vr.firmware_output()
        peak = bench_journal._live(vr, info)
    figures = bench_journal.check(tapped, got, vr.refused)
    print(f"journal e2e at {HEAP}: {figures}, host dropped {stats['journal_duplicates']} "
          f"copies, peak live heap {peak} B (taps since the last cut, journaling)")
    assert figures == {"taps": TAPS, "refused": 0, "delivered": TAPS, "duplicates": 0,
                       "lost": 0, "out_of_order": 0, "late_marked": TAPS,
                       "cards_match": True}
    assert [e["journal_seq"] for e in got] == list(range(TAPS))
    ids = {e["journal_id"] for e in got}
    assert len(ids) == 1 and ids.pop().startswith(info["unique_id"] + "-")
    assert all(re.fullmatch(r"20\d{12}", e["tapped_at"]) for e in got)
    assert all(e["status"] == "ok" and e["XM"] for e in got)
    # the cut in the middle of the delivery made the reader send again what it had not
    # noted; the client dropped those copies by their number
    assert stats["journaled"] == TAPS
    assert info["journal_after"] == 0 and isinstance(info["journal"], int)


def test_a_full_journal_refuses_the_tap_and_the_person_sees_it(tmp_path):
    with VirtualReader(flash=tmp_path / "flash.img", heapsize=HEAP) as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        reader.set_config(journal_max=10, journal_full="refuse")
        reader.close()
        vr.usb.unplug()
        colours = [bench_journal.tap_once(vr, bench_journal.CARDS[i % 2]) for i in range(11)]
        assert colours == ["green"] * 10 + ["red"]      # what the bench counts as refused
        shown = [r for r in vr.bus.records if r.get("kind") in ("led", "display")]
        assert {"kind": "display", "text": "REFUSED: journal_full"}.items() <= \
            shown[-1].items() or {"kind": "led", "colour": "red"}.items() <= shown[-1].items()
        vr.usb.replug()
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            got = []
            while len(got) < 10:
                event = reader.next_event(timeout=10)
                if event.get("type") == "tap":
                    got.append(event)
            # in order, once each (the first tap may come live: it was still being tried
            # when the host came back, and its journal copy counts as delivered)
            assert [int(e[hostlink.EVENT_ID].split("-")[1]) for e in got] == list(range(1, 11))
            assert [e[hostlink.JOURNAL_SEQ] for e in got if e.get("late")] == \
                list(range(10 - sum(1 for e in got if e.get("late")), 10))
            link = reader.info()["link"]
            assert link["journal_refused"] == 1 and reader.stats["journal_duplicates"] == 0
        finally:
            reader.close()
