"""Production flashing (`hcterm flash`, docs/flashing.md): compile the board's firmware for
the MicroPython the device runs (`build`), talk to the device's raw REPL (`device`), deploy
only what differs and verify it (`deploy`), keep a manufacturing record (`record`)."""


class FlashError(Exception):
    """A flash that cannot go on: `reason` (what failed) and `todo` (what to do next)."""

    def __init__(self, reason, todo):
        super().__init__(f"{reason}: {todo}")
        self.reason = reason
        self.todo = todo
