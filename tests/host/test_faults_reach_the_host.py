"""A reader chip, a SAM or a QR scanner that keeps failing reaches the HIS, one mechanism
for all three: one error event (reason reader_chip, sam, qr_scanner) after a number of
failures in a row, info's terminal stats count them and name the part (`failing`), the
self-test request names it and is not ok, and a "recovered" event comes when the part works
again; taps and scans work after it (docs/terminal-flow.md)."""

import contextlib

from hcterm.emulator import samples
from hcterm.sim.virtualreader import VirtualReader

STATIC_QR = "E1EA526EEFCB84EF4A1704F5EEC0278EDA5CDB591104EBB27234BBE846225063:1"


def _next(reader, kind, timeout=15):
    while True:
        event = reader.next_event(timeout=timeout)
        if event.get("type") == kind:
            return event


def _part_event(reader, part, seen, timeout=15):
    """The next device fault event of `part` (a tap's error event has a uid, this one not);
    the other events on the way go to `seen`."""
    while True:
        event = reader.next_event(timeout=timeout)
        if event.get("type") == "error" and event.get("reason") == part and "uid" not in event:
            return event
        seen.append(event)


@contextlib.contextmanager
def _booted():
    """A virtual reader past its self-test event, and a client on it."""
    with VirtualReader() as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            _next(reader, "selftest")
            yield vr, reader
        finally:
            reader.close()


def _adult():
    return next(p for p in samples.paths() if "-adult-" in p.name)


def test_a_failing_reader_chip_is_reported_once_then_its_recovery():
    with _booted() as (vr, reader):
        faults = vr.devices.field.faults
        faults.chip_nack(count=None)               # every command frame: NACK
        event = _next(reader, "error")
        assert (event["status"], event["reason"]) == ("error", "reader_chip"), event
        assert "failed 5 polls in a row" in event["message"]
        assert reader.info()["terminal"]["failing_polls"] >= 5
        faults.clear()
        event = _next(reader, "error")
        assert (event["status"], event["reason"]) == ("recovered", "reader_chip"), event
        assert reader.info()["terminal"]["failing_polls"] == 0
        vr.devices.tap(_adult())
        assert _next(reader, "tap")["status"] == "ok"


def test_a_failing_sam_is_reported_once_then_its_recovery():
    with _booted() as (vr, reader):
        faults = vr.devices.sam_slot.faults
        faults.mute = True                          # no ATR, no answer
        seen = []
        vr.devices.tap(_adult())
        tap = _next(reader, "error")
        assert tap["reason"] == "sam" and tap["uid"] == "8A3F21C7", tap   # the tap's own
        vr.devices.remove()
        _next(reader, "removed")
        vr.devices.tap(_adult())                    # the second tap in a row: the part
        event = _part_event(reader, "sam", seen)
        assert event["status"] == "error" and "the SAM failed 2 taps in a row" in \
            event["message"], event
        second = _next(reader, "error")             # then the tap's own, as each tap
        assert (second["reason"], second["uid"]) == ("sam", tap["uid"]), second
        info = reader.info()
        assert info["terminal"]["failing_sam"] == 2 and "sam" in info["terminal"]["failing"]
        report = reader.selftest()
        assert report["ok"] is False and "PSAM" in report["failing"]["sam"], report
        vr.devices.remove()
        _next(reader, "removed")
        faults.mute = False
        vr.devices.tap(_adult())                    # the reader resets the SAM again
        event = _part_event(reader, "sam", seen)
        assert event["status"] == "recovered", event
        assert _next(reader, "tap")["status"] == "ok"
        assert reader.info()["terminal"]["failing_sam"] == 0
        assert "failing" not in reader.selftest()


def test_a_qr_scanner_sending_line_noise_is_reported_once_then_its_recovery():
    with _booted() as (vr, reader):
        seen = []
        for _ in range(3):                          # three lines that are no text
            vr.devices.qr.scan(b"\xfe\x81\xc3(\xa0\xff")
            assert _next(reader, "qr")["reason"] == "not_text"
        event = _part_event(reader, "qr_scanner", seen)
        assert event["status"] == "error" and "the QR scanner failed 3 reads in a row" \
            in event["message"], event
        assert reader.info()["terminal"]["failing_qr"] == 3
        assert "qr_scanner" in reader.selftest()["failing"]
        vr.devices.scan(STATIC_QR)
        event = _part_event(reader, "qr_scanner", seen)     # after the code's own event
        assert event["status"] == "recovered", event
        assert [e["status"] for e in seen if e["type"] == "qr"] == ["ok"], seen
        assert reader.info()["terminal"]["failing_qr"] == 0
