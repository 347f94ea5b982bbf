"""The SAM reset (a power glitch: its state lost, its ATR instead of an answer) or gone mute
at each step of a tap's authentication (issue 18's sweep): the tap is an error with reason
sam and no card data, and the next tap reads again (the reader resets the SAM and selects
DF01 again), never a stuck SAM session (docs/terminal-flow.md)."""

from hcterm.emulator import samples
from hcterm.sim.virtualreader import VirtualReader

FIELDS = ("KH", "XM", "XB", "MZ", "CSRQ", "SFZH", "KYXQ")


def _tap_event(reader, timeout=15):
    while True:
        event = reader.next_event(timeout=timeout)
        if event["type"] in ("tap", "error") and "uid" in event:
            return event


def _tap(vr, reader, path):
    vr.devices.tap(path)
    event = _tap_event(reader)
    vr.devices.remove()
    while reader.next_event(timeout=10)["type"] != "removed":
        pass
    return event


def test_the_sam_reset_or_mute_at_each_step_of_the_authentication():
    path = next(p for p in samples.paths() if "-adult-" in p.name)
    points = {"mute": 0, "reset": 0}
    with VirtualReader() as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        slot = vr.devices.sam_slot
        try:
            reader.next_event(timeout=10)
            assert _tap(vr, reader, path)["status"] == "ok"     # the SAM reset, DF01, a read
            before = slot.apdus
            assert _tap(vr, reader, path)["status"] == "ok"     # the SAM kept: a read
            steps = slot.apdus - before
            for mode in points:
                for step in range(steps):
                    # the SAM stays up between good taps: count from where it is now
                    if mode == "mute":
                        slot.faults.stuck_after = slot.apdus + step
                    else:
                        slot.faults.reset_after = slot.apdus + step
                    event = _tap(vr, reader, path)
                    slot.faults.stuck_after = slot.faults.reset_after = None
                    assert (event["status"], event.get("reason")) == ("error", "sam"), \
                        (mode, step, event)
                    assert not set(FIELDS) & set(event), (mode, step, event)
                    again = _tap(vr, reader, path)
                    assert again["status"] == "ok", (mode, step, again)
                    points[mode] += 1
        finally:
            reader.close()
    print(f"SAM fault sweep over a tap's authentication: {points} fault points")
    # one AuthIRK (DDF1): 80DE diversify, 80FA encrypt, 00C0 GET RESPONSE
    assert steps == 3 and points == {"mute": 3, "reset": 3}, (steps, points)
