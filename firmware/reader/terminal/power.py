"""Between taps on a battery board (docs/handheld.md): low-power polling and the battery
check. The flow (reader.terminal.flow) calls `idle(t)` after a poll that found no card when
the board has a battery or low-power polling is on (setting power_save); this module is in
RAM for that call only (`await reader.call("terminal.power", "idle", t)`), and a fixed reader
with the defaults never imports it: it polls every flow.IDLE_MS as it always did.

Low-power polling: the reader chip is powered down (reader.chips.power_down: PN532
PowerDown, MFRC522 soft power-down; the RF field off) for up to `detect_ms` (setting, 50-2000:
a card put down is found within that time plus one poll), then woken for the next poll. The
chip lock is held meanwhile, so nothing talks to a sleeping chip: a host request that wants
the chip, or a QR code arriving, ends the doze at once (the chip is woken first).

`check_keypad(board)`: the self-test's keypad check, here because this module's names are in
RAM on a handheld anyway (a module imported from the image interns its names for good).
"""

import asyncio
import time

from micropython import const

import reader
from reader.errors import ReaderError

_CHIP = "chips.power_down"
_SLICE_MS = const(20)          # how often a doze looks for a host request or a QR code
_IDLE_MS = const(20)           # flow.IDLE_MS: the wait after a poll without power-down
_CHECK_MS = const(60000)       # the battery check's default period (board.BATTERY_CHECK_MS)


def low_power(t):
    mode = t.config.get("power_save", "auto")
    return mode == "on" or mode == "auto" and getattr(t.board, "LOW_POWER_POLL", False)


async def idle(t):
    """-> how long the flow waits before its next poll (ms)."""
    if hasattr(t.board, "battery_mv"):
        _battery(t)
    if not low_power(t) or t.reader is None:
        return _IDLE_MS
    await doze(t)
    return 0


def _battery(t):
    now = time.ticks_ms()
    last = getattr(t, "battery_at", None)
    if last is not None and time.ticks_diff(now, last) < getattr(t.board, "BATTERY_CHECK_MS",
                                                                   _CHECK_MS):
        return
    t.battery_at = now
    reader.call("terminal.battery", "check", t)


async def doze(t):
    lock = t.session.chip_lock
    kind = t.reader.kind
    chip = t.reader.chip
    async with lock:
        try:
            reader.call(_CHIP, "sleep", kind, chip)
        except ReaderError:
            # the chip did not take the power-down and stays awake: the next poll shows
            # whether it answers at all (the flow recovers it then)
            t.stats["doze_errors"] = t.stats.get("doze_errors", 0) + 1
            return
        t.stats["dozes"] = t.stats.get("dozes", 0) + 1
        start = time.ticks_ms()
        detect = t.config.get("detect_ms", 250)
        try:
            while time.ticks_diff(time.ticks_ms(), start) < detect:
                waiting = getattr(lock, "waiting", None)
                if waiting is not None and waiting.peek() is not None:
                    break                  # a host request waits for the chip
                if t.qr is not None and t.qr.any():
                    break                  # a QR code comes in: the flow reads it now
                await asyncio.sleep_ms(_SLICE_MS)
        finally:
            try:
                reader.call(_CHIP, "wake", kind, chip)
            except ReaderError:
                try:
                    t.reader.reinit()
                except ReaderError:
                    pass               # the next poll fails and is counted as any other


def check_keypad(board):
    """The self-test's check: no key held at power-on (one that reads held is stuck, or its row
    and column are shorted: a PIN entry would see it)."""
    from reader.chips.keypad import Keypad

    try:
        rows, cols = board.keypad()
        held = Keypad(rows, cols).held()
    except Exception as error:  # noqa: BLE001 - the self-test reports every failure
        return {"ok": False, "present": True, "error": "keypad not readable (%s): check its "
                "connector" % error}
    if held is not None:
        return {"ok": False, "present": True, "error": "key %s reads pressed at power-on: "
                "release it, else the keypad is stuck or shorted; replace it" % held}
    return {"ok": True, "present": True}
