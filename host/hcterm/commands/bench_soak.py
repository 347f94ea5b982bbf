"""`hcterm bench soak --taps N [--json]`: a reader left running, as a hospital leaves it. The
demo's cards are tapped in turn on one virtual reader at its flow budget (every tenth tap a
card that would be read to the end, pulled off in the middle of its read), each removed
again; every tap's event must be the one the demo expects (a pulled card may also leave
before it is activated: no event, counted in `pulled_before_activation`), and every removal
the reader reports must be of the card it reported last. Before the card that is already on
the reader (its UID, as the reader sees it) is tapped again, the reader must report its
removal: a card that never left is no new tap (it would wait out the event's timeout).
Figures: `taps`,
`problems` (events that were not the expected ones, the first few listed), the firmware's
free heap (`info`, every 50 taps: first, last, least), tap latency p50/p99 of the first
and the last 200 taps (the firmware's `latency_ms`), and `watchdog_resets` (the main loop
stalled and the watchdog reset the reader).
"""

import statistics
import time

from ..emulator import samples
from ..emulator.card import load_card
from .argtypes import heap_size, positive_int
from .demo import CARD_OUTCOMES, PULL_AFTER_FRAMES, card_kind, install_blacklist, set_clock

HEAP_EVERY = 50


def add_arguments(p):
    p.add_argument("--taps", type=positive_int, default=1000, help="taps (default 1000)")
    p.add_argument("--board", default="sim-pn532-uart", help="sim board")
    p.add_argument("--heapsize", type=heap_size, default="104k",
                   help="the firmware's heap (default 104k: the flow's budget, "
                   "tests/host/test_heap_budget.py)")


def _pct(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def run(args):
    from ..link import ReaderError
    from ..sim.virtualreader import VirtualReader

    cards = samples.paths()
    uids = {path: load_card(path).uid.hex().upper() for path in cards}
    latencies, heap, problems = [], [], []
    unseen = 0
    present = None          # the UID the reader reported on its antenna and not yet removed
    start = time.perf_counter()
    with VirtualReader(board=args.board, heapsize=args.heapsize) as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            reader.next_event(timeout=10)
            install_blacklist(reader)
            set_clock(reader)
            good = [p for p in cards if CARD_OUTCOMES[card_kind(p)][0] == "ok"]
            for i in range(args.taps):
                pulled = i % 10 == 9           # a card read to the end would be: pulled early
                path = good[i // 10 % len(good)] if pulled else cards[i % len(cards)]
                want = ("error", "card_removed") if pulled else CARD_OUTCOMES[card_kind(path)]
                if present == uids[path]:     # the same card again: it must be seen leaving
                    try:
                        present = _removal(reader, present, problems, i)
                    except ReaderError as error:
                        problems.append(f"tap {i}: no removal of {present} reported: {error}")
                        present = None
                if pulled:
                    vr.devices.field.faults.card_removed_after(PULL_AFTER_FRAMES)
                vr.devices.tap(path)
                try:
                    event, present = _next_tap(reader, present, problems, i)
                except ReaderError as error:
                    if pulled:                 # gone before it was activated: no tap at all
                        unseen += 1
                    else:
                        problems.append(f"tap {i}: {error}")
                    present = None
                    vr.devices.remove()
                    continue
                got = (event.get("status"), event.get("reason"))
                # the reader forgets a card it saw leave mid-read; after any other outcome it
                # counts the card as on its antenna until a poll finds it gone
                present = None if got == ("error", "card_removed") else uids[path]
                if got != want:
                    problems.append(f"tap {i} ({path.stem}): {got}, expected {want}: "
                                    f"{event.get('message')}")
                if event.get("latency_ms") is not None and not pulled:
                    latencies.append(event["latency_ms"])
                vr.devices.remove()
                if i % HEAP_EVERY == 0 or i == args.taps - 1:
                    try:
                        heap.append(reader.info()["heap_free"])
                    except ReaderError as error:
                        problems.append(f"info after tap {i}: {error}")
            try:
                answers = bool(reader.info().get("firmware"))
            except ReaderError as error:
                problems.append(f"info at the end: {error}")
                answers = False
        finally:
            reader.close()
    return {
        "taps": args.taps, "board": args.board, "heapsize": args.heapsize,
        "problems": len(problems), "first_problems": problems[:5],
        "pulled_before_activation": unseen,
        "heap_free_first": heap[0] if heap else None, "heap_free_last": heap[-1] if heap
        else None, "heap_free_min": min(heap) if heap else None,
        "first_200_p50_ms": _pct(latencies[:200], 0.5),
        "first_200_p99_ms": _pct(latencies[:200], 0.99),
        "last_200_p50_ms": _pct(latencies[-200:], 0.5),
        "last_200_p99_ms": _pct(latencies[-200:], 0.99),
        "latency_mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "reader_answers_after": answers, "seconds": round(time.perf_counter() - start, 1),
        "watchdog_resets": vr.watchdog_resets,    # its main loop stalled: reset, booted again
        "ok": not problems and answers and not vr.watchdog_resets,
    }


def _next_tap(reader, present, problems, i):
    """(the tap's event (tap or error), the UID then on the reader), past the removal of the
    card before (`present`); any other event is a problem."""
    while True:
        event = reader.next_event(timeout=10)
        if event.get("type") in ("tap", "error"):
            return event, present
        present = _removed(event, present, problems, i)


def _removal(reader, present, problems, i):
    """Wait for the reader's removed event of `present`; None (nothing on the reader)."""
    while present is not None:
        present = _removed(reader.next_event(timeout=10), present, problems, i)
    return present


def _removed(event, present, problems, i):
    """A non-tap event: the removal of `present` (-> None), else a problem (-> present)."""
    if event.get("type") == "removed" and present is not None and event.get("uid") == present:
        return None
    problems.append(f"tap {i}: {event.get('type')} event {event}, expected "
                    f"{'the removal of ' + present if present else 'no event'}")
    return present
