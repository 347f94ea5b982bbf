"""Events from the readers to every WebSocket subscriber of `GET /api/events`.

Every event is one JSON object with the card fields at the top level:

    {"type": "tap", "reader": "r1", "time": 1767000000.123, "KH": "…", "XM": "张三", …}

`type` is the reader's event (tap, removed, qr, error, selftest, and any later one) or the
bridge's own `state` (a reader connected / disconnected). AN fields are text (bridge.national).
A QR event goes to the platform verifier first and is pushed once, with `verified` true and
the identity fields, or false with `reason` and `message` (bridge.qrverify).

Events a reader kept in its offline journal while its link was down (docs/tap-journal.md)
arrive marked `late` with their `tapped_at`, `journal_seq` and `journal_id` (the link client
already dropped any it had delivered); they are published in the order they came, a late
QR code's verification included (a late tap after it waits for it).

A subscriber that does not keep up (QUEUE events waiting) loses its oldest events, never the
bridge's other subscribers.
"""

import asyncio
import time

from ..link.fields import to_national
from .logs import mask_qr
from .qrverify import QRVerifyError

QUEUE = 256


class EventHub:
    def __init__(self):
        self.subscribers = set()
        self.published = 0
        self.dropped = 0

    def subscribe(self):
        queue = asyncio.Queue(QUEUE)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue):
        self.subscribers.discard(queue)

    def publish(self, event):
        self.published += 1
        for queue in list(self.subscribers):
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(event)


class EventRouter:
    """sink(reader_id, event) of the ReaderManager: shape, verify QR codes, log, publish."""

    def __init__(self, hub, log, verifier=None):
        self.hub = hub
        self.log = log
        self.verifier = verifier
        self.listeners = []        # callables(event) after each event (the fleet's audit)
        self._tasks = set()
        self._late = {}            # reader id -> the task of its last late event

    def __call__(self, reader_id, event):
        out = {"type": event.get("type", "?"), "reader": reader_id,
               "time": round(time.time(), 3)}
        out.update(to_national({k: v for k, v in event.items() if k != "type"}))
        if out.get("late"):
            self._in_order(reader_id, out)
            return
        if out["type"] == "qr":
            task = asyncio.get_running_loop().create_task(self._qr(out))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        self._emit(out)

    def _in_order(self, reader_id, event):
        """A late event of `reader_id`: published after the late events before it."""
        before = self._late.get(reader_id)

        async def publish():
            if before is not None and not before.done():
                await asyncio.wait([before])     # its failure is its own (logged there)
            if event["type"] == "qr":
                await self._qr(event)
            else:
                self._emit(event)

        task = asyncio.get_running_loop().create_task(publish())
        self._late[reader_id] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _emit(self, event):
        fields = {k: event[k] for k in ("reader", "status", "reason", "state", "KH", "SFZH",
                                        "verified", "code", "name", "ok") if k in event}
        if "text" in event:
            fields["qr"] = mask_qr(event["text"])
        level = self.log.warning if event["type"] == "error" else self.log.info
        level(event["type"], extra={"fields": fields})
        self.hub.publish(event)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a listener's fault stops no event
                self.log.exception("event listener failed")

    async def _qr(self, event):
        text = event.get("text")
        if event.get("status", "ok") != "ok" or not text:
            event.update(verified=False)
            event.setdefault("reason", "refused_by_reader")
            event.setdefault("message", "the reader refused the code")
        elif self.verifier is None:
            event.update(verified=False, reason="no_verifier",
                         message="no platform verifier configured: start the bridge with "
                                 "--qr-url (docs/bridge.md)")
        else:
            try:
                identity = await self.verifier.verify(text)
            except QRVerifyError as error:
                event.update(verified=False, reason=error.reason, message=error.message)
            else:
                event.update(identity)
                event["verified"] = True
        self._emit(event)

    async def close(self):
        for task in list(self._tasks):
            task.cancel()
        if self.verifier is not None:
            await self.verifier.close()
