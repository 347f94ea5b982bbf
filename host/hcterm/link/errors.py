"""The Reader client's exceptions: one family, `ReaderError`.

`LinkTimeout` (no acknowledgement or answer in time), `NotConnected` (no port, closed, or
handed to the REPL), `DeviceError(code, message)` (the reader answered an ERROR;
`NotSupported` when the firmware does not do it yet), `RequestTooLarge` (refused before
sending: the request does not fit in one frame).
"""

from reader import hostlink


class ReaderError(Exception):
    """Base of every error of the Reader client."""


class LinkTimeout(ReaderError):
    """The reader did not acknowledge or answer in time."""


class NotConnected(ReaderError):
    """No port: not opened, closed, unplugged and not back in time, or handed to the REPL."""


class DeviceError(ReaderError):
    """The reader answered an ERROR: `code` (hostlink.ERRORS), `name`, `message`, `kind`."""

    def __init__(self, code, message, name=None, kind=None):
        self.code = code
        self.name = name or hostlink.ERRORS.get(code, "?")
        self.message = message
        self.kind = kind
        super().__init__(f"reader error {code} ({self.name}): {message}")

    @classmethod
    def from_body(cls, body):
        code = body.get("code", hostlink.INTERNAL)
        kind = NotSupported if code == hostlink.NOT_SUPPORTED else cls
        return kind(code, body.get("message", "no message"), body.get("name"), body.get("kind"))


class NotSupported(DeviceError):
    """The reader (its firmware or board) does not do this yet."""



class RequestTooLarge(ReaderError, ValueError):
    """A request whose payload is over the link's maximum (hostlink.MAX_PAYLOAD): refused
    before anything is sent (a parameter error: ValueError too)."""
