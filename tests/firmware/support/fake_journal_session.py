# What the offline tap journal (reader.terminal.journal) reads of the reader's session, and a
# fresh sim flash for it: mptest_journal.py and mptest_journal_link.py use them. This module
# imports nothing of the journal (a test checks that its module is not left in RAM).
import os

import vfs
from cut_flash import CutFlash, mount

DIR = "/jf/journal"
UID = b"\x01\x02\x03\x04\x05\x06\x07\x08"      # the board's unique id ("0102…08" in journal_id)


class Clock:
    """The terminal's clock, as set by a host (set-time)."""
    clock_offset = 0
    clock_set = True


class Board:
    @staticmethod
    def unique_id():
        return UID


class Session:
    """The settings journal_max and journal_full, the terminal's clock, the board."""

    def __init__(self, most=1000, full="refuse"):
        self.config = {"journal_max": most, "journal_full": full}
        self.terminal = Clock()
        self.board = Board()


def fresh(name="j.img", blocks=64):
    """A new littlefs on a sim NOR flash image in $MPTEST_TMP, mounted at /jf: (image, flash)."""
    image = os.getenv("MPTEST_TMP") + "/" + name
    try:
        os.remove(image)
    except OSError:
        pass
    vfs.VfsLfs2.mkfs(CutFlash(image, blocks=blocks))
    return image, mount(image, "/jf")
