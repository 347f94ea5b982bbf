"""The reader's power-on self-test: what works, measured, for the host and the vendor. Run
once (reader.main: `reader.run_once`), after which every module it imported leaves RAM.

Each check returns a dict with `ok` and either its findings or `error` (what failed and what
to do). A failing check never stops the others: a reader with a dead SAM still says so.
"""

import gc
import os
import sys

import reader
from reader import VERSION
from reader.terminal import devices

BOOT_COUNT_FILE = "/boot_count"


def check_filesystem(path="/"):
    """The flash filesystem is mounted, writable, and keeps data across restarts. First, the
    boot's one clean-up of what a power cut left of a one-step file replace, for every writer
    (reader.terminal.atomic_file.clean: the settings, the blacklist's delta, the journal in
    reader.main's /journal, and hcterm flash's manifest, config and font)."""
    reader.call("terminal.atomic_file", "clean", path, "/journal")
    try:
        st = os.statvfs(path)
        boots = _bump_boot_count()
    except OSError as error:
        return {"ok": False, "error": "flash filesystem not usable (%s): reflash the "
                "filesystem image or replace the board" % error}
    return {"ok": True, "size": st[0] * st[2], "free": st[0] * st[3], "boots": boots}


def _bump_boot_count():
    try:
        with open(BOOT_COUNT_FILE) as f:
            boots = int(f.read() or 0)
    except (OSError, ValueError):
        boots = 0
    boots += 1
    with open(BOOT_COUNT_FILE, "w") as f:
        f.write(str(boots))
    return boots


def check_reader_chip(board):
    """The contactless chip answers and says what it is (PN532: firmware version; MFRC522:
    its Version register)."""
    try:
        kind, chip = devices.open_reader_chip(board)
        identity = devices.chip_identity(kind, chip)
    except Exception as error:  # noqa: BLE001 - the self-test reports every failure
        return {"ok": False, "error": "reader chip not answering (%s): check its wiring "
                "and power, then restart the reader" % error}
    report = {"ok": True}
    report.update(identity)
    return report


def open_reader_chip(board):
    """Build the chip driver for the bus the board hands out (see reader.terminal.devices)."""
    return devices.open_reader_chip(board)


def check_sam(board):
    """The SAM answers reset with a T=0 ATR, runs at the fastest rate both sides allow, and
    is a PSAM: its serial (3F00/0015) and terminal number (3F00/0016) read."""
    try:
        sam = devices.open_sam_slot(board)
        atr = reader.call("chips.sam_activation", "power_on", sam)
    except Exception as error:  # noqa: BLE001 - the self-test reports every failure
        return {"ok": False, "error": "SAM not answering (%s): check that a PSAM sits in "
                "the slot, contacts up, then restart the reader" % error}
    # (the ATR's historical bytes are in "atr": the report must fit one link frame)
    report = {"ok": True, "atr": _hex(atr.raw), "ta1": "%02X" % atr.ta1, "baud": sam.baudrate}
    try:
        from reader.cards.psam_admin import PSAMAdmin
        from reader.protocols.apdu import SAMChannel

        psam = PSAMAdmin(SAMChannel(sam))
        report["serial"] = _hex(psam.info()["serial"])
        report["terminal_number"] = _hex(psam.terminal_number())
    except Exception as error:  # noqa: BLE001 - the self-test reports every failure
        report["ok"] = False
        report["error"] = ("the SAM answers reset but its serial and terminal number do not "
                           "read (%s): is it a PSAM of the health card system?" % error)
    finally:
        psam = None
        # the next checks run in the heap these leave (a reader started from source
        # compiles each module it imports); the rest goes when the self-test ends
        reader.let_go("cards.psam_admin", "cards.healthcard_items", "cards.healthcard_records",
                      "cards.healthcard_errors")
    return report


def check_blacklist():
    """The offline blacklist (reader.terminal.blacklist): installed or not, its version and
    size, stale (none installed: the clock is not set at boot, so a list's age is judged at
    the taps); a damaged file fails the check. A download the installed list has overtaken
    goes first (reader.terminal.blacklist_update.clean)."""
    from reader.terminal.blacklist import PATH, Blacklist

    reader.call("terminal.blacklist_update", "clean", PATH)
    status = Blacklist().status()
    status["stale"] = not status["installed"]
    status["ok"] = "error" not in status
    return status


def check_clock(board):
    """Whether the reader's clock can be trusted for expiry checks: only on a board that keeps
    time (board.CLOCK_KEPT); elsewhere the host sets it after boot (set-time)."""
    if getattr(board, "CLOCK_KEPT", False):
        return {"ok": True, "set": True, "source": "the board's clock"}
    return {"ok": True, "set": False, "source": "none: the host sets it (set-time); expiry "
            "unchecked until then"}


def check_watchdog(board):
    """The watchdog reader.main starts (board contract `watchdog`), and why the reader last
    started: "watchdog" says its main loop had stalled and the watchdog reset it."""
    cause = board.reset_cause() if hasattr(board, "reset_cause") else None
    if not hasattr(board, "watchdog"):
        return {"ok": True, "present": False, "last_reset": cause, "note": "this board has no "
                "watchdog: a reader whose main loop stalls is not reset"}
    report = {"ok": True, "present": True, "timeout_ms": board.WATCHDOG_MS, "last_reset": cause}
    if cause == "watchdog":
        report["note"] = ("the watchdog reset the reader: its main loop had stalled; it serves "
                          "again; if this repeats, send this report and info to the vendor")
    return report


def _hex(data):
    return "".join("%02X" % b for b in data)


def run(board):
    report = {
        "firmware": VERSION,
        "board": board.NAME,
        "micropython": "%d.%d.%d" % sys.implementation.version[:3],
        "flash": check_filesystem(),
        "reader_chip": check_reader_chip(board),
    }
    gc.collect()
    report["sam"] = check_sam(board)
    gc.collect()
    report["blacklist"] = check_blacklist()
    report["clock"] = check_clock(board)
    # a handheld's parts: checked by their own (transient) modules, only where the board has
    # them (reader.terminal.power.check_keypad, reader.terminal.battery.check_battery)
    absent = {"ok": True, "present": False}
    report["keypad"] = reader.call("terminal.power", "check_keypad", board) if hasattr(
        board, "keypad") else absent
    report["battery"] = reader.call("terminal.battery", "check_battery", board) if hasattr(
        board, "battery_mv") else dict(absent)
    report["watchdog"] = check_watchdog(board)
    report["heap_free"] = gc.mem_free()
    report["ok"] = all(item["ok"] for item in report.values() if isinstance(item, dict))
    return report
