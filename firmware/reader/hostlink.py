"""Host link: frame codec and message types of the reader's USB/serial link.

The one definition, shared: the firmware's link server (reader.terminal.link_server) and the host's
client (hcterm.link) both import this module. Specification with test vectors:
docs/host-link.md. Pure code: bytes in, values out, no I/O.

Frame on the wire: SYNC, then the body with byte stuffing, then SYNC. The body is
    VER KIND SEQ MSG LEN_HI LEN_LO PAYLOAD… CRC_HI CRC_LO
with CRC-16/CCITT-FALSE over VER…PAYLOAD. Stuffing replaces each byte of ESCAPED by
ESC (b ^ 0x20), so SYNC marks frame edges only, and the REPL's control bytes (01 raw REPL,
02 friendly REPL, 03 Ctrl-C, 04 Ctrl-D, 05 paste mode) and XON/XOFF (11, 13) never appear.

`FrameWriter` (streams a frame through a small buffer) and `Decoder` use buffers allocated
once; the decoder allocates nothing per byte.
Payloads are JSON objects in UTF-8 (`pack`/`unpack`), binary values as hex strings.
"""

import json

from micropython import const

from reader.crc import crc16_ccitt
from reader.errors import table_entries, table_line, table_text

VERSION = const(1)
SYNC = const(0x7E)
ESC = const(0x1B)
_FLIP = const(0x20)
MAX_PAYLOAD = const(1024)
HEADER = const(6)    # VER KIND SEQ MSG LEN_HI LEN_LO
TRAILER = const(2)   # CRC_HI CRC_LO

# Bytes sent only as ESC (b ^ 0x20); `b in ESCAPED` is the test (a constant, no RAM table).
ESCAPED = b"\x01\x02\x03\x04\x05\x11\x13\x1b\x7e"

# Frame kinds.
REQUEST = const(0x10)    # host -> reader, acknowledged, answered by RESPONSE or ERROR
RESPONSE = const(0x20)   # reader -> host, acknowledged; SEQ is the reader's own
ERROR = const(0x21)      # reader -> host, acknowledged: the request failed, payload says why
EVENT = const(0x30)      # reader -> host, acknowledged
ACK = const(0x40)        # either way: SEQ and MSG of the data frame received; never answered
_KIND_CODES = b"\x10\x20\x21\x30\x40"

# Messages (MSG byte). Requests, answered with the same MSG:
HELLO = const(0x00)          # {"session": n} -> device info; starts a session (see docs)
INFO = const(0x01)           # {} -> device info
SELFTEST = const(0x02)       # {} -> the power-on self-test report
CONFIG_GET = const(0x03)     # {} -> the whole configuration
CONFIG_SET = const(0x04)     # {name: value, …} -> the whole configuration after the change
SET_TIME = const(0x05)       # {"time": "YYYYMMDDhhmmss"} -> {"today"}: the reader's clock
POWER_ON = const(0x10)       # {"slot": s} -> {"slot", "atr" | "ats", "uid"}
POWER_OFF = const(0x11)      # {"slot": s} -> {"slot"}
APDU = const(0x12)           # {"slot": s, "apdu": hex} -> {"rsp": hex (data + SW1 SW2)}
READ = const(0x20)           # {"files": [...]} | {"fields": [...]} -> {field: value}
READ_FILE = const(0x21)      # {"file", "offset", "length"} -> {"data": hex}
WRITE = const(0x22)          # {"file", "record", "fields": {…}} -> {}
VERIFY_PIN = const(0x23)     # {"pin"} -> {"retries"}
CHANGE_PIN = const(0x24)     # {"old", "new"} -> {}
WRITE_FILE = const(0x25)     # {"file", "offset", "data": hex} -> {"written"}: binary, plain 00D6
VISIT_FLAG = const(0x26)     # {"file", "record", "used"} -> {…}: DF03 index flag 84D2 / 840C
VERIFY_PIN_ON_READER = const(0x27)  # {"timeout_s"?} -> {"outcome", "retries"}: typed on the
                                    # reader's keypad, the PIN never on the link
FEEDBACK = const(0x30)       # {"beep": {"ms", "count"}, "led": {"on"}, "display": text}
BLACKLIST_STATUS = const(0x40)
BLACKLIST_UPDATE = const(0x41)
REPL = const(0x70)           # {} -> {"resume": text}; then the reader hands the port to the REPL
# Events (reader -> host):
EV_TAP = const(0x80)
EV_REMOVED = const(0x81)
EV_QR = const(0x82)
EV_ERROR = const(0x83)
EV_SELFTEST = const(0x84)

# Journaled events (docs/tap-journal.md): a tap or qr event the reader kept on its flash while
# the link was down carries these fields when it is delivered. The host's ACK of its frame
# acknowledges it; a host drops one whose (JOURNAL_ID, JOURNAL_SEQ) or EVENT_ID it has already
# seen (a reader cut off before it noted the ACK sends it again). The attributes EVENT_ID,
# JOURNAL_SEQ, … (see __getattr__) give the field names, from this bytes table read in place
# (module constants would stay in the reader's RAM):
#   EVENT_ID     every tap and qr event of a reader with a journal: "NONCE-N", a random
#                32-bit number drawn at boot (hex) and a count; the same in the live frame
#                and in the journal's copy
#   JOURNAL_SEQ  the event's number in the journal: rises by one per event
#   JOURNAL_ID   the reader's unique id and the journal's epoch: "UID-EPOCH" in hex
#   TAPPED_AT    when it happened, by the reader's clock (YYYYMMDDhhmmss)
#   CLOCK_SET    whether the reader's clock was set then (else tapped_at is its own clock)
_JOURNAL_FIELDS = (b"\nEVENT_ID event_id\nJOURNAL_SEQ journal_seq\nJOURNAL_ID journal_id"
                   b"\nTAPPED_AT tapped_at\nCLOCK_SET clock_set\n")

# The names of the tables below, as bytes constants read in place (flash / the ROMFS image),
# in reader.errors' table format: an entry is its code byte, the name, "\n". KINDS, MESSAGES,
# ERRORS and SLOTS (module attributes, see __getattr__) give them as dicts for the host; the
# firmware looks names up only when it reports an error.
_KIND_NAMES = b"\x10request\n\x20response\n\x21error\n\x30event\n\x40ack\n"
_MESSAGE_NAMES = (
    b"\x00hello\n\x01info\n\x02selftest\n\x03config-get\n\x04config-set\n\x05set-time\n"
    b"\x10power-on\n\x11power-off\n\x12apdu\n\x20read\n\x21read-file\n\x22write\n"
    b"\x23verify-pin\n\x24change-pin\n\x25write-file\n\x26visit-flag\n\x27verify-pin-on-reader\n"
    b"\x30feedback\n\x31screen\n\x40blacklist-status\n\x41blacklist-update\n\x70repl\n"
    b"\x80tap\n\x81removed\n\x82qr\n\x83error\n\x84selftest\n"
)

# Error codes in ERROR payloads {"code": n, "name": …, "message": …}.
BAD_REQUEST = const(1)
UNKNOWN_MESSAGE = const(2)
NOT_SUPPORTED = const(3)
NO_CARD = const(4)
NO_SLOT = const(5)
DEVICE = const(6)
CARD = const(7)
AUTH = const(8)
CONFIG = const(9)
INTERNAL = const(10)
_ERROR_NAMES = (
    b"\x01bad-request\n"          # malformed payload or a parameter out of range
    b"\x02unknown-message\n"      # a MSG this firmware does not know
    b"\x03not-supported\n"        # known, but not (yet) in this firmware or board
    b"\x04no-card\n"              # no card in the field / slot not powered
    b"\x05no-slot\n"              # the board has no such slot
    b"\x06device\n"               # a chip or slot driver failed (see "kind")
    b"\x07card\n"                 # the card answered an error status word
    b"\x08auth\n"                 # PIN or authentication refused
    b"\x09config\n"               # configuration could not be stored
    b"\x0Ainternal\n"             # a firmware fault: report it
)

# Slots: names and the national reader interface's slot numbers (docs/host-link.md).
_SLOT_NAMES = b"\x01card\n\x11sam1\n\x12sam2\n\x13sam3\n\x14sam4\n"


def _entries(table):
    """(code, name) of each entry of a names table above (a new str each: error paths)."""
    for code, start, end in table_entries(table):
        yield code, table[start:end].decode()


def message_name(msg, default="?"):
    """The name of message type `msg` ("info", "tap", …)."""
    return table_text(_MESSAGE_NAMES, msg) or default


def error_name(code, default="?"):
    """The name of error code `code` ("bad-request", …)."""
    return table_text(_ERROR_NAMES, code) or default


def __getattr__(name):
    # The tables as dicts, built when asked for (host tools, tests, rare firmware paths).
    table = {"KINDS": _KIND_NAMES, "MESSAGES": _MESSAGE_NAMES, "ERRORS": _ERROR_NAMES}.get(name)
    if table is not None:
        return dict(_entries(table))
    if name == "SLOTS":
        return {n: c for c, n in _entries(_SLOT_NAMES)}
    field = table_line(_JOURNAL_FIELDS, name)
    if field:
        return field
    raise AttributeError(name)


def slot_name(slot):
    """'card' / 'sam1'…'sam4' from a name or a national slot number; ValueError otherwise."""
    for number, name in _entries(_SLOT_NAMES):
        if slot == number or isinstance(slot, str) and slot.lower() == name:
            return name
    raise ValueError("unknown slot %r: use card, sam1..sam4 or 0x01, 0x11..0x14" % (slot,))


def pack(obj):
    """A payload: compact JSON in UTF-8."""
    return json.dumps(obj, separators=(",", ":")).encode()


def unpack(payload):
    """A payload's JSON object ({} for an empty payload); ValueError if it is not one."""
    if not len(payload):
        return {}
    obj = json.loads(bytes(payload))
    if not isinstance(obj, dict):
        raise ValueError("payload is not a JSON object")
    return obj


class _Collect:
    """A port that keeps what is written (for `encode`)."""

    def __init__(self):
        self.data = bytearray()

    def write(self, data):
        self.data += data


def encode(kind, seq, msg, payload=b"", max_payload=MAX_PAYLOAD):
    """One frame as new bytes (host side and tests; the firmware streams frames with a
    FrameWriter). `max_payload` above the protocol's only to play a peer that breaks it."""
    port = _Collect()
    FrameWriter(max_payload=max_payload).write(port, kind, seq, msg, payload)
    return bytes(port.data)


class FrameWriter:
    """Writes frames to a stream (`port.write`) through a small buffer: the firmware's
    encoder, with no frame-sized buffer (a frame of a 1 KiB payload goes out in pieces of
    `chunk` bytes, one after the other, with nothing else in between)."""

    def __init__(self, chunk=128, max_payload=MAX_PAYLOAD):
        self.max_payload = max_payload
        self._out = bytearray(chunk + 2)     # + room for one escaped byte over the mark
        self._mv = memoryview(self._out)
        self._hdr = bytearray(HEADER)
        self._port = None

    def write(self, port, kind, seq, msg, payload=b""):
        n = len(payload)
        if n > self.max_payload:
            raise ValueError("payload of %d bytes is over the maximum %d"
                             % (n, self.max_payload))
        h = self._hdr
        h[0] = VERSION
        h[1] = kind
        h[2] = seq & 0xFF
        h[3] = msg
        h[4] = n >> 8
        h[5] = n & 0xFF
        crc = crc16_ccitt(payload, crc16_ccitt(h))
        self._port = port
        self._out[0] = SYNC
        at = self._put(1, h)
        at = self._put(at, payload)
        h[0] = crc >> 8
        h[1] = crc & 0xFF
        at = self._put(at, memoryview(h)[0:2])
        self._out[at] = SYNC
        port.write(self._mv[0:at + 1])
        self._port = None

    def _put(self, at, data):
        out = self._out
        full = len(out) - 2
        for b in data:
            if at >= full:
                self._port.write(self._mv[0:at])
                at = 0
            if b in ESCAPED:
                out[at] = ESC
                out[at + 1] = b ^ _FLIP
                at += 2
            else:
                out[at] = b
                at += 1
        return at


_SMALL = const(64)   # the decoder's buffer between frames (header, 56 payload bytes, CRC)
_HUNT = const(0)     # outside a frame: bytes are garbage (REPL text, noise)
_IN = const(1)
_ESCAPED = const(2)
_DROP = const(3)     # a broken frame: skip to the next SYNC


class Decoder:
    """Feed bytes with `feed_byte(b)`; it returns True when a good frame is complete, whose
    fields are then in `kind`, `seq`, `msg`, `payload` (a memoryview into the decoder's
    buffer, valid until the next byte is fed) and `crc`. A SYNC always starts a new frame,
    so a decoder in any state is back in step at the next frame's first byte.

    Counters: frames (good), crc_errors, bad_frames (too short, length mismatch, bad
    escape, raw control byte inside, unknown kind), overruns (longer than the maximum),
    bad_version, garbage (bytes outside frames)."""

    def __init__(self, max_payload=MAX_PAYLOAD):
        # The buffer grows with the frame (doubling, up to the maximum) and goes back to its
        # small size when the next frame starts: the ACKs and short requests of a session
        # never hold the 1 KiB a maximum payload needs.
        self._max = HEADER + max_payload + TRAILER
        self._small()
        self._n = 0
        self._state = _HUNT
        self.kind = self.seq = self.msg = self.crc = 0
        self.payload = self._mv[0:0]
        self.frames = self.crc_errors = self.bad_frames = self.overruns = 0
        self.bad_version = self.garbage = 0

    def reset(self):
        self._n = 0
        self._state = _HUNT

    def feed_byte(self, b):
        state = self._state
        if b == SYNC:
            done = False
            if state == _IN and self._n:
                done = self._finish()
            elif state == _ESCAPED:
                self.bad_frames += 1
            self._state = _IN
            self._n = 0
            if len(self._buf) > _SMALL:
                self._small()
            return done
        if state == _HUNT or state == _DROP:
            self.garbage += 1
            return False
        if state == _ESCAPED:
            b ^= _FLIP
            if b not in ESCAPED:
                return self._drop()
        elif b == ESC:
            self._state = _ESCAPED
            return False
        elif b in ESCAPED:
            return self._drop()
        n = self._n
        if n == len(self._buf) and not self._grow():
            self.overruns += 1
            self._state = _DROP
            return False
        self._buf[n] = b
        self._n = n + 1
        self._state = _IN
        return False

    def _small(self):
        self._buf = bytearray(min(_SMALL, self._max))
        self._mv = memoryview(self._buf)

    def _grow(self):
        """Room for more bytes: False at the maximum (an overrun) or without the RAM for it
        (the frame is dropped; the host sends it again when no ACK comes)."""
        n = len(self._buf)
        if n >= self._max:
            return False
        try:
            buf = bytearray(min(2 * n, self._max))
        except MemoryError:
            return False
        buf[0:n] = self._buf
        self._buf = buf
        self._mv = memoryview(buf)
        return True

    def _drop(self):
        self.bad_frames += 1
        self._state = _DROP
        return False

    def _finish(self):
        n = self._n
        buf = self._buf
        if n < HEADER + TRAILER or ((buf[4] << 8) | buf[5]) != n - HEADER - TRAILER:
            self.bad_frames += 1
            return False
        crc = crc16_ccitt(self._mv[0:n - TRAILER])
        if crc != (buf[n - 2] << 8) | buf[n - 1]:
            self.crc_errors += 1
            return False
        if buf[0] != VERSION:
            self.bad_version += 1
            return False
        if buf[1] not in _KIND_CODES:
            self.bad_frames += 1
            return False
        self.kind = buf[1]
        self.seq = buf[2]
        self.msg = buf[3]
        self.crc = crc
        self.payload = self._mv[HEADER:n - TRAILER]
        self.frames += 1
        return True

    def feed(self, data):
        """All good frames completed by `data`: a list of (kind, seq, msg, payload bytes).
        Allocates per frame; for the host and tests."""
        frames = []
        for b in data:
            if self.feed_byte(b):
                frames.append((self.kind, self.seq, self.msg, bytes(self.payload)))
        return frames

    def counters(self):
        return {"frames": self.frames, "crc_errors": self.crc_errors,
                "bad_frames": self.bad_frames, "overruns": self.overruns,
                "bad_version": self.bad_version, "garbage": self.garbage}
