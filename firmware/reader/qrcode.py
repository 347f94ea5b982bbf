"""Electronic health card QR codes: the pure parser and the scanner-UART line reader.

Plain-text forms (shared/domain/health-card.md section 1):
- static   `ID:type`                     e.g. `272E…9F58:1`
- dynamic  `ID:type:validity`            validity = expiry YYYYMMDDHHMMSS (UTC+8)
- regional `ID:type::issuer`             issuer/platform code, e.g. `5100A0013`
  (`ID:type:validity:issuer` is accepted too)
ID = 64 hex digits (returned upper-case), type = 1-2 digits. Codes are never verified
offline: the terminal forwards the text to the card management platform.
"""

import time

from micropython import const

from reader.driver_errors import PROTOCOL, ReaderError

_ID_LEN = const(64)
_HEX = "0123456789ABCDEFabcdef"
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

EMPTY = const(1)
FIELDS = const(2)
BAD_ID = const(3)
BAD_TYPE = const(4)
BAD_VALIDITY = const(5)
BAD_ISSUER = const(6)
TOO_LONG = const(7)
NOT_TEXT = const(8)


class QRCodeError(ReaderError):
    where = "QR code"

    def __init__(self, code, reason):
        super().__init__(code, PROTOCOL, reason)
        self.reason = reason


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


class QRScanner:
    """Collects codes from the scanner's UART: text up to CR or LF (CRLF counts once)."""

    # the longest valid code is 103 characters (ID:type:validity:issuer); a longer line is
    # refused (TOO_LONG) whatever its length, so the line buffer stays small
    def __init__(self, uart, max_len=256):
        self.uart = uart
        self._line = bytearray(max_len)
        self._n = 0
        self._chunk = bytearray(64)
        self._overflow = False
        self._pos = self._k = 0          # unread bytes left in _chunk

    def poll(self):
        """Non-blocking: a complete code as bytes, or None. Raises QRCodeError(TOO_LONG)
        once for a line longer than max_len (the rest of that line is dropped)."""
        uart, chunk = self.uart, self._chunk
        while True:
            while self._pos < self._k:
                self._pos += 1
                code = self._byte(chunk[self._pos - 1])
                if code is not None:
                    return code
            if not uart.any():
                return None
            self._k = uart.readinto(chunk) or 0
            self._pos = 0

    def _byte(self, b):
        if b in (0x0D, 0x0A):
            n, over = self._n, self._overflow
            self._n = 0
            self._overflow = False
            if over:
                raise QRCodeError(TOO_LONG, "code longer than %d bytes" % len(self._line))
            return bytes(self._line[0:n]) if n else None
        if self._n >= len(self._line):
            self._overflow = True
        else:
            self._line[self._n] = b
            self._n += 1
        return None

    def read(self, timeout_ms):
        """Wait up to timeout_ms for a code; bytes or None."""
        start = time.ticks_ms()
        while True:
            code = self.poll()
            if code is not None:
                return code
            if time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                return None
            time.sleep_ms(5)
