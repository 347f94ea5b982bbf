"""`Reader`: the host's client of a reader's host link (docs/host-link.md) over pyserial.

    from hcterm import Reader
    with Reader("/dev/ttyUSB0") as reader:        # or a pty, or socket://host:port
        print(reader.info()["firmware"])
        for event in reader.events(timeout=60):   # {"type": "tap", "KH": …, …}
            ...

The session (framing, acknowledgements, retries, reconnects, events, the REPL hand-off):
session.py. Errors: one family, `ReaderError` (errors.py): `LinkTimeout` (no acknowledgement
or answer in time), `NotConnected` (no port, closed, or handed to the REPL),
`DeviceError(code, message)` (the reader answered an ERROR; `NotSupported` when the firmware
does not do it yet). National interface names (`PowerOn`, `SendAPDU`, `iR_DDF1EF05Info`, …):
national.py.
"""

import time

from reader import hostlink

from .errors import DeviceError
from .national import NationalInterface
from .session import LinkSession

PIN_CARD_STEPS_S = 10   # verify-pin-on-reader: the card's steps around the typing (tries, VERIFY)
# verify-pin-on-reader's outcomes (docs/host-link.md; reader.terminal.pin_entry answers them)
PIN_OUTCOMES = ("ok", "wrong", "blocked", "cancelled", "timeout")
# the display's screen request (boards with one): its code from the message table (the
# firmware keeps no constant for it: one more global of a resident module)
_SCREEN = next(code for code, name in hostlink.MESSAGES.items() if name == "screen")
# hello's set-time, asked again when the reader had no heap for it for a moment
_SET_TIME_TRIES = 3
_SET_TIME_PAUSE_S = 0.3


class Reader(LinkSession, NationalInterface):
    """A connected reader: `Reader(url, …)` opens the port and starts a session (see
    LinkSession for the options); the methods below are its requests.

    `set_clock` (default True): at every hello (connect and reconnect) the reader's clock is
    set to the host's, when the reader has one to set (its info says `clock_set`): a reader
    without a battery-backed clock checks card expiry only once it is set."""

    def __init__(self, *args, set_clock=True, **options):
        self.set_clock = set_clock
        super().__init__(*args, **options)

    def hello(self, timeout=None):
        device = super().hello(timeout)
        if self.set_clock and "clock_set" in device:
            for attempt in range(_SET_TIME_TRIES):
                try:
                    self.set_time()
                    break
                except DeviceError as error:
                    # a reader short of heap for a moment (one delivering its tap journal
                    # as the host comes back: docs/tap-journal.md) fails the request with
                    # a MemoryError and sets nothing: setting the clock is asked again
                    if error.code != hostlink.INTERNAL or "MemoryError" not in error.message \
                            or attempt == _SET_TIME_TRIES - 1:
                        raise
                    time.sleep(_SET_TIME_PAUSE_S)
        return device

    def info(self):
        return self.request(hostlink.INFO)

    def selftest(self):
        return self.request(hostlink.SELFTEST)

    def config(self):
        return self.request(hostlink.CONFIG_GET)

    def set_time(self, when=None):
        """Set the reader's clock (card expiry, the blacklist's age) to `when` (a datetime;
        default now). The reader keeps China Standard Time (UTC+8, what a card's dates
        mean): an aware datetime is converted to it, a naive one is taken as that time.
        Returns the reader's answer ({"today"})."""
        import datetime

        china = datetime.timezone(datetime.timedelta(hours=8))
        when = when or datetime.datetime.now(china)
        if when.tzinfo is not None:
            when = when.astimezone(china)
        return self.request(hostlink.SET_TIME, {"time": when.strftime("%Y%m%d%H%M%S")})

    def set_config(self, **settings):
        return self.request(hostlink.CONFIG_SET, settings)

    def screen(self):
        """What the reader's display shows (boards with one): 1024 bytes, 8 pages of 128
        columns of 8 pixels, LSB on top (docs/display.md); NotSupported without a display."""
        out = bytearray()
        for page in range(8):
            out += bytes.fromhex(self.request(_SCREEN, {"page": page})["data"])
        return bytes(out)

    def feedback(self, beep=None, led=None, display=None):
        body = {}
        if beep is not None:
            body["beep"] = beep if isinstance(beep, dict) else {"count": int(beep)}
        if led is not None:
            body["led"] = {"on": bool(led)}
        if display is not None:
            body["display"] = display
        return self.request(hostlink.FEEDBACK, body)

    def power_on(self, slot="card"):
        return self.request(hostlink.POWER_ON, {"slot": hostlink.slot_name(slot)})

    def power_off(self, slot="card"):
        return self.request(hostlink.POWER_OFF, {"slot": hostlink.slot_name(slot)})

    def apdu(self, slot, command):
        """Send a command APDU (bytes or hex) to a powered slot; response bytes incl. SW."""
        if isinstance(command, (bytes, bytearray)):
            command = command.hex()
        answer = self.request(hostlink.APDU, {"slot": hostlink.slot_name(slot),
                                              "apdu": command.replace(" ", "")})
        return bytes.fromhex(answer["rsp"])

    def read(self, files=None, fields=None):
        body = {}
        if files:
            body["files"] = list(files)
        if fields:
            body["fields"] = list(fields)
        return self.request(hostlink.READ, body)

    def read_file(self, file, offset=0, length=256):
        answer = self.request(hostlink.READ_FILE, {"file": file, "offset": offset,
                                                   "length": length})
        return bytes.fromhex(answer["data"])

    def write_file(self, file, offset, data):
        """Write `data` (bytes) into binary file `file` (DF03/EE01…ED05, DDF1/EF07) at
        `offset`: plain UPDATE BINARY after the file's update key (docs/host-link.md)."""
        return self.request(hostlink.WRITE_FILE, {"file": file, "offset": offset,
                                                  "data": bytes(data).hex().upper()})

    def visit_flag(self, file, record, used):
        """Set (used=True: 84D2) or erase (False: 840C) flag `record` of index file `file`
        (DF03/EF05 inpatient, DF03/EF06 outpatient)."""
        return self.request(hostlink.VISIT_FLAG, {"file": file, "record": record,
                                                  "used": bool(used)})

    def write(self, file, fields, record=None):
        body = {"file": file, "fields": fields}
        if record is not None:
            body["record"] = record
        return self.request(hostlink.WRITE, body)

    def verify_pin(self, pin):
        return self.request(hostlink.VERIFY_PIN, {"pin": str(pin)})

    def verify_pin_on_reader(self, timeout_s=30):
        """VERIFY PIN with the PIN typed on the reader's keypad (it never reaches the host):
        the cardholder has `timeout_s` seconds (5-120). -> {"outcome": "ok" | "wrong" |
        "blocked" | "cancelled" | "timeout", "retries": tries left}; DeviceError (code
        not-supported, kind no-keypad) on a reader without a keypad, no-card without a card."""
        return self.request(hostlink.VERIFY_PIN_ON_READER, {"timeout_s": int(timeout_s)},
                            timeout=timeout_s + PIN_CARD_STEPS_S + self.timeout)

    def change_pin(self, old, new):
        return self.request(hostlink.CHANGE_PIN, {"old": str(old), "new": str(new)})

    def blacklist_status(self):
        return self.request(hostlink.BLACKLIST_STATUS)

    def blacklist_update(self, body):
        return self.request(hostlink.BLACKLIST_UPDATE, body)


def OpenDevice(port, **options):  # noqa: N802 - the national interface's name
    """The national interface's OpenDevice(port): a connected Reader."""
    return Reader(port, **options)
