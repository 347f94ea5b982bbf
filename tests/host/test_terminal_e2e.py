"""The terminal flow end to end on a virtual reader: the real firmware taps emulated cards,
checks them against the offline blacklist and its clock, and reports to the host what the HIS
receives (docs/terminal-flow.md)."""

import json
import time

import pytest

from hcterm.commands.demo import install_blacklist, set_clock
from hcterm.emulator import samples
from hcterm.emulator.cardimage import WORD_FIELDS
from hcterm.link import DeviceError, Reader
from hcterm.link.fields import to_national
from hcterm.sim.virtualreader import VirtualReader

CARD_FIELDS = ("KH", "XM", "XB", "MZ", "CSRQ", "SFZH", "KYXQ")
STATIC_QR = "E1EA526EEFCB84EF4A1704F5EEC0278EDA5CDB591104EBB27234BBE846225063:1"


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    """One virtual reader for the module, with the sample blacklist and the host's clock."""
    flash = tmp_path_factory.mktemp("terminal") / "flash.img"
    with VirtualReader(flash=flash) as vr:
        reader = Reader(vr.port, open_timeout=30, timeout=10)
        try:
            assert reader.next_event(timeout=10)["type"] == "selftest"
            status = install_blacklist(reader)
            assert (status["installed"], status["version"], status["count"]) == (True, 1, 4)
            set_clock(reader)
            yield vr, reader
        finally:
            reader.close()


@pytest.fixture
def vr_reader(rig):
    vr, reader = rig
    vr.devices.remove()
    drain(reader)
    yield vr, reader
    vr.devices.remove()


def drain(reader, quiet=0.3):
    """Every event that comes until none came for `quiet` seconds."""
    return list(reader.events(timeout=quiet))


def sample(kind):
    for path in samples.paths():
        if f"-{kind}-" in path.name:
            return path, json.loads(path.read_text(encoding="utf-8"))
    raise AssertionError(f"no sample card {kind}")


def expected_fields(image):
    """The identity fields of a card image as the HIS should see them."""
    files = image["files"]
    out = {"KH": files["DDF1/EF05"]["KH"]}
    out.update({k: files["DDF1/EF06"][k] for k in ("XM", "MZ", "CSRQ", "SFZH")})
    out["XB"] = "%d" % WORD_FIELDS["XB"][files["DDF1/EF06"]["XB"]]  # GB/T 2261.1: one digit
    out["KYXQ"] = files["DDF1/EF08"]["KYXQ"]
    return out


def tap(vr, reader, kind, timeout=10):
    """The tap event of card `kind` (a late "removed" of the card before is passed over)."""
    path, image = sample(kind)
    vr.devices.tap(path)
    while True:
        event = reader.next_event(timeout=timeout)
        if event["type"] != "removed":
            return to_national(event), image


def test_adult_tap_gives_the_card_fields_once_then_removed(vr_reader):
    vr, reader = vr_reader
    event, image = tap(vr, reader, "adult")
    assert (event["type"], event["status"]) == ("tap", "ok"), event
    assert {k: event[k] for k in CARD_FIELDS} == expected_fields(image)
    assert event["XM"] == "张伟" and event["uid"] == image["uid"]
    assert 0 < event["latency_ms"] < 2000
    # left on the reader: found again by each poll, never reported again
    assert drain(reader, quiet=0.8) == []
    vr.devices.remove()
    removed = reader.next_event(timeout=5)
    assert (removed["type"], removed["status"], removed["uid"]) == ("removed", "ok",
                                                                  image["uid"])


@pytest.mark.parametrize("kind,reason", [("blacklisted", "blacklisted"),
                                         ("expired", "expired"), ("locked", "locked")])
def test_refused_cards(vr_reader, kind, reason):
    vr, reader = vr_reader
    event, image = tap(vr, reader, kind)
    assert (event["type"], event["status"], event["reason"]) == ("tap", "refused", reason), \
        event
    assert event["message"]
    if kind != "locked":          # read, then refused: the HIS still sees who it was
        assert {k: event[k] for k in CARD_FIELDS} == expected_fields(image)
    else:                         # SELECT DDF1 answered 6283: nothing was read
        assert not set(CARD_FIELDS) & set(event)


def test_tap_event_says_the_rates_a_card_offering_848_is_read_at(vr_reader):
    vr, reader = vr_reader
    event, image = tap(vr, reader, "fast")                 # TA(1) 77: 848 kbit/s each way
    assert (event["type"], event["status"]) == ("tap", "ok"), event
    assert {k: event[k] for k in CARD_FIELDS} == expected_fields(image)
    assert event["rf_kbps"] == [848, 848] and event["sam_baud"] == 38400, event
    assert [vr.devices._picc.dri, vr.devices._picc.dsi] == [3, 3]
    vr.devices.remove()
    drain(reader)
    event, _ = tap(vr, reader, "adult")                    # TA(1) 80: 106 only
    assert event["status"] == "ok" and event["rf_kbps"] == [106, 106], event


def test_card_that_takes_the_pps_and_then_fails_is_read_at_106_in_the_same_tap(vr_reader):
    vr, reader = vr_reader
    vr.devices.field.faults.pps_ignored()
    event, image = tap(vr, reader, "fast")
    assert (event["type"], event["status"]) == ("tap", "ok"), event
    assert event["rf_kbps"] == [106, 106], event
    assert {k: event[k] for k in CARD_FIELDS} == expected_fields(image)
    assert [kind for kind, _ in vr.devices.field.faults.log].count("pps_ignored") == 1


def test_card_pulled_mid_read_is_an_error_never_a_good_tap(vr_reader):
    vr, reader = vr_reader
    vr.devices.field.faults.card_removed_after(10)
    event, _ = tap(vr, reader, "adult")
    assert (event["type"], event["status"], event["reason"]) == ("error", "error",
                                                               "card_removed"), event
    assert event["name"] == "no-card" and "tap it again" in event["message"]
    assert not set(CARD_FIELDS) & set(event)
    vr.devices.remove()
    later = drain(reader, quiet=0.5)
    assert not [e for e in later if e.get("status") == "ok" and e["type"] == "tap"], later
    # the next tap of the same card reads it whole
    event, image = tap(vr, reader, "adult")
    assert (event["type"], event["status"]) == ("tap", "ok")
    assert {k: event[k] for k in CARD_FIELDS} == expected_fields(image)


def test_qr_scan_becomes_a_qr_event(vr_reader):
    vr, reader = vr_reader
    vr.devices.scan(STATIC_QR)
    event = reader.next_event(timeout=5)
    assert (event["type"], event["status"], event["kind"]) == ("qr", "ok", "static"), event
    assert (event["text"], event["id"], event["code_type"]) == (STATIC_QR, STATIC_QR[:64], "1")


def test_host_requests_are_served_while_the_terminal_polls(vr_reader):
    vr, reader = vr_reader
    event, _ = tap(vr, reader, "child")
    assert event["status"] == "ok"
    polls = reader.info()["terminal"]["polls"]
    start = time.perf_counter()
    for _ in range(10):
        info = reader.info()
    assert (time.perf_counter() - start) / 10 < 0.1
    time.sleep(0.3)                                   # a presence check every 100 ms
    info = reader.info()
    assert info["terminal"]["polls"] > polls          # the terminal kept polling meanwhile
    assert info["terminal"]["taps"] >= 1
    # a card request between polls, on the card that stays on the reader
    assert to_national(reader.read(fields=["XM"])) == {"XM": "李晓雨"}
    assert drain(reader, quiet=0.5) == []             # the card is still reported once


def test_feedback_is_recorded_for_each_outcome(vr_reader):
    vr, reader = vr_reader
    start = len(vr.bus.records)
    event, _ = tap(vr, reader, "adult")
    assert event["status"] == "ok"
    vr.devices.remove()
    reader.next_event(timeout=5)
    event, _ = tap(vr, reader, "expired")
    assert event["status"] == "refused"
    time.sleep(0.6)       # the refusal's three beeps run after the event
    records = vr.bus.records[start:]
    shown = [(r["kind"], r.get("colour") or r.get("text")) for r in records
             if r["kind"] in ("led", "display")]
    # the fixed reader has an LED and no display (sim-handheld's screens: test_display_*)
    assert shown == [("led", "green"), ("led", "red")], shown
    beeps = [r["value"] for r in records if r.get("name") == "beeper"]
    assert beeps == [1, 0] + [1, 0] * 3, beeps


def test_blacklist_status_and_set_time(vr_reader):
    _, reader = vr_reader
    status = reader.blacklist_status()
    assert (status["installed"], status["version"], status["count"], status["stale"]) == \
        (True, 1, 4, False)
    assert set_clock(reader, time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))) == \
        {"today": "20260102", "clock_set": True}
    try:
        vr, _ = vr_reader
        event, _ = tap(vr, reader, "expired")   # KYXQ 20231231 < 20260102: expired
        assert (event["reason"], event["expiry_checked"]) == ("expired", True), event
        vr.devices.remove()
        reader.next_event(timeout=5)
        # a host clock before this firmware was made is wrong: refused, the clock kept
        with pytest.raises(DeviceError, match="before this firmware was made"):
            set_clock(reader, time.mktime((2000, 1, 1, 0, 0, 0, 0, 0, -1)))
        event, _ = tap(vr, reader, "expired")
        assert event["reason"] == "expired", event
    finally:
        set_clock(reader)
