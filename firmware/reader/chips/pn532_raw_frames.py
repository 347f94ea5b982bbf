"""PN532 raw frames (InCommunicateThru): the chip sends one frame to the card with CRC and
parity, the host runs the block protocol (iso14443_4.TCL over `PN532Frames`). The terminal's
PN532 boards let the chip run ISO-DEP instead, so only tools and tests import this module.
"""

import reader
from reader.chips.pn532 import CONTROL


class PN532Frames:
    """Raw-frame transceiver over InCommunicateThru, for iso14443_4.TCL (the host runs
    the block protocol; use with SetParameters without AutoRATS)."""

    def __init__(self, pn532):
        self.pn532 = pn532
        self._code = None

    def frame_exchange(self, data, out, timeout_us):
        code = 1
        while code < 16 and 100 << (code - 1) < timeout_us:
            code += 1
        if code != self._code:
            reader.call(CONTROL, "set_timeouts", self.pn532, 0x0B, code)
            self._code = code
        slack_ms = (100 << (code - 1)) // 1000 + 100
        return self.pn532.communicate_thru(data, out, slack_ms)
