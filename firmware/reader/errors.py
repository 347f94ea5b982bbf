"""The error every chip driver and protocol layer raises, the few kinds it folds into, and the
one bytes-table format the firmware keeps its tables in.

Each layer raises its own subclass (`PN532Error`, `RC522Error`, `TCLError`, `SAMError`,
`ISO3Error`, `APDUError`, `QRCodeError`) carrying the exact code and meaning; `kind` says what
a caller can do about it, so the terminal maps any of them to one of a handful of actions
without knowing which chip is below (as libnfc folds its chip codes into NFC_ETIMEOUT,
NFC_ERFTRANS…). A subclass names its layer (`where`) and its table of codes (`MESSAGES`); the
one constructor, `ReaderError(code, detail)`, looks the code up there.

Tables are bytes constants, read in place from flash (or the virtual reader's ROMFS image)
instead of dicts built in RAM, in one format with two kinds of key:
- coded entries: the code (`width` bytes, big-endian), the text, "\\n". An error table's text
  starts with the kind's letter (`KIND_LETTERS`): b"\\x01ttimeout, the card did not answer\\n".
  Read with `table_text(table, code)`, `table_kind(table, code)`, `table_entries(table)`.
- named lines: "\\n", the name, a separator, the rest: b"\\nok green 100 1\\n". Read with
  `table_line(table, name)`.
"""

TIMEOUT = "timeout"            # the card or chip did not answer in time: retry or poll again
TRANSMISSION = "transmission"  # corrupted frame (CRC, parity, framing): retry
PROTOCOL = "protocol"          # the peer broke the protocol: reset the card session
CARD_GONE = "card-gone"        # the card left the field: wait for the next tap
AUTH = "auth"                  # authentication refused
CHIP = "chip"                  # the reader chip misbehaves or was misused: re-init the chip
UNSUPPORTED = "unsupported"    # the card or request needs something this reader lacks
CARD = "card"                  # the card answered with an error status word

# The kind letters of error tables, in the order of KINDS.
KIND_LETTERS = b"txpgacuk"
KINDS = (TIMEOUT, TRANSMISSION, PROTOCOL, CARD_GONE, AUTH, CHIP, UNSUPPORTED, CARD)


class ReaderError(Exception):
    """Base of the drivers' errors: `code` (layer specific), `kind` (above), `where`.

    `ReaderError(code, detail)`: the meaning and kind of `code` from the class's MESSAGES
    table (an unknown code: "<where> error <code>", kind protocol), `detail` added after a
    colon. `ReaderError(code, detail, kind, message)`: a message of its own."""

    where = "reader"
    MESSAGES = b""

    def __init__(self, code, detail="", kind=None, message=None):
        if message is None:
            found = table_kind(self.MESSAGES, code & 0xFF)
            kind, message = found or (PROTOCOL, "%s error %d" % (self.where, code))
            if detail:
                message += ": " + detail
        super().__init__("%s: %s" % (self.where, message))
        self.code = code
        self.kind = kind or PROTOCOL
        self.message = message

    def retryable(self):
        return self.kind == TIMEOUT or self.kind == TRANSMISSION


def table_entries(table, width=1):
    """(code, start, end) of each coded entry of `table`: the text is table[start:end]."""
    at = 0
    while at < len(table):
        end = table.find(b"\n", at + width)     # from after the code: 0x0A may be a code
        code = 0
        for i in range(width):
            code = (code << 8) | table[at + i]
        yield code, at + width, end
        at = end + 1


def table_text(table, code, width=1):
    """The text of entry `code` of a coded table, as str; None if absent."""
    for c, start, end in table_entries(table, width):
        if c == code:
            return table[start:end].decode()
    return None


def table_kind(table, code, width=1):
    """(kind, text) of entry `code` of an error table (text after the kind letter); None if
    absent."""
    for c, start, end in table_entries(table, width):
        if c == code:
            return KINDS[KIND_LETTERS.find(table[start:start + 1])], \
                table[start + 1:end].decode()
    return None


def table_line(table, name, sep=b" "):
    """The rest of the line `"\\n" name sep …` of a table of named lines (its first line
    starts with "\\n" too), as str; None if no line has that name."""
    key = b"\n" + name.encode() + sep
    at = table.find(key)
    if at < 0:
        return None
    start = at + len(key)
    return table[start:table.find(b"\n", start)].decode()
