"""A card torn off the antenna before each frame of the identity read (the card emulator's
card_removed fault after N frames, N swept over the whole read): the HIS gets an error
(card_removed), or, once the read is through, the whole identity, never part of it as good
(docs/terminal-flow.md; issue 18's sweep)."""

import json

from hcterm.emulator import samples
from hcterm.link.errors import DeviceError
from hcterm.link.fields import to_national
from hcterm.sim.virtualreader import VirtualReader

FIELDS = ("KH", "XM", "XB", "MZ", "CSRQ", "SFZH", "KYXQ")


def _next_tap(reader, timeout=10):
    while True:
        event = reader.next_event(timeout=timeout)
        if event["type"] in ("tap", "error"):
            return event


def test_a_card_torn_before_any_frame_of_its_read_is_never_partial_data():
    path = next(p for p in samples.paths() if "-adult-" in p.name)
    image = json.loads(path.read_text(encoding="utf-8"))
    whole = None
    outcomes = {"card_removed": 0, "ok": 0, "unseen": 0}
    with VirtualReader() as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            reader.next_event(timeout=10)
            vr.devices.tap(path)
            whole = to_national(_next_tap(reader))       # the read with no fault: the truth
            vr.devices.remove()
            assert whole["status"] == "ok"
            torn_at = 0
            while True:
                vr.devices.field.faults.card_removed_after(torn_at)
                vr.devices.tap(path)
                try:
                    event = to_national(_next_tap(reader, timeout=1.5))
                except Exception:                        # noqa: BLE001 - LinkTimeout
                    event = None                         # gone before it was activated
                vr.devices.remove()
                vr.devices.field.faults.clear()
                if event is None:
                    outcomes["unseen"] += 1
                elif event["status"] == "ok":
                    assert {k: event[k] for k in FIELDS} == {k: whole[k] for k in FIELDS}, \
                        (torn_at, event)
                    outcomes["ok"] += 1
                    break                                # the read is through: swept it all
                else:
                    assert (event["status"], event["reason"]) == ("error", "card_removed"), \
                        (torn_at, event)
                    assert not set(FIELDS) & set(event), (torn_at, event)
                    outcomes["card_removed"] += 1
                torn_at += 1
                assert torn_at < 200, outcomes
        finally:
            reader.close()
    print(f"torn-card sweep over the identity read: {torn_at + 1} tear points, {outcomes}")
    assert outcomes["card_removed"] >= 10, outcomes
    assert image["files"]["DDF1/EF06"]["XM"] == whole["XM"]


def test_a_write_request_torn_at_each_frame_says_what_the_card_holds():
    # the host's write of two items (DDF1/EF08: BRDH1, then BRDH2), the card torn at frame 0,
    # 1, 2, ... of the request (activation, power-up, AuthUK, the secure writes): each error
    # says what is written, what is in doubt (read it back) and what not, and the card put
    # back holds exactly that
    path = next(p for p in samples.paths() if "-adult-" in p.name)
    new = {"BRDH1": b"13912345678".hex().upper(), "BRDH2": b"13700000000".hex().upper()}
    outcomes = {"nothing": 0, "in_doubt": 0, "first_only": 0}
    with VirtualReader() as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            reader.next_event(timeout=10)
            vr.devices.tap(path)
            old = reader.read(fields=list(new))
            assert old != new
            torn_at = 0
            while True:
                vr.devices.tap(path)                     # a fresh copy of the card
                vr.devices.field.faults.card_removed_after(torn_at)
                try:
                    reader.write("DDF1/EF08", new)
                    break
                except DeviceError as error:
                    message, kind = str(error), error.kind
                finally:
                    vr.devices.field.faults.clear()
                vr.devices.put_back()
                now = reader.read(fields=list(new))
                if kind != "write-torn":                 # torn before any write
                    assert now == old, (torn_at, message)
                    outcomes["nothing"] += 1
                elif "BRDH1 holds its old or its new value" in message:
                    assert "not written: BRDH2" in message and "read it back" in message
                    assert now["BRDH2"] == old["BRDH2"], (torn_at, now)
                    assert now["BRDH1"] in (old["BRDH1"], new["BRDH1"]), (torn_at, now)
                    outcomes["in_doubt"] += 1
                else:
                    assert "written: BRDH1" in message, (torn_at, message)
                    assert now["BRDH1"] == new["BRDH1"], (torn_at, now)
                    assert now["BRDH2"] in (old["BRDH2"], new["BRDH2"]), (torn_at, now)
                    outcomes["first_only"] += 1
                torn_at += 1
                assert torn_at < 100, outcomes
            vr.devices.put_back()
            assert reader.read(fields=list(new)) == new
        finally:
            reader.close()
    print(f"torn-card sweep over a two-item write request: {torn_at} tear points, {outcomes}")
    # the first item's secure write, then the second's (GET CHALLENGE, 04DC; its AuthUK is
    # granted): one tear point in doubt for the first, two after it for the second
    assert outcomes["in_doubt"] == 1 and outcomes["first_only"] == 2, outcomes
