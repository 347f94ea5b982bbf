"""`hcterm demo`: the main job on a virtual reader, end to end.

A virtual reader boots (its self-test arrives as the first event), the host installs the
sample blacklist (host/hcterm/emulator/samples/blacklist.txt, through the link's
blacklist-update) and sets the reader's clock, then a person taps every sample card and takes
it away again, pulls one card off in the middle of its read, and scans a few QR codes. What
the HIS receives is shown as a table, or with --json as one JSON object per line per event
(card text decoded from GBK to Unicode, as the national interface gives it).

Each step has an expected outcome (a tap that is accepted, refused as locked, expired or
blacklisted, an error for the card pulled too early, …); the command exits 1 and says which
step went wrong when any event differs, or does not come.
"""

import json
import sys
from pathlib import Path

from .. import blacklist_files
from ..emulator import samples
from ..sim import boards as sim_boards
from ..sim.virtualreader import DEFAULT_BOARD, DEFAULT_HEAP, SimError, VirtualReader
from . import argtypes

EVENT_TIMEOUT = 10.0      # seconds an expected event may take (a tap is ~50 ms)
QUIET_S = 0.4             # after a step, no further event may come within this time
BLACKLIST_VERSION = 1
# the card fields of a tap, under the national interface's names
CARD_FIELDS = ("KH", "XM", "XB", "MZ", "CSRQ", "SFZH", "KYXQ")
# sample card (the word after its number) -> expected tap (status, reason)
CARD_OUTCOMES = {
    "adult": ("ok", None), "child": ("ok", None), "elderly": ("ok", None),
    "locked": ("refused", "locked"),
    "pin": ("ok", None),            # PIN-blocked: the identity profile needs no PIN
    "expired": ("refused", "expired"),
    "blacklisted": ("refused", "blacklisted"),
    "fast": ("ok", None),           # TA(1) 77: read at 848 kbit/s
}
# QR samples (qr_samples.json names) scanned, and the event each gives
QR_SCANS = (("static", "ok", None), ("dynamic-valid", "ok", None),
            ("dynamic-expired", "refused", "expired"), ("regional", "ok", None),
            ("url", "refused", "bad_id"))
# frames the card answers before the "pulled too early" card leaves the field: past its
# activation, in the middle of the identity read
PULL_AFTER_FRAMES = 10


class DemoFailure(Exception):
    pass


def register(subparsers):
    p = subparsers.add_parser("demo", help="tap the sample cards and scan QR codes on a "
                              "virtual reader; show what the HIS gets")
    p.add_argument("--board", default=DEFAULT_BOARD, choices=sim_boards.sim_names(),
                   help="sim board (default %(default)s)")
    p.add_argument("--json", action="store_true", help="one JSON object per line per event")
    p.add_argument("--heapsize", type=argtypes.heap_size, default=None,
                   help=f"the firmware's RAM budget (default {DEFAULT_HEAP}, or the board's own "
                        "from its wiring.json: sim-handheld 160k; the ROMFS image comes on top)")
    p.add_argument("--screens", metavar="DIR", type=Path,
                   help="save each new screen of the display as a PNG in DIR (a board with a "
                        "display: sim-handheld)")
    p.set_defaults(func=run)


def run(args):
    out = _JsonOut() if args.json else _TableOut()
    try:
        with VirtualReader(args.board, heapsize=args.heapsize) as vr:
            screens = getattr(args, "screens", None)
            if screens:
                recorder = record_screens(vr, screens)
            Demo(vr, out).run()
    except (SimError, DemoFailure) as error:
        out.close()
        print(f"hcterm demo: FAILED: {error}", file=sys.stderr)
        return 1
    out.close()
    if not args.json:
        print(f"demo passed: every event on {args.board} was the expected one")
        if screens:
            print(f"{len(recorder.saved)} screens saved in {screens}")
    return 0


def record_screens(vr, directory):
    """Save the display's screens of virtual reader `vr` in `directory` (SimError on a board
    without a display)."""
    from ..sim.screens import ScreenRecorder

    try:
        return ScreenRecorder(vr.devices.display, directory).start()
    except (ValueError, OSError) as error:
        raise SimError(f"--screens {directory}: {error}") from None


def card_kind(path):
    """card-04-locked-zhao-lei.json -> 'locked'."""
    return Path(path).stem.split("-")[2]


def national_event(event):
    """An event as the Reader delivers it -> the HIS's view: AN card fields as text."""
    from ..link.fields import to_national

    return to_national(event)


def provision_demo_key(reader):
    """Give a reader without a platform key the demo platform's public key (a reader that has
    another one keeps it: the push then says the signature does not verify)."""
    if not reader.config().get("blacklist_key"):
        reader.set_config(blacklist_key=samples.DEMO_PUBLIC_KEY)


def signed_list(path=None, version=BLACKLIST_VERSION, **fields):
    """A text blacklist as a format 2 list signed with the demo platform's key."""
    text = Path(path or samples.blacklist_path()).read_text(encoding="utf-8")
    data = blacklist_files.build_list(blacklist_files.read_list(text), version, **fields)
    return blacklist_files.sign(data, samples.DEMO_PLATFORM_KEY)


def install_blacklist(reader, path=None, version=BLACKLIST_VERSION):
    """Sign a text blacklist with the demo platform's key and push it to the reader
    (docs/blacklist-format.md), provisioning the demo key first: its status after."""
    provision_demo_key(reader)
    return blacklist_files.push(reader, signed_list(path, version))


def set_clock(reader, when=None):
    """The reader's clock (China Standard Time) to `when` (a Unix timestamp; default now)."""
    import datetime

    return reader.set_time(datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
                           if when else None)


class Demo:
    def __init__(self, vr, out):
        self.vr = vr
        self.out = out
        self.reader = None

    def run(self):
        from ..link import ReaderError

        try:
            self.reader = self.vr.open_reader(open_timeout=30, timeout=10)
        except (ReaderError, SimError) as error:
            raise DemoFailure(f"cannot talk to the virtual reader: {error}") from None
        try:
            self._steps()
        except ReaderError as error:
            raise DemoFailure(f"the reader failed a request: {error}") from None
        finally:
            self.reader.close()

    def _steps(self):
        self.expect("boot", "selftest", "ok", None)
        status = install_blacklist(self.reader)
        self.out.note(f"blacklist installed: version {status['version']}, "
                      f"{status['count']} ID numbers")
        self.out.note(f"reader clock set: today is {set_clock(self.reader)['today']}")
        for path in samples.paths():
            status, reason = CARD_OUTCOMES[card_kind(path)]
            self.vr.devices.tap(path)
            self.expect(_label(path), "tap", status, reason)
            self.vr.devices.remove()
            self.expect(_label(path), "removed", "ok", None)
        first = samples.paths()[0]
        self.vr.devices.field.faults.card_removed_after(PULL_AFTER_FRAMES)
        self.vr.devices.tap(first)
        pulled = _label(first) + " pulled early"
        self.expect(pulled, "error", "error", "card_removed")
        self.vr.devices.remove()
        self.quiet(pulled)
        codes = {s["name"]: s["text"] for s in _qr_samples()}
        for name, status, reason in QR_SCANS:
            self.vr.devices.scan(codes[name])
            self.expect(f"QR {name}", "qr", status, reason)

    def expect(self, step, kind, status, reason):
        from ..link import LinkTimeout

        try:
            event = self.reader.next_event(timeout=EVENT_TIMEOUT)
        except LinkTimeout:
            raise DemoFailure(f"{step}: no {kind} event within {EVENT_TIMEOUT:.0f} s") \
                from None
        event = national_event(event)
        if kind == "selftest":
            event["status"] = "ok" if event.get("ok") else "error"
        self.out.event(step, event)
        got = (event.get("type"), event.get("status"), event.get("reason"))
        if got != (kind, status, reason):
            raise DemoFailure(f"{step}: expected {kind}/{status}/{reason or '-'}, the HIS got "
                              f"{got[0]}/{got[1]}/{got[2] or '-'}: "
                              f"{event.get('message', json.dumps(event, ensure_ascii=False))}")
        return event

    def quiet(self, step):
        from ..link import LinkTimeout

        try:
            event = self.reader.next_event(timeout=QUIET_S)
        except LinkTimeout:
            return
        raise DemoFailure(f"{step}: an unexpected {event.get('type')} event: "
                          f"{json.dumps(event, ensure_ascii=False)}")


def _label(path):
    """card-01-adult-zhang-wei.json -> '01-adult-zhang-wei'."""
    return Path(path).stem.split("-", 1)[1]


def _qr_samples():
    path = Path(samples.__file__).with_name("qr_samples.json")
    return json.loads(path.read_text(encoding="utf-8"))["samples"]


class _JsonOut:
    """One JSON object per line per event, as the HIS receives it (plus "step")."""

    def note(self, text):
        pass

    def event(self, step, event):
        line = dict(event)
        line.setdefault("status", None)
        line.setdefault("reason", None)
        line["step"] = step
        print(json.dumps(line, ensure_ascii=False), flush=True)

    def close(self):
        sys.stdout.flush()


class _TableOut:
    COLUMNS = (("step", 34), ("event", 8), ("status", 8), ("reason", 13), ("ms", 6),
               ("KH", 18), ("XM", 6), ("XB", 2), ("MZ", 2), ("CSRQ", 8), ("KYXQ", 8))

    def __init__(self):
        self._header = False

    def note(self, text):
        print(f"  · {text}")

    def event(self, step, event):
        if event.get("type") == "selftest":
            print_selftest(event)
            return
        if not self._header:
            print("  ".join(_cell(name, width) for name, width in self.COLUMNS))
            print("  ".join("-" * width for _, width in self.COLUMNS))
            self._header = True
        values = {"step": step, "event": event.get("type"), "ms": event.get("latency_ms")}
        values.update(event)
        if event.get("type") == "qr":
            values["KH"] = (event.get("text") or "")[:18]
        print("  ".join(_cell(values.get(name), width) for name, width in self.COLUMNS),
              flush=True)

    def close(self):
        sys.stdout.flush()


def _cell(value, width):
    text = "" if value is None else str(value)
    # CJK characters take two columns on a terminal
    wide = sum(1 for ch in text if ord(ch) > 0x2E80)
    if len(text) + wide > width:
        text = text[:max(1, width - wide - 1)] + "…"
        wide = sum(1 for ch in text if ord(ch) > 0x2E80)
    return text + " " * max(0, width - len(text) - wide)


def print_selftest(event):
    print(f"virtual reader {event['board']} — firmware {event['firmware']} on MicroPython "
          f"{event['micropython']}, heap free {event['heap_free']} bytes")
    for name in ("reader_chip", "sam", "flash", "blacklist"):
        item = event.get(name)
        if item is None:
            continue
        if item["ok"]:
            details = ", ".join(f"{k}={v}" for k, v in item.items() if k != "ok")
            print(f"  {name:12} ok     {details}")
        else:
            print(f"  {name:12} FAILED {item['error']}")
    print(f"self-test: {'passed' if event['ok'] else 'FAILED'}")
