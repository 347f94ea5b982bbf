"""The watchdog resets a reader whose main loop stalls (issue 18): the sim bus hangs the
firmware in a pin write (a driver stuck in a call that never returns, inside the event
loop), the main loop stops feeding the sim board's watchdog, the virtual reader kills and
restarts the firmware as a board's WDT resets the chip, and the reader serves again: its
self-test and info say the watchdog reset it, and a tap reads."""

import time

from hcterm.emulator import samples
from hcterm.sim.virtualreader import VirtualReader

WATCHDOG_MS = 3000


def _next(reader, kind, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        event = reader.next_event(timeout=max(0.1, deadline - time.monotonic()))
        if event.get("type") == kind:
            return event


def test_a_stalled_main_loop_is_reset_by_the_watchdog_and_the_reader_serves_again():
    adult = next(p for p in samples.paths() if "-adult-" in p.name)
    with VirtualReader(watchdog_ms=WATCHDOG_MS) as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            boot = _next(reader, "selftest")
            assert boot["watchdog"] == {"ok": True, "present": True, "timeout_ms": WATCHDOG_MS,
                                        "last_reset": "power-on"}, boot
            assert reader.info()["watchdog"]["last_reset"] == "power-on"
            fed = vr.bus.watchdog.feeds
            time.sleep(1.2)
            assert vr.bus.watchdog.feeds > fed          # the main loop feeds it while it runs
            # the tap's beep hangs in the beeper's pin write: the whole event loop stops
            vr.bus.stall("beeper", 120)
            stalled = time.monotonic()
            vr.devices.tap(adult)
            while vr.watchdog_resets == 0:
                assert time.monotonic() - stalled < 30, "the watchdog did not reset the reader"
                time.sleep(0.1)
            waited = time.monotonic() - stalled
            # not before the timeout after its last feed (fed every 0.5 s by reader.main)
            assert waited >= WATCHDOG_MS / 1000 - 0.6, waited
            vr.devices.remove()
            boot = _next(reader, "selftest", timeout=40)
            assert boot["watchdog"]["last_reset"] == "watchdog", boot
            assert "main loop had stalled" in boot["watchdog"]["note"]
            assert reader.info()["watchdog"] == {"timeout_ms": WATCHDOG_MS,
                                                 "last_reset": "watchdog"}
            vr.devices.tap(adult)
            tap = _next(reader, "tap")
            assert tap["status"] == "ok", tap
            assert vr.watchdog_resets == 1 and vr.running()
        finally:
            reader.close()


def test_the_repl_keeps_the_watchdog_quiet_until_the_link_is_taken_back():
    with VirtualReader(watchdog_ms=WATCHDOG_MS) as vr:
        reader = vr.open_reader(open_timeout=30, timeout=10)
        try:
            _next(reader, "selftest")
            reader.handoff()                            # the REPL has the port: no feeding
            time.sleep(0.5)
            assert vr.bus.watchdog.idle
            time.sleep(WATCHDOG_MS / 1000 + 1)
            assert vr.watchdog_resets == 0 and vr.running()
            reader.take_back()                          # served again: fed again
            assert not vr.bus.watchdog.idle
            time.sleep(WATCHDOG_MS / 1000 + 1)
            assert vr.watchdog_resets == 0
            assert reader.info()["watchdog"]["last_reset"] == "power-on"
        finally:
            reader.close()
