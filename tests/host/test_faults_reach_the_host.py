"""A reader chip that keeps failing reaches the HIS: one error event (reason reader_chip)
after five failed polls in a row, info's terminal stats count them, and a "recovered" event
when the chip answers again; taps work again after it (docs/terminal-flow.md)."""

from hcterm.emulator import samples
from hcterm.sim.virtualreader import VirtualReader


def _next(reader, kind, timeout=15):
    while True:
        event = reader.next_event(timeout=timeout)
        if event.get("type") == kind:
            return event


def test_a_failing_reader_chip_is_reported_once_then_its_recovery():
    with VirtualReader() as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            _next(reader, "selftest")
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
            path = next(p for p in samples.paths() if "-adult-" in p.name)
            vr.devices.tap(path)
            assert _next(reader, "tap")["status"] == "ok"
        finally:
            reader.close()
