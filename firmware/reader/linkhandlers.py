"""The host link's requests, the part that stays in RAM (docs/host-link.md, "Messages"):
`Handlers`, the state requests share with the terminal flow (board, config, feedback, the
drivers opened for the host, the chip lock), and `LinkError`, the error a request answers
with. The code serving the requests, reader.linkrequests, is imported for each request and
let go after it; it lists the messages.
"""

import json

import reader
from reader import config, feedback

RESUME = "import reader.main as m;m.resume()"


class LinkError(Exception):
    """A request refused with error `code` (hostlink.ERRORS) and a message saying what to
    do; `kind` for the host's program."""

    def __init__(self, code, message, kind=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind


class Handlers:
    def __init__(self, board, report, config_path=config.PATH):
        self.board = board
        # the self-test report, kept as its JSON text (a few hundred bytes, not a tree of
        # dicts): asked for by selftest only
        text = report if isinstance(report, str) else json.dumps(report)
        if not isinstance(report, dict):
            report = json.loads(text)      # once, to note "ok"
        self.report_ok = report.get("ok")
        self._report = text
        self.config = config.Config(config_path)
        self.feedback = feedback.for_board(board)
        self.server = None
        self.session = None
        self._reader = None   # reader.hardware card reader, opened on first use
        self._sam = None
        self._channels = {}   # slot name -> powered APDU channel
        self.terminal = None  # reader.terminal.Terminal, which sets these two
        self.chip_lock = None
        self.sam_touched = 0  # host commands that reset or used the SAM (terminal re-selects)
        self._card_requests = None

    async def dispatch(self, msg, payload):
        """Serve request `msg` -> (hostlink.RESPONSE or ERROR, obj), by reader.linkrequests."""
        from reader import linkrequests

        try:
            return await linkrequests.serve(self, msg, payload)
        finally:
            reader.forget("linkrequests")

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
