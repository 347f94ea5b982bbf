"""`LinkSession`: one host-link session with a reader over pyserial (docs/host-link.md);
`hcterm.link.client.Reader` adds the requests on top.

The frame codec and message numbers come from the firmware's own `reader.hostlink`.
Requests go one at a time: each is sent until the reader acknowledges it (`ack_timeout`,
doubled per try, `retries` tries), then its answer is awaited (`timeout`). Frames from the
reader are acknowledged and delivered once. When the port goes away (unplugged, socket
closed) a thread reopens it every `reconnect_interval` and starts a new session; requests
made meanwhile wait up to their timeout for it. The port can be handed to the MicroPython
REPL (`handoff`) and taken back (`take_back`).

Events the reader kept in its offline journal while the link was down (docs/tap-journal.md)
come with `journal_seq` and `journal_id`: each is acknowledged like any frame, delivered
once marked `"late": True`, and one whose number is not above the last delivered of its
journal (the reader sends what it had not noted as acknowledged again after a reboot) is
dropped, counted in `stats["journal_duplicates"]`, across reconnects and reader reboots; so
is one whose `event_id` was delivered already (its live frame came, e.g. left in the port's
buffer when the host went away, before the reader moved it to its journal).
"""

import queue
import random
import threading
import time

import serial

from reader import hostlink
from reader.hostlink import ACK, ERROR, EVENT, REQUEST, RESPONSE

from .errors import DeviceError, LinkTimeout, NotConnected, ReaderError, RequestTooLarge

RAW_REPL_BANNER = b"raw REPL; CTRL-B to exit\r\n>"


# While it waits for an answer the host sends this every POKE_S seconds: an ACK of message
# FF, which acknowledges nothing (no message has that number) but is a good frame, and a
# good frame makes the reader send an answer it had parked (docs/host-link.md).
POKE_S = 1.0
POKE = hostlink.encode(ACK, 0, 0xFF)
EVENT_IDS = 4096    # event ids remembered: a journal's copy of an event seen live is dropped


class LinkSession:
    """The session machinery of `Reader`: port, receiving thread, acknowledged requests,
    events, reconnects and the REPL hand-off."""

    def __init__(self, url, baudrate=115200, timeout=5.0, ack_timeout=0.1, retries=5,
                 reconnect=True, reconnect_interval=0.2, on_event=None, connect=True,
                 open_timeout=10.0):
        self.url = str(url)
        self.baudrate = baudrate
        self.timeout = timeout
        self.ack_timeout = ack_timeout
        self.retries = retries
        self.reconnect = reconnect
        self.reconnect_interval = reconnect_interval
        self.open_timeout = open_timeout
        self.device = None            # the last hello answer (device info)
        self.stats = {"retransmits": 0, "duplicates": 0, "reconnects": 0, "journaled": 0,
                      "journal_duplicates": 0}
        self._journal_seen = {}       # journal_id -> the last journal_seq delivered
        self._event_ids = {}          # the last EVENT_IDS event_ids delivered (in order)
        self._callbacks = [on_event] if on_event else []
        self._events = queue.Queue()
        self._cond = threading.Condition()
        self._request_lock = threading.RLock()
        self._ser = None
        self._state = "closed"        # open, lost, handed-off, closed
        self._thread = None
        self._decoder = hostlink.Decoder()
        self._seq = random.randrange(256)
        self._acks = set()
        self._answers = {}
        self._last_rx = None
        self._rx_tail = b""        # the last bytes received, frames or not (a REPL's prompt)
        self.taken_back = None     # why open() had to take the port back from the REPL
        if connect:
            self.open()

    # -- life cycle -----------------------------------------------------------------------
    def open(self):
        """Open the port and start a session (hello), trying for `open_timeout` seconds (a
        reader still booting answers when its link server starts). NotConnected if the port
        is missing, LinkTimeout if nothing answers."""
        self._open_port()
        self._start_thread()
        deadline = time.monotonic() + self.open_timeout
        while True:
            try:
                # each try waits no longer than what is left of open_timeout
                left = max(0.5, min(self.timeout, deadline - time.monotonic()))
                self.hello(timeout=left)
                return self
            except LinkTimeout:
                if self._at_repl():
                    # e.g. `mpremote resume connect PORT ls` left it there
                    self.take_back()
                    self.taken_back = ("the reader was at the MicroPython REPL (left there by "
                                       "mpremote or a REPL session); the link took it back")
                    return self
                if time.monotonic() > deadline:
                    self._stop_thread()
                    raise

    def _at_repl(self):
        """Whether the reader sits at the MicroPython REPL instead of serving the link: a
        return key makes the REPL print its prompt (the link server ignores it)."""
        with self._cond:
            self._rx_tail = b""
        self._write(b"\r", quiet=True)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            tail = self._rx_tail
            if b">>> " in tail or b"raw REPL; CTRL-B to exit" in tail:
                return True
            time.sleep(0.02)
        return False

    def close(self):
        self._stop_thread()
        with self._cond:
            self._state = "closed"
            self._cond.notify_all()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def connected(self):
        return self._state == "open"

    def _open_port(self):
        try:
            ser = serial.serial_for_url(self.url, self.baudrate, timeout=0.05,
                                        write_timeout=2)
        except (serial.SerialException, OSError, ValueError) as error:
            raise NotConnected(f"cannot open the reader's port {self.url}: {error}") from None
        with self._cond:
            self._ser = ser
            self._decoder.reset()
            self._last_rx = None
            self._state = "open"
            self._cond.notify_all()

    def _start_thread(self):
        self._thread = threading.Thread(target=self._run, name=f"reader:{self.url}",
                                        daemon=True)
        self._thread.start()

    def _stop_thread(self):
        thread, self._thread = self._thread, None
        with self._cond:
            self._state = "closing"
        if thread and thread is not threading.current_thread():
            thread.join(timeout=2)
        self._close_port()

    def _close_port(self):
        ser, self._ser = self._ser, None
        if ser is not None:
            try:
                ser.close()
            except (serial.SerialException, OSError):
                pass

    # -- receiving (the thread) -----------------------------------------------------------
    def _run(self):
        me = threading.current_thread()
        while self._thread is me:
            ser = self._ser
            if ser is None:
                self._try_reconnect()
                continue
            try:
                data = ser.read(max(1, ser.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError):
                self._lost()
                continue
            if data:
                self._rx_tail = (self._rx_tail + data)[-128:]
            for frame in self._decoder.feed(data):
                self._on_frame(*frame)

    def _lost(self):
        self._close_port()
        with self._cond:
            if self._state == "open":
                self._state = "lost" if self.reconnect else "closed"
            self._cond.notify_all()

    def _try_reconnect(self):
        if self._state != "lost":
            time.sleep(0.05)
            return
        time.sleep(self.reconnect_interval)
        try:
            self._open_port()
        except NotConnected:
            return
        self.stats["reconnects"] += 1
        # a new session: the reader sends what it parked while we were away
        threading.Thread(target=self._hello_quietly, daemon=True).start()

    def _hello_quietly(self):
        try:
            self.hello()
        except ReaderError:
            pass  # the next request reports the problem

    def _on_frame(self, kind, seq, msg, payload):
        if kind == ACK:
            with self._cond:
                self._acks.add((seq, msg))
                self._cond.notify_all()
            return
        if kind not in (RESPONSE, ERROR, EVENT):
            return
        self._write(hostlink.encode(ACK, seq, msg), quiet=True)
        key = (seq, _crc_of(kind, seq, msg, payload))
        if key == self._last_rx:
            self.stats["duplicates"] += 1
            return
        self._last_rx = key
        try:
            body = hostlink.unpack(payload)
        except ValueError:
            body = {"code": hostlink.INTERNAL, "message": "undecodable payload"}
        if kind == EVENT:
            self._deliver_event(msg, body)
        else:
            with self._cond:
                self._answers[(seq, msg)] = (kind, body)
                self._cond.notify_all()

    def _deliver_event(self, msg, body):
        if not self._first_time(body):
            return
        event = {"type": hostlink.MESSAGES.get(msg, f"0x{msg:02X}")}
        event.update(body)
        self._events.put(event)
        for callback in list(self._callbacks):
            callback(event)

    def _first_time(self, body):
        """False for a journaled event already delivered (docs/tap-journal.md): the reader's
        journal numbers its events in order, per journal_id (the reader's unique id and the
        journal's epoch); a journaled event delivered is marked late."""
        if not isinstance(body, dict):
            return True
        seq = body.get(hostlink.JOURNAL_SEQ)
        key = body.get(hostlink.JOURNAL_ID)
        if isinstance(seq, int) and seq <= self._journal_seen.get(key, -1) or \
                self._seen_id(body.get(hostlink.EVENT_ID)):
            self.stats["journal_duplicates"] += 1
            return False
        if not isinstance(seq, int):
            return True
        self._journal_seen[key] = seq
        self.stats["journaled"] += 1
        body["late"] = True
        return True

    def _seen_id(self, event_id):
        """Whether event `event_id` was delivered (a journal's copy of an event whose live
        frame came, or its copy sent again); remembers it otherwise."""
        if event_id is None:
            return False
        if event_id in self._event_ids:
            return True
        self._event_ids[event_id] = None
        if len(self._event_ids) > EVENT_IDS:
            del self._event_ids[next(iter(self._event_ids))]
        return False

    # -- sending --------------------------------------------------------------------------
    def _write(self, data, quiet=False):
        ser = self._ser
        try:
            if ser is None:
                raise serial.SerialException("port closed")
            ser.write(data)
        except (serial.SerialException, OSError) as error:
            if not quiet:
                raise NotConnected(f"writing to {self.url} failed: {error}") from None

    def _wait_open(self, deadline):
        with self._cond:
            while self._state != "open":
                if self._state == "handed-off":
                    raise NotConnected(f"the port {self.url} is handed to the REPL: call "
                                       "take_back() first")
                if self._state in ("closed", "closing"):
                    raise NotConnected(f"the reader on {self.url} is closed")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NotConnected(f"the reader's port {self.url} is gone (unplugged?) "
                                       "and did not come back in time")
                self._cond.wait(left)

    def request(self, msg, body=None, timeout=None):
        """Send one request; return the answer's dict, or raise DeviceError / LinkTimeout."""
        payload = hostlink.pack(body or {})
        name = hostlink.MESSAGES.get(msg, hex(msg))
        if len(payload) > hostlink.MAX_PAYLOAD:
            raise RequestTooLarge(f"the {name} request is {len(payload)} bytes of JSON, over "
                                  f"the link's {hostlink.MAX_PAYLOAD}: send less per request "
                                  "(fewer fields or files, shorter APDUs)")
        return self.request_raw(msg, payload, timeout)

    def request_raw(self, msg, payload, timeout=None):
        """Send one request whose payload is given as bytes, as they are (the hostile fuzz
        sends what no well-behaved host would); the answer as request() gives it."""
        timeout = self.timeout if timeout is None else timeout
        name = hostlink.MESSAGES.get(msg, hex(msg))
        with self._request_lock:
            deadline = time.monotonic() + timeout
            self._wait_open(deadline)
            self._seq = (self._seq + 1) & 0xFF
            seq = self._seq
            frame = hostlink.encode(REQUEST, seq, msg, payload)
            with self._cond:
                self._acks.clear()
                self._answers.clear()
            self._send_until_acked(frame, seq, msg, name)
            return self._await_answer(seq, msg, name, deadline)

    def _send_until_acked(self, frame, seq, msg, name):
        wait = self.ack_timeout
        for attempt in range(self.retries):
            if attempt:
                self.stats["retransmits"] += 1
            self._write(frame)
            end = time.monotonic() + wait
            with self._cond:
                while (seq, msg) not in self._acks and (seq, msg) not in self._answers:
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                else:
                    return
            wait *= 2
        raise LinkTimeout(f"the reader on {self.url} did not acknowledge {name} after "
                          f"{self.retries} tries")

    def _await_answer(self, seq, msg, name, deadline):
        with self._cond:
            while (seq, msg) not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LinkTimeout(f"the reader on {self.url} acknowledged {name} but did "
                                      "not answer in time")
                if not self._cond.wait(min(left, POKE_S)):
                    # the reader parks an answer none of whose tries was acknowledged until
                    # the host sends any good frame (docs/host-link.md): poke it
                    self._write(POKE, quiet=True)
            kind, body = self._answers.pop((seq, msg))
        if kind == ERROR:
            raise DeviceError.from_body(body)
        return body

    # -- events ---------------------------------------------------------------------------
    def on_event(self, callback):
        """Call `callback(event)` from the receiving thread for every event."""
        self._callbacks.append(callback)

    def next_event(self, timeout=None):
        """The next event (a dict with "type"), or LinkTimeout after `timeout` seconds."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            raise LinkTimeout(f"no event from the reader on {self.url} within {timeout} s") \
                from None

    def events(self, timeout=None):
        """Iterate over events; stops when none came for `timeout` seconds (None: never)."""
        while True:
            try:
                yield self._events.get(timeout=timeout)
            except queue.Empty:
                return

    # -- the REPL hand-off ------------------------------------------------------------------
    def handoff(self):
        """Ask the reader to hand its port to the MicroPython REPL (for mpremote); closes
        this client's side of the port. Returns the resume command the reader gave."""
        answer = self.request(hostlink.REPL)
        self._stop_thread()
        with self._cond:
            self._state = "handed-off"
        return answer["resume"]

    def take_back(self, timeout=10.0):
        """Take the port back from the REPL: interrupt whatever runs, enter the raw REPL,
        run the resume call (docs/host-link.md), start a new session."""
        self._stop_thread()
        self._open_port()
        ser = self._ser
        deadline = time.monotonic() + timeout
        ser.write(b"\r\x03")
        time.sleep(0.2)
        ser.reset_input_buffer()
        ser.write(b"\r\x01")
        _read_until(ser, RAW_REPL_BANNER, deadline, self.url)
        ser.write(b"import reader.main as m;m.resume()\x04")
        _read_until(ser, b"OK", deadline, self.url)
        self._decoder.reset()
        self._start_thread()
        return self.hello()

    # -- a new session ----------------------------------------------------------------------
    def hello(self, timeout=None):
        """Start a new session (the reader then sends what it parked); the device info."""
        self.device = self.request(hostlink.HELLO, {"session": random.randrange(1 << 30)},
                                   timeout=timeout)
        return self.device


def _crc_of(kind, seq, msg, payload):
    from reader.crc import crc16_ccitt

    header = bytes((hostlink.VERSION, kind, seq, msg, len(payload) >> 8, len(payload) & 0xFF))
    return crc16_ccitt(payload, crc16_ccitt(header))


def _read_until(ser, marker, deadline, url):
    got = b""
    while marker not in got:
        if time.monotonic() > deadline:
            raise LinkTimeout(f"the REPL on {url} did not answer {marker!r} (got {got[-80:]!r})")
        got += ser.read(max(1, ser.in_waiting))
    return got

