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

reader.main.run(board, report) serves the board's USB port (stdin/stdout) with it beside the
terminal until the host asks for the REPL (message REPL); Ctrl-C (0x03 from mpremote) raises
KeyboardInterrupt through it, as on any MicroPython program. The requests: reader.terminal.requests.
"""

import asyncio
import select
import sys
import time

from micropython import const

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
    def __init__(self, port, dispatch, ack_ms=100, tries=5):
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
        self.send(EVENT, msg, obj)  # SEQ from the reader's own counter when sent

    def pending(self):
        return len(self._outbox)

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
        while True:
            if not self._outbox:
                self._out_ready.clear()
                await self._out_ready.wait()
                continue
            entry = self._outbox[0]
            if entry[3] is None:
                entry[3] = self._tx_seq
                self._tx_seq = (self._tx_seq + 1) & 0xFF
            if await self._deliver(entry):
                self._outbox.pop(0)
                self.stats["acked"] += 1
            else:
                self.stats["parked"] += 1
                self._host_seen.clear()
                await self._host_seen.wait()

    async def _deliver(self, entry):
        kind, msg, payload, seq = entry
        self._waiting = seq
        self._waiting_msg = msg
        wait = self.ack_ms
        for attempt in range(self.tries):
            if attempt:
                self.stats["retransmits"] += 1
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
