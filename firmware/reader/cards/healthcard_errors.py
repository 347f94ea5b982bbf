"""The one error of the health card and PSAM applications, and the status-word table behind it.

`HealthCardError.kind` is what a terminal can do about a failure (docs/healthcard-app.md,
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

# the modules, not their names: this module's globals stay few (its dict is built at each
# tap's import, in one piece, when the heap is at its fullest)
from reader import errors
from reader.protocols import apdu

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

# Status word of the card -> kind (63Cx is handled apart: PIN tries), and kind -> what to do:
# bytes constants read in place (no dicts built in RAM), in reader.errors' format. _CARD_SW:
# SW1 SW2 and the index of its kind in _SW_KINDS per entry.
_CARD_SW = (b"\x62\x830\n\x6A\x810\n\x69\x821\n\x69\x832\n\x63\x003\n\x69\x843\n"
            b"\x69\x883\n\x6A\x824\n\x6A\x834\n\x6A\x884\n")
_SW_KINDS = (LOCKED, ACCESS_DENIED, PIN_BLOCKED, AUTH_FAILED, NOT_FOUND)
_ACTIONS = (            # "\n" kind ":" what to do, one a line
    b"\ncommunication:tap the card again\n"
    b"auth-failed:the SAM does not belong to the card's issuer, or the card is forged\n"
    b"access-denied:the file needs an authentication that was not done\n"
    b"locked:the card is locked: send the holder to the issuing office\n"
    b"pin-blocked:the PIN is blocked: unblock it at the issuing office\n"
    b"pin-wrong:ask for the PIN again\n"
    b"not-found:the card does not hold this data\n"
    b"invalid-data:do not trust this card's data\n"
    b"sam:check the SAM in the reader's slot\n"
    b"refused:the card refused the command\n"
)


def card_sw_kind(sw):
    """The kind of a card status word (REFUSED for one not in the table)."""
    index = errors.table_text(_CARD_SW, sw, 2)
    return _SW_KINDS[int(index)] if index else REFUSED


def _action(kind):
    return errors.table_line(_ACTIONS, kind, b":") or "report this error"


class HealthCardError(errors.ReaderError):
    """kind (above), code (status word or lower-layer code), where, tries_left (PIN)."""

    where = "health card"

    def __init__(self, kind, code, where, detail, tries_left=None):
        self.where = where
        super().__init__(code, kind=kind, message="%s (%s)" % (detail, _action(kind)))
        self.tries_left = tries_left


def card_sw_error(sw, where):
    """The error for a card status word other than 9000."""
    if sw & 0xFFF0 == 0x63C0:
        return HealthCardError(PIN_WRONG, sw, where, "SW %04X: wrong PIN, %d tries left" %
                               (sw, sw & 0x0F), sw & 0x0F)
    kind = card_sw_kind(sw)
    return HealthCardError(kind, sw, where, "SW %04X: %s" % (sw, apdu.sw_meaning(sw)),
                           0 if kind == PIN_BLOCKED else None)


def sam_sw_error(sw, where):
    """The error for a SAM status word other than 9000 (PIN words keep their PIN kinds)."""
    if sw & 0xFFF0 == 0x63C0 or sw == 0x6983:
        error = card_sw_error(sw, where)
        error.kind = PIN_WRONG if sw != 0x6983 else PIN_BLOCKED
        return error
    return HealthCardError(SAM, sw, where, "SW %04X: %s" % (sw, apdu.sw_meaning(sw)))


def link_error(error, where, kind=COMMUNICATION):
    """A driver's ReaderError (PN532, T=CL, SAM slot) folded into this layer."""
    return HealthCardError(kind, error.code, where, "%s: %s" % (error.where, error.message))
