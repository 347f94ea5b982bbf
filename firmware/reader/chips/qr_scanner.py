"""The QR scanner module's line reader (`QRScanner`) and the error of QR codes: what stays in
RAM once a code was scanned; the parser (reader.cards.qrcode) is imported for each code.
"""

import time

from micropython import const

from reader.errors import PROTOCOL, ReaderError

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
        super().__init__(code, kind=PROTOCOL, message=reason)
        self.reason = reason


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

    def idle(self):
        """True when nothing is half-read: no part of a line, no bytes read and not used."""
        return not self._n and not self._overflow and self._pos >= self._k

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
