"""The terminal flow (layer 5): poll for cards and QR codes, read, check, give feedback, tell
the host. docs/terminal-flow.md describes it; in short:

    terminal = Terminal(session)         # reader.terminal.session.Session, after the self-test
    asyncio.create_task(terminal.run())  # beside the link server's serve()

Each turn of `run()` polls the card reader once (a PN532 InListPassiveTarget with one retry,
an MFRC522 WUPA: a poll always returns) and the QR scanner's UART once, then sleeps, so the
link server's tasks run between polls. Chip access is serialised by the session's chip lock
(an asyncio.Lock): the host's chip and card requests take it too, and use the flow through
its public methods (take_card, release_card, sam_ready, blacklist, probe, today, let_go).

A new card (a UID not on the reader before): activate, read the configured profile through
reader.cards.healthcard (or reader.cards.vendor_flow), check lock state (SELECT DDF1 6283), the ID
check character (MOD 11-2, inside the read), expiry (KYXQ against the reader's date) and the
offline blacklist, then send one tap event and give feedback. A card left on the reader is
found again by each poll (after a DESELECT the next WUPA wakes it) and not reported again;
a poll without it sends a removed event. A read that fails on the card's link checks at once
whether the card is still there: gone -> error event reason card_removed; still there -> one
more read, then error reason communication. Nothing read half is ever sent as ok.
"""

import asyncio
import gc
import time

from micropython import const

import reader
from reader import hostlink
from reader.errors import ReaderError, table_line

IDLE_MS = const(20)         # sleep between polls without a card
PRESENT_MS = const(100)     # sleep between presence checks of a card left on the reader
_READ_TRIES = const(2)      # a read that failed on the link is tried once more
_COMMUNICATION = "communication"    # healthcard_errors.COMMUNICATION: the link failed
_SAM_BAUD_REFERENCE = const(9600)
_ACTIVATION = "chips.sam_activation"   # reset, ATR, PPS of the SAM slot (transient)

# card application error kinds that refuse a card -> the refusal's reason, one a line
# (a bytes constant read in place)
_REFUSALS = (b"\nlocked locked\ninvalid-data invalid_data\nauth-failed auth_failed"
             b"\nnot-found not_a_health_card\naccess-denied access_denied\n")


def _hex(data):
    from binascii import hexlify
    return hexlify(data).decode().upper()


def event_fields(data):
    """A profile read (healthcard values) -> event fields: CN digits as they are, AN and B
    bytes as upper-case hex (the host decodes AN from GBK; docs/terminal-flow.md)."""
    out = {}
    for key in data:
        value = data[key]
        out[key] = value if isinstance(value, str) else _hex(value)
    return out


class Terminal:
    def __init__(self, session, blacklist=None):
        self.session = session
        self.board = session.board
        self.server = session.server
        self.config = session.config
        self._blacklist = blacklist    # a terminal.blacklist.Blacklist (tests); None: the file
        self.clock_offset = 0          # seconds added to time.time() (host "set-time")
        # the clock is trusted once the host set it, or from boot on a board that keeps time
        # (board.CLOCK_KEPT: a battery-backed clock); until then expiry goes unchecked
        self.clock_set = getattr(self.board, "CLOCK_KEPT", False)
        self.present = None            # UID of the card on the reader, once reported
        self.reader = None
        self.psam = None
        self.sam_error = None
        self.qr = None
        self._flow = None              # the flow the SAM was set up for
        self._sam_seen = -1
        self._active = False           # a card was activated by the last poll
        self._scanner = None           # chips.qr_scanner.QRScanner while a line comes in
        self._display = hasattr(self.board, "display")
        self.idle_at = 0               # time.time() when the idle screen is (re)drawn
        self.stats = {"polls": 0, "taps": 0, "poll_errors": 0, "removed": 0, "qr": 0,
                      "last_latency_ms": None, "heap_peak": 0, "failing_polls": 0}
        session.terminal = self

    def blacklist(self):
        """The offline blacklist (reader.terminal.blacklist.Blacklist), opened for this check;
        its module leaves RAM with the card application's (`let_go`)."""
        if self._blacklist is not None:
            return self._blacklist
        from reader.terminal.blacklist import Blacklist
        return Blacklist()

    @staticmethod
    def let_go():
        """Let the card application's modules (reader.transient("cards")) and the blacklist's
        go after a tap or a host card request: an idle reader does not keep them in RAM. The
        SAM session stays (reader.cards.psam, reader.chips.sam_slot)."""
        reader.let_go("cards", "terminal.blacklist")
        gc.collect()

    # -- set-up ---------------------------------------------------------------------------
    def open(self):
        """Open the card reader and the QR scanner. The SAM (reset, PPS, DF01) and the card
        application are brought up by the first tap, so an idle reader keeps its heap for
        the host (and the REPL); a part that fails is reported by the events that need it."""
        if hasattr(self.board, "reader_chip"):
            self.reader = self.session.open_card_reader()
        if hasattr(self.board, "qr_scanner"):
            self.qr = self.board.qr_scanner()   # the scanner's UART

    def sam_ready(self):
        """The PSAM with DF01 selected, at the rate the configured flow wants; None when the
        SAM does not answer (sam_error says why)."""
        flow = self.config.get("flow")
        touched = self.session.sam_touched
        if self.psam is not None and flow == self._flow and touched == self._sam_seen:
            return self.psam
        from reader.cards.psam import PSAM

        self.psam = None
        self._flow = flow
        self._sam_seen = touched
        chip = getattr(self.reader, "chip", None)
        fast = getattr(chip, "max_baud", 0)
        if fast > 115200:   # PN532 HSU: the vendor's reference flow keeps the power-on rate
            chip.set_baudrate(115200 if flow == "reference" else fast)
        if hasattr(self.reader, "max_rf"):   # and 106 kbit/s (from the next activation on)
            self.reader.max_rf = 0 if flow == "reference" else 3
        slot = self.session.open_sam_slot()
        slot.max_baud = _SAM_BAUD_REFERENCE if flow == "reference" else getattr(
            self.board, "SAM_MAX_BAUD", 115200)
        try:
            reader.call(_ACTIVATION, "power_on", slot)
            psam = PSAM(self.session.sam_channel)
            psam.select_df01()
        except ReaderError as error:     # HealthCardError too (caught by its base: the
            self.sam_error = str(error)  # card application's modules come and go)
            return None
        self.sam_error = None
        self.psam = psam
        return psam

    def take_card(self):
        """For a host card request, under the chip lock: the card in the field, activated
        (reader.protocols.apdu.Card), or None."""
        self.release_card()
        card = self.reader.poll()
        self._active = card is not None
        return card

    def release_card(self):
        """Release the card the last poll activated (before the host talks to the chip)."""
        if self._active:
            self._active = False
            self._release()

    # -- the loop -------------------------------------------------------------------------
    async def run(self):
        if self.reader is None and self.qr is None:
            self.open()
        while True:
            wait = IDLE_MS
            try:
                if self._display and self.present is None and time.time() >= self.idle_at:
                    self.screen("idle")    # at boot, after an outcome, each minute
                if self.session.host_channels:
                    # the host's holds end after an idle time (reader.terminal.device_requests
                    # is in RAM while the host holds a slot)
                    from reader.terminal.device_requests import end_idle_hold
                    end_idle_hold(self.session)
                if self.reader is not None and not self.session.host_holds("card"):
                    await self.poll_card()
                    if self.present is not None:
                        wait = PRESENT_MS
                    elif hasattr(self.board, "battery_mv") or self.config.get(
                            "power_save") == "on" or getattr(self.board, "LOW_POWER_POLL", 0):
                        # a handheld between taps: its battery, low-power polling
                        # (transient; docs/handheld.md)
                        wait = await reader.call("terminal.power", "idle", self)
                if self.qr is not None:
                    self.poll_qr()
            except Exception as error:  # noqa: BLE001 - a fault is reported, the loop goes on
                self._fault(error)
                wait = PRESENT_MS
            await asyncio.sleep_ms(wait)

    def _fault(self, error):
        gc.collect()
        self.stats["faults"] = self.stats.get("faults", 0) + 1
        try:
            self.send(hostlink.EV_ERROR, {
                "status": "error", "reason": "internal", "code": hostlink.INTERNAL,
                "name": hostlink.error_name(hostlink.INTERNAL),
                "message": "terminal fault %s: %s" % (type(error).__name__, error)})
        except MemoryError:
            pass

    def today(self):
        t = time.localtime(time.time() + self.clock_offset)
        return "%04d%02d%02d" % (t[0], t[1], t[2])

    async def poll_card(self):
        async with self.session.chip_lock:
            # the card of the last poll is released only now, so nothing crosses the wires
            # between a tap's read and its event (the benchmark counts them)
            self.release_card()
            start = time.ticks_us()
            self.stats["polls"] += 1
            try:
                card = self.reader.poll()
            except ReaderError as error:
                self.stats["poll_errors"] += 1
                self._failing("reader_chip", error)
                self._recover()
                return
            if self.stats["failing_polls"]:
                self._failing("reader_chip", None)
            if card is None:
                if self.present is not None:
                    self.send(hostlink.EV_REMOVED, {"status": "ok", "uid": _hex(self.present)})
                    self.stats["removed"] += 1
                    self.present = None
                return
            uid = bytes(card.uid)
            self._active = True
            if uid != self.present:
                self.present = uid
                self._tap(card, uid, start)

    def _failing(self, part, error):
        """A part (below) that fails its limit of times in a row is one error event with
        reason `part`, and a "recovered" one when it works again (error None); info's
        terminal stats count the failures in a row, and while it fails name it under
        "failing" with the event's message (the selftest request too; docs/terminal-flow.md)."""
        # part: its counter in the stats, the failures in a row that make the event, of
        # what, "its name|what to do" (a bytes constant read in place, not a global)
        parts = (b"\nreader_chip failing_polls 5 polls the reader chip|taps cannot be read; the "
                 b"reader keeps resetting it; if this lasts, check the chip's wiring or replace"
                 b" the reader\nsam failing_sam 2 taps the SAM|taps end in error sam; the reader"
                 b" resets the SAM at each tap; check that the PSAM sits in its slot, contacts "
                 b"up, or replace it\nqr_scanner failing_qr 3 reads the QR scanner|its codes do "
                 b"not arrive as text lines; check the module's wiring and that it sends at 9600"
                 b" baud, or replace it\n")
        stats = self.stats
        key, limit, unit, what = table_line(parts, part).split(" ", 3)
        what, advice = what.split("|")
        limit = int(limit)
        count = stats.get(key, 0)
        if error is None:
            if count >= limit:
                stats["failing"].pop(part, None)
                if not stats["failing"]:
                    del stats["failing"]
                self.send(hostlink.EV_ERROR, {
                    "status": "recovered", "reason": part,
                    "message": "%s works again after %d failed %s" % (what, count, unit)})
            stats[key] = 0
            return
        stats[key] = count = count + 1
        if count == limit:
            message = "%s failed %d %s in a row (%s): %s" % (what, limit, unit, error, advice)
            stats.setdefault("failing", {})[part] = message
            self.send(hostlink.EV_ERROR, {
                "status": "error", "reason": part, "code": hostlink.DEVICE,
                "name": hostlink.error_name(hostlink.DEVICE), "message": message})

    def _recover(self):
        try:
            self.reader.reinit()
        except ReaderError:
            pass  # the next poll fails again and is counted

    def _release(self):
        try:
            self.reader.release()
        except ReaderError:
            self._recover()

    def _still_there(self, uid):
        """After a failed read: is the card with `uid` still in the field?"""
        self._release()
        try:
            card = self.reader.poll()
        except ReaderError:
            self._recover()
            return None
        if card is None or bytes(card.uid) != uid:
            return None
        return card

    # -- one tap --------------------------------------------------------------------------
    def _tap(self, card, uid, start):
        gc.collect()
        try:
            self._tap_read(card, uid, start)
        finally:
            self.let_go()

    def _tap_read(self, card, uid, start):
        self.stats["taps"] += 1
        self.screen("reading")
        body = {"uid": _hex(uid)}
        psam = self.sam_ready() if hasattr(self.board, "sam_slot") else None
        if psam is None:
            self._failing("sam", self.sam_error or "no SAM slot")
            return self._finish(start, body, "error", "sam", self.sam_error or "no SAM slot")
        data = None
        for attempt in range(_READ_TRIES):
            try:
                data = self._read(card, psam)
                break
            except ReaderError as error:  # a HealthCardError: its kind says what happened
                kind, where, message = error.kind, error.where, str(error)
            # the error (and with it the card application's classes) is gone: its code
            # leaves RAM before the event is built or the card is looked for
            self.let_go()
            if kind == "sam":  # (healthcard_errors.SAM) reset, selected at the next tap
                self.psam = None
                self._failing("sam", message)
            if kind != _COMMUNICATION:
                refusal = table_line(_REFUSALS, kind)
                if refusal:
                    return self._finish(start, body, "refused", refusal, message)
                return self._finish(start, body, "error", kind.replace("-", "_"), message)
            # the link failed: is the card still there?
            card = self._still_there(uid)
            if card is None:
                self.present = None
                return self._finish(start, body, "error", "card_removed",
                                    "the card left the field during the read (%s): tap it "
                                    "again and hold it still" % where)
            if attempt + 1 == _READ_TRIES:
                return self._finish(start, body, "error", "communication", message)
        if self.stats.get("failing_sam"):
            self._failing("sam", None)
        self.probe()
        self.let_go()          # the read is done: its code leaves before the blacklist's comes
        body.update(event_fields(data))
        ident = data.get("SFZH") or data.get("KH")
        blacklist = self.blacklist()
        body["blacklist_stale"] = stale = self.blacklist_stale(blacklist)
        listed = ident and blacklist.contains(ident)
        blacklist.close()
        if listed:              # on the list, stale or not
            return self._finish(start, body, "refused", "blacklisted",
                                "the ID number is on the offline blacklist (version %d)"
                                % blacklist.version)
        if stale and self.config.get("stale_blacklist") == "refuse":
            return self._finish(start, body, "refused", "blacklist_stale",
                                "the offline blacklist is missing or older than %d hours: "
                                "let the host install a current one (hcterm blacklist push)"
                                % self.config.get("blacklist_max_age_h"))
        expiry = data.get("KYXQ")
        if expiry:
            body["expiry_checked"] = self.clock_set
            if not self.clock_set:
                if self.config.get("unchecked_expiry") == "refuse":
                    return self._finish(start, body, "refused", "clock_not_set",
                                        "the reader's clock is not set, so the card's expiry "
                                        "(%s) cannot be checked: let the host set it "
                                        "(set-time; hcterm does on connect)" % expiry)
            elif expiry < self.today():
                return self._finish(start, body, "refused", "expired",
                                    "the card expired on %s" % expiry)
        return self._finish(start, body, "ok", None, None)

    def utc(self):
        """Seconds since 1970 UTC by the reader's clock (China Standard Time, UTC+8), or None
        while it is not set."""
        if not self.clock_set:
            return None
        return time.time() + self.clock_offset - 28800 + (
            946684800 if time.gmtime(0)[0] == 2000 else 0)

    def blacklist_stale(self, blacklist):
        """No list, or one issued longer ago than the setting blacklist_max_age_h (by the
        clock; while it is not set, only a missing list counts as stale)."""
        now = self.utc()
        return not blacklist.installed or (now is not None and now - blacklist.issued >
                                           self.config.get("blacklist_max_age_h", 0) * 3600)

    def blacklist_status(self):
        blacklist = self.blacklist()
        status = blacklist.status()
        status["stale"] = self.blacklist_stale(blacklist)
        return status

    def set_clock(self, offset):
        """The host set the clock: `offset` seconds added to time.time(); trusted from now."""
        self.clock_offset = offset
        self.clock_set = True

    def _read(self, card, psam):
        profile = self.config.get("read_profile")
        if self.config.get("flow") == "reference":
            from reader.cards.vendor_flow import ReferenceCard as Card
        else:
            from reader.cards.healthcard import HealthCard as Card
        return Card(card.channel, psam, card.ats).read(profile)

    def _finish(self, start, body, status, reason, message):
        body["status"] = status
        rates = getattr(self.reader, "rates", (0, 0))      # the card's bit rate codes
        body["rf_kbps"] = [106 << rates[0], 106 << rates[1]]
        if self.psam is not None:
            body["sam_baud"] = self.session.sam_slot.baudrate
        if reason:
            body["reason"] = reason
            body["message"] = message
        latency = time.ticks_diff(time.ticks_us(), start) // 100 / 10
        body["latency_ms"] = latency
        self.stats["last_latency_ms"] = latency
        if status == "error":
            body["code"] = hostlink.NO_CARD if reason == "card_removed" else hostlink.DEVICE
            body["name"] = hostlink.error_name(body["code"])
            self.send(hostlink.EV_ERROR, body)
        else:
            self.send(hostlink.EV_TAP, body)
        self.probe()
        self.signal("ok" if status == "ok" else status, body)

    def probe(self):
        """Config heap_probe: collect, note the live heap (the tap's objects still held)."""
        if self.config.get("heap_probe"):
            gc.collect()
            used = gc.mem_alloc()
            if used > self.stats["heap_peak"]:
                self.stats["heap_peak"] = used

    # -- QR codes -------------------------------------------------------------------------
    def poll_qr(self):
        """A code from the scanner -> a qr event (reader.terminal.qr_scan, imported for the code
        and let go after it, with the parser). The line reader (reader.chips.qr_scanner) is made
        when bytes arrive and let go again once nothing is half-read."""
        scanner = self._scanner
        try:
            if scanner is None:
                if not self.qr.any():
                    return
                from reader.chips.qr_scanner import QRScanner
                scanner = self._scanner = QRScanner(self.qr)
            code = scanner.poll()
        except ReaderError as error:       # QRCodeError: a line too long
            code = error
        except OSError as error:           # the scanner's UART
            return self._failing("qr_scanner", error)
        if code is not None:
            self.stats["qr"] += 1
            try:
                # line noise (too long, not text) says the module or its line is failing
                noise = reader.call("terminal.qr_scan", "scanned", self, code)
                if noise is not None or self.stats.get("failing_qr"):
                    self._failing("qr_scanner", noise)
            finally:
                reader.let_go("cards.qrcode", "terminal.blacklist")
        if scanner.idle():
            self._scanner = None
            scanner = None
            reader.let_go("chips.qr_scanner")

    # -- output ---------------------------------------------------------------------------
    def send(self, msg, body):
        self.server.event(msg, body)

    def signal(self, outcome, body):
        """The outcome's colour, screen (from the event `body`) and beeps
        (reader.terminal.feedback); the beeps run as a task, so they never delay the next
        poll. The host link down and the offline journal refusing the event
        (server.refused(): full with journal_full "refuse", the flash failing): the person
        sees that refusal instead (docs/tap-journal.md)."""
        refused = getattr(self.server, "refused", None)
        why = refused and refused()
        if why:
            outcome = "refused"
            body = dict(body)
            body["reason"] = why
        beeps = reader.call("terminal.feedback", "signal", self.session, outcome, body)
        if beeps is not None:
            asyncio.create_task(self.session.beep(*beeps))

    def screen(self, name, values=None):
        """Show screen `name` on a board with a display (reader.terminal.feedback.show);
        nothing is imported on a board without one."""
        if self._display:
            reader.call("terminal.feedback", "show", self.session, name, values)
