"""ISO/IEC 7816-3 definitions the SAM slot (reader.chips.sam_slot) and its activation
(reader.chips.sam_activation) share: the slot's error and its codes, the answer to reset
(`ATR`, kept by the slot), the inverse convention's byte map.
"""

from micropython import const

from reader.errors import PROTOCOL, TIMEOUT, TRANSMISSION, UNSUPPORTED, ReaderError

NO_ATR = const(1)
BAD_ATR = const(2)
BAD_TCK = const(3)
PPS_FAILED = const(4)
MUTE = const(5)
BAD_PROCEDURE = const(6)
NOT_T0 = const(7)
BAD_APDU = const(8)
# code -> kind letter (_KINDS) and meaning, one entry a line: a bytes constant read in place
_MESSAGES = (
    b"\x01Tno ATR after reset: no SAM in the slot?\n"
    b"\x02Pmalformed ATR\n"
    b"\x03XATR check byte TCK is wrong\n"
    b"\x04PPPS not confirmed: the SAM was reset and runs at the default rate\n"
    b"\x05Tthe SAM did not answer within the work waiting time\n"
    b"\x06Punexpected procedure byte\n"
    b"\x07Uthe SAM does not offer T=0\n"
    b"\x08Pnot a short command APDU\n"
)
_KIND_LETTERS = b"TPXU"
_KINDS = (TIMEOUT, PROTOCOL, TRANSMISSION, UNSUPPORTED)


def _message(code):
    """(meaning, kind) of SAMError `code`."""
    t = _MESSAGES
    at = 0
    while at < len(t):
        end = t.find(b"\n", at + 2)
        if t[at] == code:
            return t[at + 2:end].decode(), _KINDS[_KIND_LETTERS.find(t[at + 1:at + 2])]
        at = end + 1
    return "SAM slot error %d" % code, PROTOCOL


class ATR:
    """An answer to reset, parsed by sam_activation.parse_atr: `raw`, `inverse` (convention),
    `interface` (a dict of TA/TB/TC/TD per level), `historical`, `ta1` with its `fi`/`di`,
    `n` (TC1, extra guard time), `protocols` offered, `specific` (TA2 present), `wi` (TC2:
    work waiting integer). Defined here, not in the activation module: a slot keeps its ATR
    after that module has left RAM."""

    def __init__(self, raw, inverse, interface, historical, ta1, fi, di, n, protocols,
                 specific, wi):
        self.raw, self.inverse, self.interface, self.historical = raw, inverse, interface, \
            historical
        self.ta1, self.fi, self.di, self.n = ta1, fi, di, n
        self.protocols, self.specific, self.wi = protocols, specific, wi


class SAMError(ReaderError):
    where = "SAM slot"

    def __init__(self, code, detail=""):
        meaning, kind = _message(code)
        super().__init__(code, kind, meaning + (": " + detail if detail else ""))


INV = None    # the inverse convention's byte map, built when a SAM first answers in it


def inverse_table():
    global INV
    if INV is None:
        INV = bytes(_inverse(b) for b in range(256))
    return INV


def _inverse(b):
    r = 0
    for i in range(8):
        if b & (1 << i):
            r |= 0x80 >> i
    return r ^ 0xFF
