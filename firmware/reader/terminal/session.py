"""What the host's requests share with the terminal flow (docs/host-link.md, "Messages"):
`Session` holds the board, its settings and feedback pins, the self-test report, the devices
opened (card reader, SAM slot) and the slots the host holds powered, the chip lock, the
terminal flow and a blacklist update spread over requests. `LinkError` is the error a request
answers with. reader.main makes one session and wires the link's dispatch to it; the code
serving each request (reader.terminal.requests) is imported for the request and let go.
"""

import asyncio
import json

from micropython import const

import reader

RESUME = "import reader.main as m;m.resume()"
REPORT_PATH = "/selftest.json"    # the power-on self-test report (reader.main writes it)
_DEVICES = "terminal.devices"     # opens the drivers a board asks for; transient
_SETTINGS = "terminal.settings"   # loads and stores the settings; transient
_BEEP_GAP_MS = const(80)          # silence between beeps


class LinkError(Exception):
    """A request refused with error `code` (hostlink.ERRORS) and a message saying what to
    do; `kind` for the host's program."""

    def __init__(self, code, message, kind=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind


class Session:
    def __init__(self, board, report=None, settings_path="/config.json"):
        """`report`: the self-test report (a dict, or its JSON text), kept in RAM; None: it is
        in REPORT_PATH on the flash (where reader.main keeps it: asked for rarely)."""
        self.board = board
        text = report if report is None or isinstance(report, str) else json.dumps(report)
        self._report = text
        self.report_ok = self.report().get("ok")
        self.settings_path = settings_path
        # the settings (a dict: terminal.settings), and why the stored ones were not used
        self.config, self.config_error = reader.call(_SETTINGS, "load", settings_path)
        # the board's feedback pins, made once (reader.terminal.feedback drives them)
        self.led = board.led() if hasattr(board, "led") else None
        self.beeper = board.beeper() if hasattr(board, "beeper") else None
        self.chip_lock = asyncio.Lock()    # the flow's polls and the host's chip requests
        self.server = None                 # the link server (reader.main sets it)
        self.terminal = None               # the terminal flow (it sets itself)
        self.host_name = None              # what the host called its session in hello
        self.card_reader = None            # opened on first use, then kept
        self.sam_slot = None
        self.sam_channel = None            # APDUs to the SAM (protocols.apdu.SAMChannel)
        self.host_channels = {}            # slot name -> APDU channel the host powered
        self.host_apdu_ms = 0              # ticks_ms of the host's last power-on or APDU
        self.host_ended = None             # (slot, why, ticks_ms) of the last hold ended
        self.sam_touched = 0               # host commands that reset or used the SAM

    async def beep(self, ms=100, count=1):
        """Sound the board's beeper `count` times for `ms` each (it must have one:
        reader.terminal.feedback says which parts a board has)."""
        for i in range(count):
            if i:
                await asyncio.sleep_ms(_BEEP_GAP_MS)
            self.beeper.on()
            await asyncio.sleep_ms(ms)
            self.beeper.off()

    def report(self):
        """The self-test report (a dict)."""
        if self._report is not None:
            return json.loads(self._report)
        try:
            with open(REPORT_PATH) as f:
                return json.load(f)
        except (OSError, ValueError) as error:
            return {"ok": None, "error": "the self-test report %s cannot be read (%s): restart "
                    "the reader to run the self-test again" % (REPORT_PATH, error)}

    def slots(self):
        """The APDU slots of this board: "card" (the contactless chip), "sam1"."""
        slots = []
        if hasattr(self.board, "reader_chip"):
            slots.append("card")
        if hasattr(self.board, "sam_slot"):
            slots.append("sam1")
        return slots

    def host_holds(self, slot):
        """Whether the host holds `slot` powered (the flow does not poll a held card slot)."""
        return slot in self.host_channels

    def open_card_reader(self):
        """The board's card reader (protocols.pn532_reader / rc522_reader), opened once."""
        if self.card_reader is None:
            self.card_reader = reader.call(_DEVICES, "open_card_reader", self.board)
        return self.card_reader

    def open_sam_slot(self):
        """The board's SAM slot (chips.sam_slot), opened once, and its APDU channel."""
        if self.sam_slot is None:
            from reader.protocols.apdu import SAMChannel

            self.sam_slot = reader.call(_DEVICES, "open_sam_slot", self.board)
            self.sam_channel = SAMChannel(self.sam_slot)
        return self.sam_slot
