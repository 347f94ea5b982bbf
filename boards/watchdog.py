# The real boards' watchdog and reset cause (board contract, docs/firmware-drivers.md): each
# real board.py hands these out (`from watchdog import reset_cause, watchdog`) and its
# manifest.py freezes this file beside main.py. The sim boards' twins are in
# sim-common/simhal.py.
import sys

from machine import WDT, Timer

# a periodic timer that feeds the watchdog while the REPL has the port: ESP32 ports have
# hardware timers 0-3, rp2 only the virtual one (-1)
_TIMER = 0 if sys.platform == "esp32" else -1
WATCHDOG_MS = 8000   # the timeout reader.main starts it with (rp2's WDT allows 8388 ms)
_CAUSES = (("WDT_RESET", "watchdog"), ("PWRON_RESET", "power-on"), ("HARD_RESET", "reset"),
           ("SOFT_RESET", "soft-reset"), ("DEEPSLEEP_RESET", "deep-sleep"))


class Watchdog:
    """machine.WDT, started: `feed()` from the reader's main loop; `idle()` when the REPL takes
    the port (a WDT cannot be stopped once started): a timer feeds it until the next feed()."""

    def __init__(self, timeout_ms):
        self.timeout_ms = timeout_ms
        self._wdt = WDT(timeout=timeout_ms)
        self._timer = None

    def feed(self):
        if self._timer is not None:
            self._timer.deinit()
            self._timer = None
        self._wdt.feed()

    def idle(self):
        if self._timer is None:
            self._timer = Timer(_TIMER, period=self.timeout_ms // 4, mode=Timer.PERIODIC,
                                callback=lambda t: self._wdt.feed())


def watchdog(timeout_ms):
    return Watchdog(timeout_ms)


def reset_cause():
    """Why the chip last started: "watchdog", "power-on", "reset", "soft-reset",
    "deep-sleep" (machine.reset_cause())."""
    import machine

    cause = machine.reset_cause()
    for name, text in _CAUSES:
        if getattr(machine, name, None) == cause:
            return text
    return "unknown (%d)" % cause
