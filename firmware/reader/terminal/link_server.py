"""The host link server (terminal layer): serves docs/host-link.md on the reader's USB port.

`LinkServer(port, dispatch)` runs three asyncio tasks:
- rx: bytes from the port -> hostlink.Decoder; ACKs every good data frame at once, drops
  retransmissions (same SEQ and CRC as the last frame accepted), queues requests;
- worker: one request at a time -> `dispatch(msg, payload) -> (kind, obj)`;
- tx: the outbox (responses and errors with their request's SEQ, events with the reader's
  own SEQ counter) in order, stop-and-wait: each frame is sent
  until its ACK comes, with backoff (ack_ms, ×2 each try, `tries` tries), then parked until
  the host sends any good frame, then sent again. Nothing unacknowledged is thrown away
  unless the outbox overflows (`OUTBOX` frames; the oldest goes, counted in `dropped`).

The offline tap journal (`journal`: its folder on the flash; docs/tap-journal.md): the link
is down from boot until the host's first good frame, and again from a frame whose first try
went unacknowledged until the host's next good frame. While it is down, and while the
journal still holds older ones, tap and QR events go to the journal (reader.terminal.journal,
imported for each append and each delivery and let go after it; the journal's numbers stay
here between calls) instead of the outbox, and the tap and QR
events of the outbox move there when the link goes down (the one in flight is still tried;
acknowledged, its entry counts as delivered); once the host is back the sender delivers them
in order before the outbox's events (answers to requests still go first).
`event()` says False when the journal refuses one (full with setting journal_full "refuse",
the flash refusing the write, no heap for it), `refused()` why.

reader.main.run(board, report) serves the board's USB port (stdin/stdout) with it beside the
terminal until the host asks for the REPL (message REPL); Ctrl-C (0x03 from mpremote) raises
KeyboardInterrupt through it, as on any MicroPython program. The requests: reader.terminal.requests.
"""

import asyncio
import select
import sys
import time

from micropython import const

import reader
from reader import hostlink
from reader.hostlink import ACK, ERROR, EVENT, REQUEST

OUTBOX = const(8)
_RX_CHUNK = const(64)
_HANDOFF_WAIT_MS = const(2000)
_ACK_POLL_MS = const(1)


class StdioPort:
    """The USB port as MicroPython's stdio: reads only what has arrived (stdin's readinto
    would wait for a whole buffer), writes raw bytes."""

    def __init__(self, stdin=None, stdout=None):
        self._in = stdin or sys.stdin.buffer
        self._out = stdout or sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(self._in, select.POLLIN)
        self._one = bytearray(1)

    async def readinto(self, buf):
        """Wait for at least one byte; return how many were put into buf."""
        # What asyncio.StreamReader.readinto does (the scheduler polls stdin in C until a
        # byte is there), without importing asyncio.stream (1.7 KB of RAM) for one call.
        yield asyncio.core._io_queue.queue_read(self._in)
        n = self._in.readinto(self._one)
        if not n:
            await asyncio.sleep_ms(50)  # end of file: the port is gone for now
            return 0
        buf[0] = self._one[0]
        while n < len(buf) and self._ready():
            if not self._in.readinto(self._one):
                break
            buf[n] = self._one[0]
            n += 1
        return n

    def _ready(self):
        for _ in self._poll.ipoll(0):
            return True
        return False

    def write(self, data):
        self._out.write(data)


class LinkServer:
    def __init__(self, port, dispatch, ack_ms=100, tries=5, journal=None, session=None):
        """`journal`: the tap journal's folder on the flash (None: no journal, events wait
        in the outbox); `session` (reader.terminal.session.Session): its settings, clock
        and board for the journal."""
        self.port = port
        self.dispatch = dispatch
        self.ack_ms = ack_ms
        self.tries = tries
        self.decoder = hostlink.Decoder()
        self._writer = hostlink.FrameWriter()   # ACKs and data frames, piece by piece
        self._rxbuf = bytearray(_RX_CHUNK)
        self._tx_seq = 0
        self._last = None                  # (seq, crc) of the last data frame accepted
        self._outbox = []                  # [kind, msg, payload bytes, seq or None]
        self._out_ready = asyncio.Event()
        self._host_seen = asyncio.Event()
        self._acked = asyncio.Event()
        self._waiting = -1                 # SEQ and MSG of the frame in flight
        self._waiting_msg = -1
        self._requests = []
        self._req_ready = asyncio.Event()
        self.handoff = False
        self.stats = {"retransmits": 0, "parked": 0, "dropped": 0, "duplicates": 0,
                      "ignored": 0, "acked": 0}
        # The journal (None: none), one list: one attribute, and no name of its own to intern
        # in RAM (docs/firmware-memory.md): [its folder, the session, its numbers
        # (terminal.journal.Journal.state()), the journal seq of the outbox's frame in
        # flight, the event_id's NONCE (hex, drawn at boot), the events counted, whether the
        # host is up (a good frame from it since the link last failed), why the journal
        # refused the last event (bytes), whether a request is being served].
        # terminal.journal.call(server, what, …) is its one entry, `what` a number for the
        # same reason.
        self.jn = None
        if journal:
            import os
            from binascii import hexlify

            self.jn = [journal, session, None, None, hexlify(os.urandom(4)).upper(), 0,
                       False, None, False]
            try:    # the boot's look (clean-up, what waits): the folder holds more than head
                if len(os.listdir(journal)) > 1:
                    reader.call("terminal.journal", "call", self, 0)
            except OSError:
                pass                       # no journal yet

    # -- outbox ---------------------------------------------------------------------------
    def send(self, kind, msg, obj, seq=None):
        """Queue a response or error (`seq`: the request's) or an event (obj: a dict, sent
        as JSON)."""
        payload = hostlink.pack(obj)
        if len(payload) > hostlink.MAX_PAYLOAD:
            payload = hostlink.pack(error_body(
                hostlink.INTERNAL, "%s of %d bytes is over the link's maximum %d"
                % (hostlink.message_name(msg), len(payload), hostlink.MAX_PAYLOAD)))
            if kind == EVENT:
                msg = hostlink.EV_ERROR
            else:
                kind = ERROR
        if len(self._outbox) >= OUTBOX:
            self._outbox.pop(1 if self._waiting >= 0 else 0)
            self.stats["dropped"] += 1
        self._outbox.append([kind, msg, payload, seq])
        self._out_ready.set()

    def event(self, msg, obj):
        """Queue event `msg` (SEQ from the reader's own counter when sent), or keep it in the
        journal (see the module's doc); False when the journal refuses it (`refused()` says
        why: journal_full, journal_error, journal_busy)."""
        jn = self.jn
        if jn and (msg == 0x80 or msg == 0x82):     # hostlink.EV_TAP, EV_QR: journaled
            jn[5] += 1
            obj[hostlink.EVENT_ID] = (jn[4] + b"-%d" % jn[5]).decode()
            if not jn[6] or self.journal_waiting():
                # The journal's module is imported in a heap the tap left fragmented: a
                # collection here first (the tap's garbage goes while the stack is shallow:
                # the one an allocation that fails makes deep inside the import keeps what
                # stale stack words point to), and one more try after a failed one (its
                # half-imported module gone).
                import gc  # (a local name: no global of its own in RAM)

                for _ in (0, 1):
                    gc.collect()
                    try:
                        return reader.call("terminal.journal", "call", self, 1, msg,
                                           hostlink.pack(obj))
                    except MemoryError:
                        pass
                jn[7] = b"journal_busy"      # no heap for it still: a refusal too
                return False
        self.send(EVENT, msg, obj)
        return True

    def refused(self):
        """Why the journal refused the last event (str; then forgotten), or None."""
        jn = self.jn
        why = jn and jn[7]
        if why:
            jn[7] = None
            return why.decode()
        return None

    def pending(self):
        return len(self._outbox)

    # -- the tap journal --------------------------------------------------------------------
    def journal_waiting(self):
        """How many journaled events wait for the host (0 without a journal): for info and
        a display's "host link down (N taps waiting)"."""
        state = self.jn[2] if self.jn else None
        return state[1] - state[2] if state else 0

    # -- receive --------------------------------------------------------------------------
    async def _rx_task(self):
        buf = self._rxbuf
        dec = self.decoder
        while True:
            n = await self.port.readinto(buf)
            for i in range(n):
                if dec.feed_byte(buf[i]):
                    self._on_frame(dec)

    def _on_frame(self, dec):
        self._host_seen.set()
        jn = self.jn
        if jn and not jn[6]:
            jn[6] = True                 # the host is up
            self._out_ready.set()        # the journal may have events to deliver
        kind = dec.kind
        if kind == ACK:
            if dec.seq == self._waiting and dec.msg == self._waiting_msg:
                self._acked.set()
            return
        if kind != REQUEST:
            self.stats["ignored"] += 1
            return
        self._writer.write(self.port, ACK, dec.seq, dec.msg)
        key = (dec.seq, dec.crc)
        if key == self._last:
            self.stats["duplicates"] += 1
            return
        self._last = key
        self._requests.append((dec.seq, dec.msg, bytes(dec.payload)))
        self._req_ready.set()

    # -- transmit -------------------------------------------------------------------------
    async def _tx_task(self):
        import gc  # (a local name: no global of its own in RAM)

        while True:
            # the next frame: the outbox's first; while the host is up and the journal
            # holds events, the outbox's first answer, else the journal's next event (not
            # while a request is served: the two would share the heap)
            box = self._outbox
            entry = box[0] if box else None
            jn = self.jn
            if jn and jn[6] and self.journal_waiting():
                entry = True
                for one in box:
                    if one[0] != EVENT:
                        entry = one
                        break
                if entry is True:
                    entry = None
                    if not jn[8] and not self._requests:
                        try:                # [EVENT, msg, payload, None, journal seq]
                            entry = reader.call("terminal.journal", "call", self, 3)
                        except MemoryError:
                            pass
                        # what the journal's module took goes now, not scattered over
                        # the heap a host request may need next (a host's connect: hello,
                        # set-time)
                        gc.collect()
                    if entry is None:       # a moment later
                        await asyncio.sleep_ms(20)
                        continue
            if entry is None:
                self._out_ready.clear()
                await self._out_ready.wait()
                continue
            if entry[3] is None:
                entry[3] = self._tx_seq
                self._tx_seq = (self._tx_seq + 1) & 0xFF
            done = await self._deliver(entry)
            if done and entry in self._outbox:
                self._outbox.remove(entry)
            if jn:
                # a journal entry acknowledged, or an outbox frame moved to the journal
                # while it was tried (jn[3]) and acknowledged after all: delivered
                seq = entry[4] if len(entry) > 4 else jn[3]
                jn[3] = None
                if done and seq is not None:
                    try:
                        reader.call("terminal.journal", "call", self, 4, seq)
                    except MemoryError:     # not noted: sent again, the host drops it
                        pass
                    gc.collect()
            if done:
                self.stats["acked"] += 1
            else:
                self.stats["parked"] += 1
                self._host_seen.clear()
                await self._host_seen.wait()

    async def _deliver(self, entry):
        kind, msg, payload, seq = entry[0], entry[1], entry[2], entry[3]
        self._waiting = seq
        self._waiting_msg = msg
        wait = self.ack_ms
        for attempt in range(self.tries):
            if attempt:
                self.stats["retransmits"] += 1
                if attempt == 1 and self.jn:   # the first try went unacknowledged: down
                    self.jn[6] = False
                    try:
                        reader.call("terminal.journal", "call", self, 2, entry)
                    except MemoryError:     # the outbox keeps them meanwhile
                        pass
            self._acked.clear()
            self._writer.write(self.port, kind, seq, msg, payload)
            if await self._ack_within(wait):
                self._waiting = -1
                return True
            wait *= 2
        self._waiting = -1
        return False

    async def _ack_within(self, ms):
        """True once the rx task saw the ACK, False after `ms`: checked every millisecond
        (no task and timeout per frame as asyncio.wait_for_ms makes, nor asyncio.funcs in
        RAM)."""
        deadline = time.ticks_add(time.ticks_ms(), ms)
        while not self._acked.is_set():
            if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                return False
            await asyncio.sleep_ms(_ACK_POLL_MS)
        return True

    # -- requests -------------------------------------------------------------------------
    async def _worker_task(self):
        while True:
            if not self._requests:
                self._req_ready.clear()
                await self._req_ready.wait()
                continue
            seq, msg, payload = self._requests.pop(0)
            jn = self.jn
            if jn:
                jn[8] = True                # serving: the journal waits (see _tx_task)
            try:
                kind, obj = await self.dispatch(msg, payload)
            except MemoryError:   # (serve answers every other failure itself)
                # what the request took went with its frames: answer it, serve the next
                payload = None
                kind, obj = ERROR, error_body(hostlink.INTERNAL,
                                              "reader busy: out of memory; retry")
            except Exception as error:  # noqa: BLE001 - a fault in the dispatch itself
                kind, obj = ERROR, error_body(hostlink.INTERNAL, "the reader failed this "
                                              "request (%s: %s)" % (type(error).__name__,
                                                                    error))
            if jn:
                jn[8] = False
            self.send(kind, msg, obj, seq)

    async def serve(self):
        """Run until a handler sets `handoff` and its answer is acknowledged (or 2 s)."""
        tasks = [asyncio.create_task(supervised(self, t, name)) for t, name in
                 ((self._rx_task, "receiver"), (self._tx_task, "sender"),
                  (self._worker_task, "request worker"))]
        try:
            while not self.handoff:
                await asyncio.sleep_ms(20)
            for _ in range(_HANDOFF_WAIT_MS // 20):
                if not self._outbox:
                    break
                await asyncio.sleep_ms(20)
        finally:
            for task in tasks:
                task.cancel()

    def counters(self):
        c = self.decoder.counters()
        c.update(self.stats)
        return c


async def supervised(server, task, name):
    """Run `task()` again whenever it dies of an exception, telling the host each time (an
    error event, reason task_restarted) and counting it in info's link stats "restarts": a
    fault in one of the reader's long-lived tasks never leaves it deaf."""
    while True:
        try:
            return await task()
        except Exception as error:  # noqa: BLE001 - cancellation is not an Exception here
            server.stats["restarts"] = server.stats.get("restarts", 0) + 1
            try:
                server.event(hostlink.EV_ERROR, {
                    "status": "error", "reason": "task_restarted", "code": hostlink.INTERNAL,
                    "name": hostlink.error_name(hostlink.INTERNAL),
                    "message": "the reader's %s stopped (%s: %s) and was started again"
                    % (name, type(error).__name__, error)})
            except MemoryError:
                pass
            await asyncio.sleep_ms(50)


def error_body(code, message, kind=None):
    body = {"code": code, "name": hostlink.error_name(code), "message": message}
    if kind:
        body["kind"] = kind
    return body
