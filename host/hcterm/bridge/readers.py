"""The bridge's readers: one `hcterm.Reader` per port, supervised, with a state each.

    manager = ReaderManager(["/dev/ttyUSB0", "socket://127.0.0.1:7000"], sink=on_event)
    await manager.start()          # in the bridge's event loop
    reader = manager.get("r1")     # ManagedReader; ReaderNotFound otherwise
    fields = await reader.call("read", files=["DDF1/EF05"])

States (`ManagedReader.state`):

| state        | meaning                                                              |
|--------------|----------------------------------------------------------------------|
| connecting   | the port is open (or being opened) but the reader has not answered yet |
| connected    | the reader answered hello; `device` holds its device info            |
| disconnected | the port is gone (unplugged, not there yet) or did not answer; retried |

A supervisor task per reader opens the port until it works, and after an unplug says hello
again once the Reader client has reopened the port (the client itself reopens it, see
hcterm.link), so `device` is fresh after a replug. Requests run in worker threads (the
Reader is a blocking client); events arrive on the Reader's thread and are handed to the
event loop with `call_soon_threadsafe`, then to `sink(reader_id, event)`.

Each reader is served on its own: its requests run one at a time on its own worker thread
(its supervisor on another), so a hung reader holds up no other reader. Its queue is bounded:
at most `MAX_QUEUED` requests wait or run (more: `ReaderBusy`, 503), a request that waited
`timeout` seconds without starting is dropped unsent (`LinkTimeout`, 504), and the requests
that were waiting when one timed out are answered at once (the reader did not answer the one
before them) instead of each waiting out its own timeout; the next new request tries again.

`held_by_host`: the slots the host holds powered (power-on until power-off), from the
requests the bridge forwards and the reader's own word (hello, info: the reader ends a hold by
itself after its setting host_slot_idle_s, when the card leaves or a new session starts);
`refresh()` asks the reader while a slot is held, so the state shown is the reader's.

`late_events`: how many events the reader had kept in its offline journal while the link
was down (docs/tap-journal.md) were handed on, each once, in order, marked `late` with their
`tapped_at`; `journal` (in `device`, from hello and info): how many still wait on the reader.

`blacklist`: the reader's blacklist-status (version, count, stale, …), asked at each
connection, after each push and every BLACKLIST_REFRESH seconds, with `age_s` (since the
list was issued) and `checked` (when the bridge asked); while the bridge pushes a list or
delta (`push_blacklist`, POST /api/blacklist, the fleet client), `download` gives its
progress.
"""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from reader import hostlink

from .. import blacklist_files
from ..link import LinkTimeout, NotConnected, Reader, ReaderError

CONNECTING = "connecting"
CONNECTED = "connected"
DISCONNECTED = "disconnected"

_STATE_TEXT = {CONNECTED: "the reader answered",
               CONNECTING: "the port is back: starting a new session"}

SUPERVISE_INTERVAL = 0.2      # seconds between state checks
OPEN_TIMEOUT = 2.0            # one attempt to open the port and get a hello answer
MAX_QUEUED = 8                # requests waiting or running per reader
REFRESH_WAIT = 1.0            # GET /api/readers waits this long for a held reader's info
BLACKLIST_REFRESH = 600.0     # seconds between blacklist-status requests of an idle reader


class ReaderNotFound(LookupError):
    def __init__(self, reader_id, known):
        self.reader_id = reader_id
        self.known = list(known)
        super().__init__(f"no reader {reader_id!r}: the bridge serves "
                         f"{', '.join(self.known) or 'no readers'}")


class ReaderBusy(ReaderError):
    """The reader's queue is full: it is slow or hung; nothing was sent."""


class BridgeReader(Reader):
    """The Reader client, with an event's own "type" kept apart from the message type.

    Reader builds an event as {"type": message name} updated with the payload, so a payload
    field called "type" (the QR code's type, e.g. "1") overwrites "qr". Here the payload's
    field is kept as "code_type" and "type" stays the message name."""

    def _deliver_event(self, msg, body):
        if isinstance(body, dict) and "type" in body:
            body = dict(body)
            body["code_type"] = body.pop("type")
        super()._deliver_event(msg, body)

    def push_blacklist(self, data, progress=None):
        """A signed list or delta to the reader (hcterm.blacklist_files.push): its status."""
        return blacklist_files.push(self, data, progress)


class ManagedReader:
    def __init__(self, reader_id, port, sink, timeout=5.0, reader_factory=BridgeReader):
        self.id = reader_id
        self.port = str(port)
        self.state = DISCONNECTED
        self.device = None
        self.last_error = None
        self.since = time.time()
        self.events = 0
        self.late_events = 0          # journaled events handed on (docs/tap-journal.md)
        self.reconnects = 0
        self._sink = sink
        self._loop = None
        self._task = None
        self._opened = False
        self._seen_reconnects = 0
        self.held = set()             # slots the host holds powered (see held_by_host)
        self.host_slot_ended = None   # the reader's word on the last hold it ended
        self.timeout = timeout
        self.client = reader_factory(self.port, timeout=timeout, connect=False,
                                     open_timeout=OPEN_TIMEOUT)
        self.client.on_event(self._on_event_thread)
        # its own threads: requests one at a time, the supervisor's open/hello beside them
        self._requests = ThreadPoolExecutor(1, thread_name_prefix=f"bridge-{reader_id}")
        self._control = ThreadPoolExecutor(1, thread_name_prefix=f"bridge-{reader_id}-sup")
        self.queued = 0               # requests waiting or running
        self._timeouts = 0            # requests that timed out so far
        self._timed_out_at = None
        self.blacklist = None         # the reader's blacklist-status (see the module's doc)
        self.download = None          # a push in progress: {version, kind, received, total}
        self._blacklist_task = None
        self.on_change = []           # callables(reader) after a state or blacklist change

    # -- what the API shows ---------------------------------------------------------------
    def describe(self):
        return {"id": self.id, "port": self.port, "state": self.state,
                "since": round(self.since, 3), "device": self.device,
                "last_error": self.last_error, "events": self.events,
                "late_events": self.late_events,
                "reconnects": self.reconnects, "held_by_host": sorted(self.held),
                "host_slot_ended": self.host_slot_ended, "blacklist": self.blacklist_state()}

    def blacklist_state(self):
        """The reader's last blacklist-status, `age_s` since its list was issued, and the
        progress of a push in progress (`download`); None before the first answer."""
        if self.blacklist is None and self.download is None:
            return None
        out = dict(self.blacklist or {})
        if out.get("issued"):
            out["age_s"] = max(0, round(time.time() - out["issued"]))
        if self.download is not None:
            out["download"] = dict(self.download)
        elif "update" in out:      # one the reader holds open (an interrupted push)
            update = out.pop("update")
            out["download"] = {"received": update.get("received"),
                               "total": update.get("total"), "open_on_reader": True}
        return out

    async def refresh_blacklist(self):
        """Ask the reader for its blacklist-status (kept in `blacklist`); never raises."""
        try:
            status = await self.call("blacklist_status")
        except Exception as error:  # noqa: BLE001 - shown, not raised: a listing goes on
            status = {"error": f"the reader did not give its blacklist status: {error}"}
        self.blacklist = {**status, "checked": round(time.time(), 3)}
        self._changed()
        return self.blacklist

    async def push_blacklist(self, data):
        """Push a signed list or delta (bytes) to the reader; its new blacklist status.
        The reader's refusal is raised as its DeviceError (the old list stays in force)."""
        h = blacklist_files.header(data)
        self.download = {"version": h["version"],
                         "kind": "list" if h["kind"] == 1 else "delta",
                         "received": 0, "total": None}

        def progress(at, total):
            self.download["received"], self.download["total"] = at, total

        try:
            status = await self.call("push_blacklist", data, progress)
        finally:
            self.download = None
            if self.state == CONNECTED:
                await self.refresh_blacklist()
        return status

    def _changed(self):
        for callback in list(self.on_change):
            callback(self)

    async def refresh(self):
        """While a slot is held: ask the reader (info) whether it still is (not when requests
        are queued, and for REFRESH_WAIT at most: a listing never waits for a slow reader)."""
        if self.held and self.state == CONNECTED and not self.queued:
            try:
                await asyncio.wait_for(self.call("info"), REFRESH_WAIT)
            except (ReaderError, asyncio.TimeoutError):
                pass

    def _note(self, method, args, answer):
        """Keep `held` up to date from a request the bridge forwarded and its answer."""
        if method in ("power_on", "PowerOn"):
            self.held.add(hostlink.slot_name(args[0] if args else "card"))
        elif method in ("power_off", "PowerOff"):
            self.held.discard(hostlink.slot_name(args[0] if args else "card"))
        elif method in ("info", "hello") and isinstance(answer, dict):
            self._noted(answer)

    def _noted(self, info):
        """The reader's own word (a hello or info answer) on the held slots."""
        if info and "held_by_host" in info:
            self.held = set(info["held_by_host"])
            self.host_slot_ended = info.get("host_slot_ended")

    # -- life ----------------------------------------------------------------------------
    def start(self, loop):
        self._loop = loop
        self._task = loop.create_task(self._supervise(), name=f"supervise:{self.id}")

    async def stop(self):
        if self._blacklist_task:
            self._blacklist_task.cancel()
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await asyncio.get_running_loop().run_in_executor(self._control, self.client.close)
        self._requests.shutdown(wait=False, cancel_futures=True)
        self._control.shutdown(wait=False, cancel_futures=True)

    async def _in_control(self, function):
        return await asyncio.get_running_loop().run_in_executor(self._control, function)

    def _set_state(self, state, error=None):
        if error is not None:
            self.last_error = error
        if state != self.state:
            self.state = state
            self.since = time.time()
            self._sink(self.id, {"type": "state", "state": state,
                                 "message": _STATE_TEXT.get(state) or self.last_error})
            if state == CONNECTED:
                self._blacklist_soon()
            self._changed()

    def _blacklist_soon(self):
        if self._blacklist_task is None or self._blacklist_task.done():
            self._blacklist_task = asyncio.get_running_loop().create_task(
                self.refresh_blacklist(), name=f"blacklist-status:{self.id}")

    async def _supervise(self):
        while True:
            try:
                await self._check()
                if self.state == CONNECTED and self.download is None and not self.queued \
                        and self.blacklist and time.time() - self.blacklist["checked"] \
                        > BLACKLIST_REFRESH:
                    self._blacklist_soon()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a supervisor must go on
                self._set_state(DISCONNECTED, f"unexpected: {error!r}")
            await asyncio.sleep(SUPERVISE_INTERVAL)

    async def _check(self):
        if not self._opened:
            # the first connection: open() tries the port and a hello for OPEN_TIMEOUT
            try:
                self.device = await self._in_control(self.client.open)
                self.device = self.client.device
            except NotConnected as error:
                self._set_state(DISCONNECTED, str(error))
                return
            except LinkTimeout as error:
                self._set_state(DISCONNECTED, f"the port {self.port} opened but no reader "
                                f"firmware answered the link (is it a reader? is it still "
                                f"booting?): {error}")
                return
            self._opened = True
            self._noted(self.device)
            if self.client.taken_back:
                # say what happened: the reader sat at the REPL (mpremote left it there)
                self.last_error = self.client.taken_back
            self._set_state(CONNECTED)
            return
        if not self.client.connected:
            # the client reopens the port itself; we only report it
            self._set_state(DISCONNECTED, f"the port {self.port} is gone (unplugged?); "
                            "reconnecting")
            return
        if self.client.stats["reconnects"] != self._seen_reconnects:
            # reopened since the last look (a quick unplug and replug): a new session
            self._seen_reconnects = self.client.stats["reconnects"]
            self._set_state(CONNECTING)
        if self.state != CONNECTED:
            self._set_state(CONNECTING)
            try:
                await self._in_control(self.client.hello)
            except ReaderError as error:
                self.last_error = str(error)
                return
            self.device = self.client.device
            self._noted(self.device)
            self.reconnects += 1
            self._set_state(CONNECTED)

    # -- events (on the Reader's thread) -----------------------------------------------------
    def _on_event_thread(self, event):
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_event, event)

    def _on_event(self, event):
        self.events += 1
        if event.get("late"):
            self.late_events += 1
        self._sink(self.id, event)

    # -- requests --------------------------------------------------------------------------
    async def call(self, method, *args, **kwargs):
        """Run one of the Reader's methods (Pythonic or national name) in a worker thread.
        Raises the Reader's errors (NotConnected at once when the reader is not connected)."""
        if self.state != CONNECTED:
            raise NotConnected(f"reader {self.id} on {self.port} is {self.state}"
                               + (f": {self.last_error}" if self.last_error else ""))
        if self.queued >= MAX_QUEUED:
            raise ReaderBusy(f"reader {self.id} on {self.port} has {self.queued} requests "
                             "waiting: it is slow or does not answer; nothing was sent")
        function = getattr(self.client, method)
        timeouts = self._timeouts
        started = asyncio.Event()
        loop = asyncio.get_running_loop()

        def job():
            loop.call_soon_threadsafe(started.set)
            if self._timeouts != timeouts:
                # the reader did not answer the request before this one: do not wait again
                ago = time.monotonic() - self._timed_out_at
                raise LinkTimeout(f"the reader on {self.port} did not answer the request "
                                  f"before this one ({ago:.1f} s ago); this one was not sent")
            try:
                return function(*args, **kwargs)
            except LinkTimeout:
                self._timed_out_at = time.monotonic()
                self._timeouts += 1
                raise

        self.queued += 1
        try:
            future = loop.run_in_executor(self._requests, job)
            try:
                # waiting for the reader's thread is bounded; once sent, the client's own
                # timeouts bound the request
                await asyncio.wait_for(started.wait(), self.timeout)
            except asyncio.TimeoutError:
                if future.cancel():        # still queued: dropped, never sent
                    raise LinkTimeout(f"reader {self.id} on {self.port} was busy with "
                                      f"earlier requests for {self.timeout:g} s; this one "
                                      "was not sent") from None
            answer = await future
        finally:
            self.queued -= 1
        self._note(method, args, answer)
        return answer


class ReaderManager:
    """One ManagedReader per port, ids r1, r2, … in the order given."""

    def __init__(self, ports, sink, timeout=5.0, reader_factory=BridgeReader):
        self.readers = {}
        for n, port in enumerate(ports, 1):
            rid = f"r{n}"
            self.readers[rid] = ManagedReader(rid, port, sink, timeout=timeout,
                                              reader_factory=reader_factory)

    async def start(self):
        loop = asyncio.get_running_loop()
        for reader in self.readers.values():
            reader.start(loop)

    async def stop(self):
        await asyncio.gather(*(r.stop() for r in self.readers.values()))

    def get(self, reader_id):
        try:
            return self.readers[reader_id]
        except KeyError:
            raise ReaderNotFound(reader_id, self.readers) from None

    def describe(self):
        return [r.describe() for r in self.readers.values()]
