"""The national reader interface's numeric return codes for the Reader's errors
(docs/bridge.md, "Return codes").

The interface's functions return 0 or a code of what failed: 101 parameter, 102 no file,
103 read record, 104 card, 105 PSAM, 106 internal authentication failed, 107 read binary,
108 write record, 109 write binary, 110 / 111 DF03 index write / erase, 112 record invalid
(index flag FF), 113 photo data. Another convention, which an integrator may configure, is
-1 not open, -2 no card, -3 no response, -4 not powered, -5 slot unsupported, -6 bad
APDU (parameter), -7 failed, -8 communication error.

An error is first given a cause (`cause(error)`: a word below), then the cause its code in
either convention. A cause with no code of its own in the positive family (the reader not
open, no answer, a card status the interface has no code for) gets the code of the operation
that failed (`failed`: 103 for a record read, 107 for a binary read, …; `failure_code(name)`).
Pure functions, no I/O.
"""

from reader import hostlink

from .errors import DeviceError, LinkTimeout, NotConnected

RET_OK = 0
RET_PARAMETER = 101
RET_NO_FILE = 102
RET_READ_RECORD = 103
RET_CARD = 104
RET_PSAM = 105
RET_AUTH = 106
RET_READ_BINARY = 107
RET_WRITE_RECORD = 108
RET_WRITE_BINARY = 109
RET_INDEX_WRITE = 110
RET_INDEX_ERASE = 111
RET_RECORD_INVALID = 112
RET_PHOTO = 113

# cause -> code; a cause missing here: the failed operation's code (positive) or -7 (negative)
POSITIVE = {"parameter": RET_PARAMETER, "no-slot": RET_PARAMETER, "no-file": RET_NO_FILE,
            "no-card": RET_CARD, "not-powered": RET_CARD, "communication": RET_CARD,
            "psam": RET_PSAM, "auth": RET_AUTH, "record-invalid": RET_RECORD_INVALID,
            "photo": RET_PHOTO}
NEGATIVE = {"not-open": -1, "no-card": -2, "no-response": -3, "not-powered": -4,
            "no-slot": -5, "parameter": -6, "communication": -8}
NEGATIVE_FAILED = -7

# the reader's error kinds (docs/host-link.md "Errors"; docs/healthcard-app.md "Errors")
_KIND_CAUSE = {"not-found": "no-file", "sam": "psam", "auth-failed": "auth",
               "access-denied": "auth", "pin-wrong": "auth", "pin-blocked": "auth",
               "not-powered": "not-powered", "timeout": "no-response",
               "transmission": "communication", "protocol": "communication"}
_CODE_CAUSE = {hostlink.BAD_REQUEST: "parameter", hostlink.NO_SLOT: "no-slot",
               hostlink.NO_CARD: "no-card", hostlink.AUTH: "auth"}
# the bridge's own errors (hcterm.bridge.errors), by their "error"
API_CAUSE = {"bad-request": "parameter", "request-too-large": "parameter",
             "reader-not-found": "not-open", "reader-not-connected": "not-open",
             "reader-timeout": "no-response"}


class RecordInvalid(Exception):
    """Mixed into the Reader error for a visit record whose index flag is FF (code 112)."""


class PhotoData(Exception):
    """Mixed into the Reader error for a photo file whose data is not a photo (code 113)."""


def cause(error):
    """What failed, as one word of POSITIVE / NEGATIVE (or "failed")."""
    if isinstance(error, RecordInvalid):
        return "record-invalid"
    if isinstance(error, PhotoData):
        return "photo"
    if isinstance(error, DeviceError):
        return _KIND_CAUSE.get(error.kind) or _CODE_CAUSE.get(error.code, "failed")
    if isinstance(error, NotConnected):
        return "not-open"
    if isinstance(error, LinkTimeout):
        return "no-response"
    if isinstance(error, (ValueError, TypeError)):
        return "parameter"
    return "failed"


def code_of(why, failed=RET_READ_RECORD, negative=False):
    """The return code of cause `why` for an operation whose failure code is `failed`."""
    if negative:
        return NEGATIVE.get(why, NEGATIVE_FAILED)
    return POSITIVE.get(why, failed)


def national_code(error, failed=RET_READ_RECORD, negative=False):
    """The return code of `error` (an exception of the Reader, or None: 0) raised by an
    operation whose failure code is `failed`; `negative`: the -1 … -8 convention."""
    return RET_OK if error is None else code_of(cause(error), failed, negative)


def failure_code(name):
    """The failure code of national function `name` (iR_DDF1EF06Info -> 103, …)."""
    if name.startswith("iErase_"):
        return RET_INDEX_ERASE
    visit = name.startswith(("iR_DF03EE", "iR_DF03ED", "iW_DF03EE", "iW_DF03ED"))
    if name.startswith("iW_"):
        if name.startswith(("iW_DF03EF05", "iW_DF03EF06")):
            return RET_INDEX_WRITE
        return RET_WRITE_BINARY if visit else RET_WRITE_RECORD
    if visit or name == "iR_DDF1EF07Info":
        return RET_READ_BINARY
    return RET_READ_RECORD
