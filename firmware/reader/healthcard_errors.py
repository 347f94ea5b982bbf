"""The one error of the health card and PSAM applications, and the status-word table behind it.

`HealthCardError.kind` is what a terminal can do about a failure (shared/domain/health-card.md
§3 status words; the drivers' own errors fold into COMMUNICATION or SAM):

- communication: the card left the field or its link failed -> tap the card again
- auth-failed: 6300/6984/6988, the card refused the SAM's cryptogram or MAC -> a SAM of
  another issuer? use the SAM of the card's province
- access-denied: 6982, the file needs a key not granted -> a firmware/access-table bug
- locked: 6283 at SELECT DDF1 (application), 6A81 (card) -> send the holder to the issuer
- pin-blocked: 6983 at VERIFY / CHANGE PIN -> unblock at the issuer
- pin-wrong: 63Cx, `tries_left` = x -> ask for the PIN again
- not-found: 6A82 / 6A83 / 6A88, file, record or key absent -> the card lacks this data
- invalid-data: the card's data fails a check (TLV, ID check character) -> do not trust it
- sam: the SAM is mute, missing or refuses (any SW) -> check the SAM slot / SAM PIN
- refused: any other status word -> report the SW

`code` is the status word (or the lower layer's code), `where` names the file or command.
"""

from reader.apdu import sw_meaning
from reader.driver_errors import ReaderError

COMMUNICATION = "communication"
AUTH_FAILED = "auth-failed"
ACCESS_DENIED = "access-denied"
LOCKED = "locked"
PIN_BLOCKED = "pin-blocked"
PIN_WRONG = "pin-wrong"
NOT_FOUND = "not-found"
INVALID_DATA = "invalid-data"
SAM = "sam"
REFUSED = "refused"

# Status word of the card -> kind (63Cx is handled apart: PIN tries).
CARD_SW = {
    0x6283: LOCKED,
    0x6A81: LOCKED,
    0x6982: ACCESS_DENIED,
    0x6983: PIN_BLOCKED,
    0x6300: AUTH_FAILED,
    0x6984: AUTH_FAILED,
    0x6988: AUTH_FAILED,
    0x6A82: NOT_FOUND,
    0x6A83: NOT_FOUND,
    0x6A88: NOT_FOUND,
}

_ACTION = {
    COMMUNICATION: "tap the card again",
    AUTH_FAILED: "the SAM does not belong to the card's issuer, or the card is forged",
    ACCESS_DENIED: "the file needs an authentication that was not done",
    LOCKED: "the card is locked: send the holder to the issuing office",
    PIN_BLOCKED: "the PIN is blocked: unblock it at the issuing office",
    PIN_WRONG: "ask for the PIN again",
    NOT_FOUND: "the card does not hold this data",
    INVALID_DATA: "do not trust this card's data",
    SAM: "check the SAM in the reader's slot",
    REFUSED: "the card refused the command",
}


class HealthCardError(ReaderError):
    """kind (above), code (status word or lower-layer code), where, tries_left (PIN)."""

    where = "health card"

    def __init__(self, kind, code, where, detail, tries_left=None):
        self.where = where
        super().__init__(code, kind, "%s (%s)" % (detail, _ACTION[kind]))
        self.tries_left = tries_left


def card_sw_error(sw, where):
    """The error for a card status word other than 9000."""
    if sw & 0xFFF0 == 0x63C0:
        return HealthCardError(PIN_WRONG, sw, where, "SW %04X: wrong PIN, %d tries left" %
                               (sw, sw & 0x0F), sw & 0x0F)
    kind = CARD_SW.get(sw, REFUSED)
    return HealthCardError(kind, sw, where, "SW %04X: %s" % (sw, sw_meaning(sw)),
                           0 if kind == PIN_BLOCKED else None)


def sam_sw_error(sw, where):
    """The error for a SAM status word other than 9000 (PIN words keep their PIN kinds)."""
    if sw & 0xFFF0 == 0x63C0 or sw == 0x6983:
        error = card_sw_error(sw, where)
        error.kind = PIN_WRONG if sw != 0x6983 else PIN_BLOCKED
        return error
    return HealthCardError(SAM, sw, where, "SW %04X: %s" % (sw, sw_meaning(sw)))


def link_error(error, where, kind=COMMUNICATION):
    """A driver's ReaderError (PN532, T=CL, SAM slot) folded into this layer."""
    return HealthCardError(kind, error.code, where, "%s: %s" % (error.where, error.message))
