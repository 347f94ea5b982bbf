"""The reader's power-on self-test: what works, measured, for the host and the vendor.

Each check returns a dict with `ok` and either its findings or `error` (what failed and what
to do). A failing check never stops the others: a reader with a dead SAM still says so.
"""

import gc
import os
import sys

from reader import VERSION

BOOT_COUNT_FILE = "/boot_count"


def check_filesystem(path="/"):
    """The flash filesystem is mounted, writable, and keeps data across restarts."""
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
    """The contactless chip answers and reports its firmware."""
    try:
        kind, chip = open_reader_chip(board)
        ic, ver, rev, support = chip.firmware_version()
    except Exception as error:  # noqa: BLE001 - the self-test reports every failure
        return {"ok": False, "error": "reader chip not answering (%s): check its wiring "
                "and power, then restart the reader" % error}
    return {"ok": True, "chip": kind, "ic": "%02X" % ic, "version": "%d.%d" % (ver, rev),
            "support": support}


def open_reader_chip(board):
    """Build the chip driver for the bus the board hands out."""
    wiring = board.reader_chip()
    kind = wiring[0]
    if kind == "pn532-uart":
        from reader.pn532_uart import PN532_UART
        return kind, PN532_UART(wiring[1])
    if kind == "pn532-spi":
        from reader.pn532_spi import PN532_SPI
        return kind, PN532_SPI(*wiring[1:])
    raise ValueError("board %s: unsupported reader chip %r" % (board.NAME, kind))


def run(board):
    report = {
        "firmware": VERSION,
        "board": board.NAME,
        "micropython": "%d.%d.%d" % sys.implementation.version[:3],
        "flash": check_filesystem(),
        "reader_chip": check_reader_chip(board),
    }
    gc.collect()
    report["heap_free"] = gc.mem_free()
    report["ok"] = all(item["ok"] for item in report.values() if isinstance(item, dict))
    return report
