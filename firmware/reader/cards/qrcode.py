"""Electronic health card QR codes: the pure parser (the scanner-UART line reader and the error
are reader.chips.qr_scanner's, named here too). The terminal imports this module for a scan and lets
it go after it.

Plain-text forms (docs/qr-scanner.md, "Electronic health card codes"):
- static   `ID:type`                     e.g. `272E…9F58:1`
- dynamic  `ID:type:validity`            validity = expiry YYYYMMDDHHMMSS (UTC+8)
- regional `ID:type::issuer`             issuer/platform code, e.g. `5100A0013`
  (`ID:type:validity:issuer` is accepted too)
ID = 64 hex digits (returned upper-case), type = 1-2 digits. Codes are never verified
offline: the terminal forwards the text to the card management platform.
"""

from micropython import const

from reader.chips.qr_scanner import (  # noqa: F401 - the error and its codes, named here too
    BAD_ID,
    BAD_ISSUER,
    BAD_TYPE,
    BAD_VALIDITY,
    EMPTY,
    FIELDS,
    NOT_TEXT,
    TOO_LONG,
    QRCodeError,
    QRScanner,
)

_ID_LEN = const(64)
_HEX = "0123456789ABCDEFabcdef"
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _only(text, allowed):
    for c in text:
        if c not in allowed:
            return False
    return True


def _check_validity(v):
    if len(v) != 14 or not _only(v, "0123456789"):
        raise QRCodeError(BAD_VALIDITY, "validity must be 14 digits YYYYMMDDHHMMSS, got %r" % v)
    month, day = int(v[4:6]), int(v[6:8])
    hour, minute, second = int(v[8:10]), int(v[10:12]), int(v[12:14])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        raise QRCodeError(BAD_VALIDITY, "validity %s is not a date and time" % v)


def parse_qr(text):
    """QR text (str or bytes, trailing CR/LF allowed) -> dict with kind ('static',
    'dynamic', 'regional'), id, type, validity ('' if none), issuer ('' if none).
    Raises QRCodeError with the reason for anything else."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = str(bytes(text), "utf-8")
        except UnicodeError:
            raise QRCodeError(NOT_TEXT, "not UTF-8 text") from None
    text = text.strip()
    if not text:
        raise QRCodeError(EMPTY, "empty code")
    parts = text.split(":")
    if len(parts) < 2 or len(parts) > 4:
        raise QRCodeError(FIELDS, "expected ID:type[:validity[:issuer]], got %d field(s)"
                          % len(parts))
    ident, kind = parts[0], parts[1]
    if len(ident) != _ID_LEN or not _only(ident, _HEX):
        raise QRCodeError(BAD_ID, "ID must be 64 hex digits, got %d character(s)" % len(ident))
    if not 1 <= len(kind) <= 2 or not _only(kind, "0123456789"):
        raise QRCodeError(BAD_TYPE, "type must be 1-2 digits, got %r" % kind)
    validity = parts[2] if len(parts) > 2 else ""
    issuer = parts[3] if len(parts) > 3 else ""
    if len(parts) == 4 and not issuer:
        raise QRCodeError(BAD_ISSUER, "empty issuer code after '::'")
    if validity:
        _check_validity(validity)
    elif len(parts) == 3:
        raise QRCodeError(BAD_VALIDITY, "empty validity")
    if issuer and (len(issuer) > 20 or not _only(issuer, _ALNUM)):
        raise QRCodeError(BAD_ISSUER, "issuer code must be 1-20 letters/digits, got %r" % issuer)
    form = "regional" if issuer else ("dynamic" if validity else "static")
    return {"kind": form, "id": ident.upper(), "type": kind, "validity": validity,
            "issuer": issuer}


def expired(fields, now):
    """True when a dynamic code's validity is before `now` ('YYYYMMDDHHMMSS', UTC+8)."""
    return bool(fields["validity"]) and fields["validity"] < now
