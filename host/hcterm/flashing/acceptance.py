"""Acceptance, also the hardware-in-the-loop suite (docs/flashing.md, "Acceptance"): the
checks a reader passes before it ships, through its USB port only. One definition, run by
`hcterm accept` (and `hcterm flash --accept`) and by `pytest tests/hil --port P`.

    with Reader(port) as reader:
        results = Acceptance(reader, presenter).run_all()   # [{"check", "ok", ...}]

A presenter (hcterm.flashing.presenters) does what a person at the line does: places the
reference card and takes it away, and says whether the LED lit and the beeper sounded.
Each check returns what it saw (`detail`) or raises CheckFailed with what failed and what
to do.
"""

import statistics
import time

from ..link import LinkTimeout, ReaderError

# (name, what it proves), in the order they run
CHECKS = (
    ("selftest", "the reader's power-on self-test passed (reader chip, SAM, flash, blacklist "
                 "store, clock)"),
    ("link", "the host link carries requests without errors (round trips, link counters)"),
    ("sam", "the PSAM answers in its slot (powered through the link, its ATR as at power-on)"),
    ("tap", "the reference card is read (a tap event with its fields) and its removal seen"),
    ("blacklist", "the blacklist store answers its status"),
    ("feedback", "the LED lights and the beeper sounds when the host asks"),
)
NAMES = tuple(name for name, _ in CHECKS)
LINK_ROUND_TRIPS = 20
LINK_ERRORS = ("crc_errors", "bad_frames", "bad_version", "overruns", "dropped")
# what to do when a part of the self-test failed (reader.terminal.selftest's parts)
WHAT_TO_DO = {
    "reader_chip": "check the antenna board and its cable to the main board",
    "sam": "seat a PSAM in the SAM slot (contacts down) and check the slot's contacts",
    "flash": "flash the reader again (hcterm flash); if it repeats, its flash chip is faulty",
    "blacklist": "install the list again (hcterm blacklist install); if it repeats, flash "
                 "the reader again",
    "clock": "check the real-time clock's battery",
}


class CheckFailed(Exception):
    """A check that did not pass: `reason` (what failed) and `todo` (what to do next)."""

    def __init__(self, reason, todo):
        super().__init__(f"{reason}: {todo}")
        self.reason = reason
        self.todo = todo


class Acceptance:
    """The checks of one reader (a connected hcterm.link.Reader) with `presenter`."""

    def __init__(self, reader, presenter, tap_timeout=None):
        self.reader = reader
        self.presenter = presenter
        self.tap_timeout = tap_timeout or presenter.tap_timeout
        self._report = None

    def run_all(self):
        return [self.run(name) for name in NAMES]

    def run(self, name):
        """Run check `name`: {"check", "ok", "detail" | "reason" and "todo", "seconds"}."""
        if name not in NAMES:
            raise ValueError(f"no check named {name!r}: the checks are {', '.join(NAMES)}")
        started = time.monotonic()
        result = {"check": name}
        try:
            result.update(ok=True, detail=getattr(self, f"_{name}")())
        except CheckFailed as error:
            result.update(ok=False, reason=error.reason, todo=error.todo)
        except ReaderError as error:
            result.update(ok=False, reason=f"the reader did not answer during the {name} "
                          f"check ({error})", todo="check the USB cable and run the "
                          "acceptance again; if it repeats, flash the reader again")
        result["seconds"] = round(time.monotonic() - started, 3)
        return result

    def report(self):
        if self._report is None:
            self._report = self.reader.selftest()
        return self._report

    # -- the checks -------------------------------------------------------------------
    def _selftest(self):
        report = self.report()
        failed = [k for k, v in sorted(report.items()) if isinstance(v, dict) and not v.get("ok")]
        if failed or not report.get("ok"):
            why = "; ".join(f"{k}: {report[k].get('error') or 'failed'}" for k in failed)
            raise CheckFailed(f"self-test failed: {why or 'see the report'}",
                              "; ".join(WHAT_TO_DO.get(k, f"check {k}") for k in failed)
                              + ", then power the reader off and on and run the acceptance "
                              "again")
        return f"firmware {report.get('firmware')} on {report.get('board')}, all parts ok"

    def _link(self):
        before = self.reader.info()["link"]
        times = []
        for _ in range(LINK_ROUND_TRIPS):
            start = time.perf_counter()
            try:
                self.reader.info()
            except LinkTimeout:
                raise CheckFailed(f"a request was not answered after {len(times)} of "
                                  f"{LINK_ROUND_TRIPS} round trips",
                                  "check the USB cable (or another USB port, a shorter "
                                  "cable) and run the acceptance again") from None
            times.append(time.perf_counter() - start)
        after = self.reader.info()["link"]
        errors = {k: after.get(k, 0) - before.get(k, 0) for k in LINK_ERRORS
                  if after.get(k, 0) > before.get(k, 0)}
        if errors:
            raise CheckFailed("the reader saw link errors in "
                              f"{LINK_ROUND_TRIPS} round trips: "
                              + ", ".join(f"{k} +{v}" for k, v in sorted(errors.items())),
                              "check the USB cable (or another USB port, a shorter cable) "
                              "and run the acceptance again")
        return (f"{LINK_ROUND_TRIPS} round trips, median {statistics.median(times) * 1000:.1f}"
                f" ms, max {max(times) * 1000:.1f} ms, no link errors")

    def _sam(self):
        sam = self.report().get("sam") or {}
        try:
            answer = self.reader.power_on("sam1")
        except ReaderError as error:
            raise CheckFailed(f"no SAM answers in slot sam1 ({getattr(error, 'message', error)})",
                              WHAT_TO_DO["sam"]) from None
        finally:
            try:
                self.reader.power_off("sam1")
            except ReaderError:
                pass
        if not (sam.get("serial") and sam.get("terminal_number")):
            raise CheckFailed("the self-test read no SAM serial or terminal number",
                              WHAT_TO_DO["sam"] + ", then power the reader off and on")
        if sam.get("atr") and answer.get("atr") != sam["atr"]:
            raise CheckFailed(f"the SAM's ATR {answer.get('atr')} differs from the one at "
                              f"power-on ({sam['atr']})", WHAT_TO_DO["sam"])
        return f"SAM {sam['serial']}, terminal number {sam['terminal_number']}"

    def _tap(self):
        self._drain()
        card = self.presenter.place()
        event = self._event(("tap", "error"), self.tap_timeout, "no card was read within "
                            f"{self.tap_timeout:g} s of placing the reference card",
                            "place the card flat on the antenna's mark; check the antenna "
                            "board and its cable; run the acceptance again")
        if event.get("type") != "tap" or event.get("status") != "ok":
            self.presenter.take_away()
            why = ": ".join(str(event[k]) for k in ("reason", "message") if event.get(k))
            raise CheckFailed(f"the reference card's tap failed ({why or event})",
                              WHAT_TO_DO["sam"] if event.get("reason") == "sam" else
                              "check that the card is the reference card, place it flat on "
                              "the antenna's mark and run the acceptance again")
        if card.get("uid") and event.get("uid") != card["uid"]:
            self.presenter.take_away()
            raise CheckFailed(f"the card read ({event.get('uid')}) is not the reference card "
                              f"({card['uid']})", "use the reference card")
        self.presenter.take_away()
        self._event(("removed",), self.tap_timeout, "the card's removal was not seen",
                    "take the card away from the antenna; check the antenna board")
        return f"card {event['uid']} read in {event.get('latency_ms')} ms, removal seen"

    def _blacklist(self):
        status = self.reader.blacklist_status()
        part = self.report().get("blacklist") or {}
        if part and not part.get("ok"):
            raise CheckFailed(f"the blacklist store failed its self-test: {part.get('error')}",
                              WHAT_TO_DO["blacklist"])
        if not status.get("installed"):
            return "the store answers; no list installed yet (hcterm blacklist install)"
        return (f"list version {status.get('version')}, {status.get('count')} cards"
                + (", stale" if status.get("stale") else ""))

    def _feedback(self):
        parts = self.reader.info().get("feedback") or {}
        asked = {k: parts.get(k) for k in ("led", "beeper")}
        if not any(asked.values()):
            return "the board has no LED and no beeper"
        since = self.presenter.mark()
        self.reader.feedback(beep=1 if asked["beeper"] else None,
                             led=True if asked["led"] else None)
        try:
            missing = self.presenter.feedback_seen(since, [k for k, v in asked.items() if v])
        finally:
            if asked["led"]:
                self.reader.feedback(led=False)
        if missing:
            raise CheckFailed(f"no {' and no '.join(missing)} when the host asked",
                              "check the " + " and the ".join(missing) + " and their "
                              "connections, then run the acceptance again")
        return " and ".join(k for k, v in asked.items() if v) + " confirmed"

    # -- events -------------------------------------------------------------------------
    def _drain(self):
        for _ in self.reader.events(timeout=0.05):
            pass

    def _event(self, kinds, timeout, reason, todo):
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.reader.next_event(timeout=left)
            except LinkTimeout:
                break
            if event.get("type") in kinds:
                return event
        raise CheckFailed(reason, todo)


def summary(results):
    """"ok", or "failed: sam, tap"; and the per-check record ("selftest:ok link:ok ...")."""
    failed = [r["check"] for r in results if not r["ok"]]
    text = "ok" if not failed else "failed: " + ", ".join(failed)
    return text, " ".join(f"{r['check']}:{'ok' if r['ok'] else 'failed'}" for r in results)


def accept_port(port, presenter, names=NAMES):
    """Open the reader on `port`, run the checks `names`: the manufacturing record's fields
    ({"acceptance", "acceptance_checks", "checks": [results], and who the reader is})."""
    from ..link import Reader

    try:
        reader = Reader(port, timeout=10, open_timeout=20)
    except ReaderError as error:
        result = {"check": "link", "ok": False, "seconds": 0,
                  "reason": f"no reader answers its host link on {port} ({error})",
                  "todo": "check the port and the cable; flash the reader first (hcterm "
                          "flash) if it has no firmware"}
        text, checks = summary([result])
        return {"port": port, "acceptance": text, "acceptance_checks": checks,
                "checks": [result]}
    with reader:
        run = Acceptance(reader, presenter)
        results = [run.run(name) for name in names]
        out = {"port": port, "checks": results}
        try:
            info, settings, report = reader.info(), reader.config(), run.report()
        except ReaderError:
            info, settings, report = {}, {}, {}
    sam = report.get("sam") or {}
    out.update(unique_id=info.get("unique_id"), board=info.get("board"),
               firmware=info.get("firmware"), sam_serial=sam.get("serial"),
               sam_terminal_number=sam.get("terminal_number"),
               terminal_id=settings.get("terminal_id"), department=settings.get("department"),
               selftest_ok=report.get("ok") if report else None)
    out["acceptance"], out["acceptance_checks"] = summary(results)
    return out
