"""The offline tap journal (docs/tap-journal.md): tap and QR events kept on the flash while
the host link is down, delivered in order when the host is back. Transient: the link server
(reader.terminal.link_server) imports it for each append and each delivery while the link is
down or the journal holds events, and lets it go after the call, keeping only the journal's
numbers (`Journal.state()`, a list); with the host connected it is not in RAM.

A folder on the littlefs flash (/journal):

    head        "J1" FIRST(4) EPOCH(4) CRC(2): the lowest sequence number still kept (those
                below it were delivered or dropped) and the journal's random id; replaced in
                one step (written under a temporary name, then renamed over the old one)
    SSSSSSSS    a segment: the entries of sequence numbers S to S+15 (S in 8 hex digits)

An entry: A5 MSG SEQ(4) LEN(2) PAYLOAD CRC(2), CRC-16/CCITT-FALSE over the bytes before it,
numbers big endian. PAYLOAD is the event's JSON with "tapped_at" and "clock_set" in it;
"journal_seq" and "journal_id" are added when it is sent. An append writes one entry at the
end of its segment and closes the file (littlefs commits it whole or not at all); an entry
whose mark, sequence number, length or CRC is wrong is never delivered, and `Journal()` (the
boot's look) cuts it and what follows off its segment and removes what a cut left: temporary
files (the boot's reader.terminal.atomic_file.clean removed them before), segments with
nothing kept.
"""

import os
import time

from micropython import const

from reader.crc import crc16_ccitt
from reader.hostlink import (
    CLOCK_SET,
    EV_ERROR,
    EV_QR,
    EV_TAP,
    EVENT,
    JOURNAL_ID,
    JOURNAL_SEQ,
    MAX_PAYLOAD,
    TAPPED_AT,
)

SEGMENT = const(16)          # entries per segment file
_MARK = const(0xA5)
_ENTRY_HEAD = const(8)       # A5 MSG SEQ(4) LEN(2)
_HEAD = b"J1"
_SPARE = const(112)          # payload bytes the delivery adds (journal_seq, journal_id)


def _u32(data, at):
    return (data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]


def _be(n, size):
    return bytes((n >> (8 * (size - 1 - i))) & 0xFF for i in range(size))


def _with(payload, extra):
    """JSON object `payload` (bytes) with the members `extra` (b'"a":1,…') added at its end."""
    if len(payload) <= 2:
        return b"{" + extra + b"}"
    return payload[:-1] + b"," + extra + b"}"


def _pieces(payload, extra):
    """`_with(payload, extra)` as the pieces it is made of, none of them a copy of `payload`:
    an append writes them one after the other (a tap's heap is fragmented: a copy of its
    ~500 bytes may find no block)."""
    if len(payload) <= 2:
        return (b"{", extra, b"}")
    return (memoryview(payload)[0:len(payload) - 1], b",", extra, b"}")


def entry_head(msg, seq, payload):
    """An entry's header and its CRC (what goes before and after the payload)."""
    head = bytes((_MARK, msg)) + _be(seq, 4) + _be(len(payload), 2)
    return head, _be(crc16_ccitt(payload, crc16_ccitt(head)), 2)


def entry_bytes(msg, seq, payload):
    """One entry as stored (docs/tap-journal.md; the tests' vectors)."""
    head, crc = entry_head(msg, seq, payload)
    return head + payload + crc


def head_bytes(first, epoch):
    body = _HEAD + _be(first, 4) + _be(epoch, 4)
    return body + _be(crc16_ccitt(body), 2)


# -- the link server's side (reader.terminal.link_server calls these through reader.call) --
def call(server, what, *args):
    """The link server's one entry (a number, not a name: a name would be interned in its
    RAM): 0 look (at boot), 1 keep(msg, payload), 2 went_down(inflight), 3 the next event
    to send (_next), 4 delivered(seq): the host acknowledged it."""
    return (_look, keep, went_down, _next, _delivered)[what](server, *args)


def _journal(server, method, *args):
    """Journal(…).method(*args) for link server `server`, which keeps the journal's folder,
    session and numbers (`Journal.state()`) in `server.jn` between calls."""
    jn = server.jn
    journal = Journal(jn[0], jn[1], server.stats, jn[2])
    result = getattr(journal, method)(*args)
    jn[2] = journal.state()
    return result


def _look(server):
    return _journal(server, "waiting")


def _delivered(server, seq):
    server.stats["journal_delivered"] = server.stats.get("journal_delivered", 0) + 1
    return _journal(server, "delivered", seq)


def keep(server, msg, payload):
    """Journal event `msg` (`payload`, bytes), which happens now; False when the journal
    refuses it (`server.jn[7]` says why)."""
    answer = _journal(server, "put", msg, payload, time.time())
    server.jn[7] = None if answer is True else answer
    server._out_ready.set()
    return answer is True


def went_down(server, inflight):
    """The first try of frame `inflight` went unacknowledged: the outbox's tap and QR events
    move to the journal (those it refuses stay), the one in flight too, which is still
    tried: if the host acknowledges it after all, its entry counts as delivered
    (`server.jn[3]`)."""
    box = server._outbox
    i = 0
    while i < len(box):
        e = box[i]
        if e[0] == EVENT and (e[1] == EV_TAP or e[1] == EV_QR) and \
                keep(server, e[1], e[2]):
            box.pop(i)
            if e is inflight:
                server.jn[3] = server.jn[2][1] - 1     # the number it got
            continue
        i += 1
    server.jn[7] = None          # (a refused one stays in the outbox: no tap refused now)


def _next(server):
    """The journal's next event as the link server's outbox entry with its journal seq:
    [EVENT, msg, payload, None, seq]; None when what waited did not check (skipped)."""
    found = _journal(server, "peek")
    if found is None:
        return None
    seq, msg, payload = found
    return [EVENT, msg, payload, None, seq]


def _remove(name):
    try:
        os.remove(name)
    except OSError:
        pass


def _head(name, data):
    """Replace the head (12 bytes) in one step, by the rule of reader.terminal.atomic_file
    (name + ".tmp", flushed, renamed; the boot's clean-up removes what a cut left) but without
    importing it: a delivery's note runs beside the host's requests at the flow's budget, and
    the helper's 1.1 KB there made host requests fail with a MemoryError. Never refused for
    room: it lives in its folder's metadata, and it is what lets a full journal drop what was
    delivered."""
    with open(name + ".tmp", "wb") as f:
        f.write(data)
        f.flush()
    os.rename(name + ".tmp", name)


class Journal:
    """The journal in folder `folder` (made on first use). `session`
    (reader.terminal.session.Session) gives the settings journal_max and journal_full, the
    reader's clock (its terminal) and the board's unique id; `stats` is the link server's
    counters (journal_dropped, journal_refused, journal_errors, journal_damaged); `state`:
    what `state()` gave before (None: look at the flash, as at boot)."""

    def __init__(self, folder, session, stats, state=None):
        self.folder = folder
        self.session = session
        self.stats = stats
        if state is not None:
            self.first, self.next, self.sent, self.epoch, self.id, self._cursor = state
            return
        self._cursor = None          # (seq, segment name, offset) of the next to deliver
        try:
            names = os.listdir(folder)
        except OSError:
            os.mkdir(folder)
            names = []
        self.first, epoch = self._read_head()
        if epoch is None:
            epoch = _u32(os.urandom(4), 0)
            _head(folder + "/head", head_bytes(self.first, epoch))
        uid = getattr(session.board, "unique_id", None) if session else None
        from binascii import hexlify

        self.epoch = epoch
        self.id = ("%s-%08X" % (hexlify(uid()).decode().upper(), epoch) if uid
                   else "%08X" % epoch)
        self.next = self._clean(names)
        self.sent = self.first       # the next to deliver (those before it: acknowledged)
        self._trim()                 # a cut came between an append and its drop

    def state(self):
        """The journal's numbers, to make it again without looking at the flash."""
        return [self.first, self.next, self.sent, self.epoch, self.id, self._cursor]

    # -- looking at the flash -----------------------------------------------------------
    def _read_head(self):
        try:
            with open(self.folder + "/head", "rb") as f:
                raw = f.read(12)
        except OSError:
            return 0, None
        if len(raw) != 12 or raw[0:2] != _HEAD or crc16_ccitt(raw[0:10]) != \
                (raw[10] << 8) | raw[11]:
            return 0, None           # damaged: a new journal (its id says so to the host)
        return _u32(raw, 2), _u32(raw, 6)

    def _name(self, seq):
        return "%s/%08x" % (self.folder, seq - seq % SEGMENT)

    def _entries(self, f):
        """(seq, offset, msg, length) of each good entry of segment file `f`, in order; stops
        at the first bad one (its offset is then in self._bad)."""
        at = 0
        head = bytearray(_ENTRY_HEAD)
        self._bad = None
        while True:
            f.seek(at)
            n = f.readinto(head)
            if not n:
                return
            length = (head[6] << 8) | head[7]
            if n != _ENTRY_HEAD or head[0] != _MARK or not self._good(f, head, length):
                self._bad = at
                return
            yield _u32(head, 2), at, head[1], length
            at += _ENTRY_HEAD + length + 2

    @staticmethod
    def _good(f, head, length):
        """Whether the payload and CRC that follow entry header `head` in `f` check."""
        crc = crc16_ccitt(head)
        buf = bytearray(64)
        left = length
        while left:
            n = f.readinto(memoryview(buf)[0:min(64, left)])
            if not n:
                return False
            crc = crc16_ccitt(memoryview(buf)[0:n], crc)
            left -= n
        tail = f.read(2)
        return len(tail) == 2 and crc == (tail[0] << 8) | tail[1]

    def _clean(self, names):
        """At open (the boot): remove what a power cut left, cut damaged tails; -> next seq."""
        last = self.first - 1
        for name in sorted(names):
            path = self.folder + "/" + name
            if name == "head":
                continue
            try:
                base = int(name, 16) if len(name) == 8 else -1
            except ValueError:
                base = -1
            if base < 0 or base + SEGMENT <= self.first:
                _remove(path)    # a temporary file, or a segment delivered or dropped
                continue
            kept, end = self._check(path, base)
            if kept is None:
                _remove(path)
            else:
                last = max(last, kept)
                if end is not None:
                    self._cut(path, end)
        return last + 1

    def _check(self, path, base):
        """(last good seq >= first or None, offset of a damaged tail or None)."""
        kept = None
        with open(path, "rb") as f:
            for seq, at, _msg, _length in self._entries(f):
                if not base <= seq < base + SEGMENT:
                    self._bad = at
                    break
                if seq >= self.first:
                    kept = seq
            bad = self._bad
        return kept, bad

    def _cut(self, path, end):
        """Keep the first `end` bytes of segment `path` (a damaged entry and what follows go)."""
        def copy(out):
            buf = bytearray(128)
            with open(path, "rb") as src:
                left = end
                while left:
                    n = src.readinto(memoryview(buf)[0:min(128, left)])
                    if not n:
                        break
                    out.write(memoryview(buf)[0:n])
                    left -= n
        # (the boot's look: no host request is served beside it)
        import reader

        reader.call("terminal.atomic_file", "replace", path, copy, end)

    # -- adding -----------------------------------------------------------------------------
    def waiting(self):
        """Events kept and not yet acknowledged by the host."""
        return self.next - self.sent

    def put(self, msg, payload, when):
        """Keep event `msg` (its JSON `payload`, bytes), which happened at `when` (time.time()):
        True, or why it cannot be kept (bytes): b"journal_full" (the setting journal_full
        is "refuse"; counted as journal_refused) or b"journal_error" (the flash refused the
        write; journal_errors)."""
        most, drop = self._bound()
        if self.waiting() >= most and not drop:
            self.stats["journal_refused"] = self.stats.get("journal_refused", 0) + 1
            return b"journal_full"
        pieces = _pieces(payload, self._stamp(when))
        length = 0
        for piece in pieces:
            length += len(piece)
        if length + _SPARE > MAX_PAYLOAD:
            payload = _with(b'{"status":"error","reason":"too_big","message":"the event was '
                            b'too big for the journal; the card was read"}', self._stamp(when))
            pieces = (payload,)
            length = len(payload)
            msg = EV_ERROR
        try:
            head = bytes((_MARK, msg)) + _be(self.next, 4) + _be(length, 2)
            crc = crc16_ccitt(head)
            for piece in pieces:
                crc = crc16_ccitt(piece, crc)
            with open(self._name(self.next), "ab") as f:    # committed whole at close
                f.write(head)
                for piece in pieces:
                    f.write(piece)
                f.write(_be(crc, 2))
        except OSError:
            self.stats["journal_errors"] = self.stats.get("journal_errors", 0) + 1
            return b"journal_error"
        self.next += 1
        self._trim()          # after the new one is kept: a cut between loses nothing
        return True

    def _bound(self):
        """(journal_max, whether the oldest goes when full) from the settings."""
        config = self.session.config if self.session else {}
        return config.get("journal_max", 1000), config.get("journal_full") == "drop_oldest"

    def _trim(self):
        """Drop the oldest events over journal_max (setting journal_full "drop_oldest")."""
        most, drop = self._bound()
        over = self.waiting() - most
        if drop and over > 0:
            self.stats["journal_dropped"] = self.stats.get("journal_dropped", 0) + over
            self._set_first(self.sent + over)

    def _stamp(self, when):
        t = self.session.terminal if self.session else None
        offset = t.clock_offset if t else 0
        at = time.localtime(int(when) + offset)
        return ('"%s":"%04d%02d%02d%02d%02d%02d","%s":%s'
                % (TAPPED_AT, at[0], at[1], at[2], at[3], at[4], at[5], CLOCK_SET,
                   "true" if t and t.clock_set else "false")).encode()

    # -- delivering -------------------------------------------------------------------------
    def peek(self):
        """(seq, msg, payload) of the next event to deliver, "journal_seq" and "journal_id"
        added; None when none waits. A damaged entry is skipped (journal_damaged)."""
        while self.sent < self.next:
            found = self._read(self.sent)
            if found is not None:
                msg, payload = found
                extra = ('"%s":%d,"%s":"%s"' % (JOURNAL_SEQ, self.sent, JOURNAL_ID,
                                                self.id)).encode()
                return self.sent, msg, _with(payload, extra)
            self.stats["journal_damaged"] = self.stats.get("journal_damaged", 0) + 1
            self.delivered(self.sent)
        return None

    def _read(self, seq):
        """(msg, payload) of entry `seq`, or None (damaged or missing)."""
        name = self._name(seq)
        c = self._cursor
        try:
            with open(name, "rb") as f:
                found = self._at(f, c[2]) if c and c[0] == seq and c[1] == name else None
                if not found or found[0][0] != seq:
                    found = self._entries(f)
                for s, at, msg, length in found:
                    if s == seq:
                        f.seek(at + _ENTRY_HEAD)
                        payload = f.read(length)
                        self._cursor = (seq + 1, name, at + _ENTRY_HEAD + length + 2)
                        return msg, payload
        except OSError:
            pass
        self._cursor = None
        return None

    def _at(self, f, offset):
        """The good entry at `offset` of segment file `f` as a list of one, or []."""
        head = bytearray(_ENTRY_HEAD)
        f.seek(offset)
        if f.readinto(head) != _ENTRY_HEAD or head[0] != _MARK:
            return []
        length = (head[6] << 8) | head[7]
        if not self._good(f, head, length):
            return []
        return [(_u32(head, 2), offset, head[1], length)]

    def delivered(self, seq):
        """The host acknowledged event `seq`. The sequence number delivered up to is kept on
        the flash at each segment's end and when the journal is empty (a reader cut off in
        between sends those of the segment again: the host drops them by their number)."""
        if seq != self.sent:
            return                    # dropped while it was in flight
        self.sent += 1
        if self.sent == self.next or self.sent % SEGMENT == 0:
            self._set_first(self.sent)

    def _set_first(self, first):
        """Keep `first` as the lowest sequence number on the flash, then remove segments
        wholly below it."""
        _head(self.folder + "/head", head_bytes(first, self.epoch))
        old = self.first
        self.first = first
        for base in range(old - old % SEGMENT, first - first % SEGMENT, SEGMENT):
            _remove("%s/%08x" % (self.folder, base))
        if first >= self.next:
            _remove(self._name(first))   # the last segment too: nothing in it is kept
        if self.sent < first:
            self.sent = first
            self._cursor = None
