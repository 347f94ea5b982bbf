"""The error every chip driver and protocol layer raises, and the few kinds it folds into.

Each layer raises its own subclass (`PN532Error`, `RC522Error`, `TCLError`, `SAMError`,
`APDUError`, `QRCodeError`) carrying the exact code and meaning; `kind` says what a caller
can do about it, so the terminal maps any of them to one of a handful of actions without
knowing which chip is below (as libnfc folds its chip codes into NFC_ETIMEOUT, NFC_ERFTRANS…).
"""

TIMEOUT = "timeout"            # the card or chip did not answer in time: retry or poll again
TRANSMISSION = "transmission"  # corrupted frame (CRC, parity, framing): retry
PROTOCOL = "protocol"          # the peer broke the protocol: reset the card session
CARD_GONE = "card-gone"        # the card left the field: wait for the next tap
AUTH = "auth"                  # authentication refused
CHIP = "chip"                  # the reader chip misbehaves or was misused: re-init the chip
UNSUPPORTED = "unsupported"    # the card or request needs something this reader lacks
CARD = "card"                  # the card answered with an error status word


class ReaderError(Exception):
    """Base of the drivers' errors: `code` (layer specific), `kind` (above), `where`."""

    where = "reader"

    def __init__(self, code, kind, message):
        super().__init__("%s: %s" % (self.where, message))
        self.code = code
        self.kind = kind
        self.message = message

    def retryable(self):
        return self.kind == TIMEOUT or self.kind == TRANSMISSION


def table_text(table, code, skip=1):
    """The text of entry `code` in a bytes table of entries `code byte, [skip-1 bytes], text,
    "\n"` (a constant read in place, instead of a dict of str built in RAM); None if absent."""
    at = 0
    while at < len(table):
        end = table.find(b"\n", at + skip)     # from after the code: 0x0A may be a code
        if table[at] == code:
            return table[at + skip:end].decode()
        at = end + 1
    return None


def table_line(table, name, sep=b" "):
    """The rest of the line `"\n" name sep …` in a bytes table of named lines (a constant read
    in place; its first line starts with "\n" too), as str; None if no line has that name."""
    key = b"\n" + name.encode() + sep
    at = table.find(key)
    if at < 0:
        return None
    start = at + len(key)
    return table[start:table.find(b"\n", start)].decode()
