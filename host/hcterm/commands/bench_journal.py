"""`hcterm bench journal [--taps N] [--power-cuts K] [--json]`: the offline tap journal end
to end (docs/tap-journal.md). A virtual reader is unplugged from its host (its USB cable
pulled: what it writes is lost, nothing acknowledges it; hcterm.sim.usbport) and tapped N
times (two sample cards in turn, each tap waited for until the reader's feedback shows it
handled), its power cut K times in between (the
firmware process killed and booted again on the same flash image); then the host is plugged
in and receives the journal, with one more power cut in the middle of the delivery (the
reader sends again what it had not noted as acknowledged; the host drops those copies).

Figures: `taps`, `refused` (taps the reader refused, a red LED: 0), `delivered` (journaled
taps the host delivered), `duplicates` (taps the
host delivered twice: 0), `lost` (taps made and never delivered: 0), `out_of_order`,
`power_cuts`, `resent_dropped` (copies the host's link client dropped by their journal
number), `peak_heap_live` (the firmware's live heap at its peak while journaling: config
heap_probe, info's terminal heap_peak, the ROMFS image's bytes taken out, over the taps
since the last power cut), and `append_ms_p99`: one
journal append (reader.terminal.journal on the sim NOR flash under MicroPython, a real tap
event's payload), beside its baseline in the same run, `baseline_store_ms_p99`: a settings
change (reader.terminal.settings.store: a temporary file, then a rename).
"""

import json
import os
import tempfile
import time

from ..mpy import BOARDS_DIR, FIRMWARE_DIR, run_micropython
from .argtypes import count, heap_size, positive_int

CARDS = ("adult", "child")
_FEEDBACK = "led"                   # the sim records the LED's colour once per signal
APPENDS = 300                       # appends timed for append_ms_p99


def add_arguments(p):
    p.add_argument("--taps", type=positive_int, default=500, help="taps while unplugged")
    p.add_argument("--power-cuts", type=count, default=2,
                   help="power cuts among the taps (one more during the delivery)")
    p.add_argument("--board", default="sim-pn532-uart", help="sim board")
    p.add_argument("--heapsize", type=heap_size, default="104k",
                   help="the firmware's heap (default 104k: the flow's budget)")


def _feedback(vr):
    return sum(1 for r in vr.bus.records if r.get("kind") == _FEEDBACK)


def tap_once(vr, card, timeout=15.0):
    """Tap `card` and wait until the reader signals it (its event is then kept); -> the
    LED's colour (green: kept; red: refused, docs/tap-journal.md "When the journal is
    full")."""
    seen = _feedback(vr)
    vr.devices.tap(card)
    deadline = time.monotonic() + timeout
    while _feedback(vr) == seen:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the reader did not signal the tap of {card} within "
                               f"{timeout:g} s: {vr.failure() or ''} {vr.last_lines(3)}")
        time.sleep(0.005)
    return [r for r in vr.bus.records if r.get("kind") == _FEEDBACK][-1].get("colour")


def tap_unplugged(vr, taps, power_cuts):
    """`taps` taps, the power cut after every taps/(power_cuts+1) of them (the last card
    taken away first: a card left on the antenna would be read again at the boot); -> the
    cards. The taps the reader refused (a red LED) are counted in `vr.refused`."""
    every = taps // (power_cuts + 1) or taps
    tapped = []
    vr.refused = 0
    for i in range(taps):
        if i and i % every == 0 and len(tapped) // every <= power_cuts and \
                vr.cuts < power_cuts:
            vr.devices.remove()
            vr.power_cut()
            vr.cuts += 1
            vr.wait_booted()
        card = CARDS[i % len(CARDS)]
        if tap_once(vr, card) != "green":
            vr.refused += 1
        tapped.append(card)
    vr.devices.remove()
    return tapped


def receive(vr, expected, cut_after=None, timeout=120.0, quiet=5.0):
    """Plug the host in; the tap events it delivers, until `expected` came (the reader's
    power cut once after `cut_after` of them), or none came for `quiet` seconds while the
    reader said nothing waited in its journal; -> (events, the Reader's stats, info)."""
    vr.usb.replug()
    reader = vr.open_reader(open_timeout=30, timeout=10)
    got = []
    deadline = time.monotonic() + timeout
    try:
        info = reader.info()     # the tapping boot's figures, before a cut resets them
        last = time.monotonic()
        while len(got) < expected and time.monotonic() < deadline:
            try:
                event = reader.next_event(timeout=1)
            except Exception:  # noqa: BLE001 - LinkTimeout: nothing this second
                if time.monotonic() - last > quiet and not reader.info().get("journal"):
                    break       # all the reader kept came: fewer than were tapped
                continue
            last = time.monotonic()
            if event.get("type") == "tap":
                got.append(event)
                if cut_after is not None and len(got) == cut_after:
                    vr.power_cut()
                    vr.cuts += 1
        end = time.monotonic() + 5          # the last ACK may still be on its way
        while (left := reader.info().get("journal")) and time.monotonic() < end:
            time.sleep(0.05)
        info["journal_after"] = left
        return got, dict(reader.stats), info
    finally:
        reader.close()


def _uid(card):
    from ..sim.wiring import resolve_card

    return json.loads(resolve_card(card).read_text())["uid"].upper()


def _live(vr, info):
    """The firmware's peak live heap (config heap_probe), the ROMFS image's bytes and the
    names' seventh pool taken out (on a board they are in flash), as hcterm bench tap and
    the heap tests give it."""
    raw = info.get("terminal", {}).get("heap_peak")
    return raw - vr.outside_budget if raw else raw


def check(tapped, got, refused=0):
    """Figures of the delivered events against the taps made (`refused` of them refused
    by the reader)."""
    seqs = [e.get("journal_seq", -1) for e in got]
    keys = [e.get("event_id") for e in got]
    uids = {_uid(card): card for card in CARDS}
    cards = [uids.get(e.get("uid")) for e in got]
    return {
        "taps": len(tapped), "refused": refused, "delivered": len(got),
        "duplicates": len(keys) - len(set(keys)),
        "lost": max(0, len(tapped) - len(set(keys))),
        "out_of_order": sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a),
        "late_marked": sum(1 for e in got if e.get("late") is True),
        "cards_match": cards == tapped[:len(cards)],
    }


def append_timing(appends=APPENDS):
    """p99 ms of a journal append and of a settings store, under MicroPython on the sim
    flash (tests/firmware/support/journal_timing.py)."""
    script = FIRMWARE_DIR.parent / "tests" / "firmware" / "support" / "journal_timing.py"
    env = {"MICROPYPATH": os.pathsep.join([str(FIRMWARE_DIR), str(BOARDS_DIR / "sim-common"),
                                           str(script.parent)])}
    with tempfile.TemporaryDirectory() as work:
        out = run_micropython(script, work, str(appends), heapsize="512k", env=env,
                              timeout=300)
    lines = [line for line in out.stdout.splitlines() if line.startswith("@@result ")]
    if out.returncode or not lines:
        raise RuntimeError("the append timing failed: " + (out.stdout + out.stderr)[-2000:])
    return json.loads(lines[0][9:])


def run(args):
    from ..sim.virtualreader import VirtualReader

    start = time.perf_counter()
    with VirtualReader(board=args.board, heapsize=args.heapsize) as vr:
        vr.cuts = 0
        reader = vr.open_reader(open_timeout=30, timeout=10)
        reader.set_config(heap_probe=True, journal_max=max(args.taps, 10))
        reader.close()
        vr.usb.unplug()
        tapped = tap_unplugged(vr, args.taps, args.power_cuts)
        offline_s = time.perf_counter() - start
        got, stats, info = receive(vr, len(tapped), cut_after=len(tapped) // 2)
        result = check(tapped, got, vr.refused)
        result.update({
            "power_cuts": vr.cuts, "resent_dropped": stats.get("journal_duplicates", 0),
            "journal_left": info.get("journal_after"),
            "peak_heap_live": _live(vr, info),
            "heapsize": args.heapsize, "board": args.board,
            "seconds_offline": round(offline_s, 1),
        })
    timing = append_timing()
    result.update(timing)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["ok"] = (result["duplicates"] == 0 and result["lost"] == 0 and
                    result["refused"] == 0 and
                    result["out_of_order"] == 0 and result["cards_match"])
    return result
