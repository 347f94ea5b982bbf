"""What the host's requests share with the terminal flow (docs/host-link.md, "Messages"):
`Session` holds the board, its settings and feedback, the self-test report, the devices
opened (card reader, SAM slot) and the slots the host holds powered, the chip lock, the
terminal flow and a blacklist update spread over requests. `LinkError` is the error a request
answers with. reader.main makes one session and wires the link's dispatch to it; the code
serving each request (reader.terminal.requests) is imported for the request and let go.
"""

import asyncio
import json

import reader
from reader.terminal import feedback, settings

RESUME = "import reader.main as m;m.resume()"
_DEVICES = "terminal.devices"     # opens the drivers a board asks for; transient


class LinkError(Exception):
    """A request refused with error `code` (hostlink.ERRORS) and a message saying what to
    do; `kind` for the host's program."""

    def __init__(self, code, message, kind=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind


class Session:
    def __init__(self, board, report, settings_path=settings.PATH):
        self.board = board
        # the self-test report, kept as its JSON text (a few hundred bytes, not a tree of
        # dicts): asked for by selftest only
        text = report if isinstance(report, str) else json.dumps(report)
        if not isinstance(report, dict):
            report = json.loads(text)      # once, to note "ok"
        self.report_ok = report.get("ok")
        self._report = text
        self.config = settings.Config(settings_path)
        self.feedback = feedback.for_board(board)
        self.chip_lock = asyncio.Lock()    # the flow's polls and the host's chip requests
        self.server = None                 # the link server (reader.main sets it)
        self.terminal = None               # the terminal flow (it sets itself)
        self.host_name = None              # what the host called its session in hello
        self.card_reader = None            # opened on first use, then kept
        self.sam_slot = None
        self.sam_channel = None            # APDUs to the SAM (protocols.apdu.SAMChannel)
        self.host_channels = {}            # slot name -> APDU channel the host powered
        self.sam_touched = 0               # host commands that reset or used the SAM
        self.blacklist_update = None       # terminal.blacklist.Writer between chunks

    def report(self):
        """The self-test report (a dict)."""
        return json.loads(self._report)

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
