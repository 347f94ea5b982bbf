"""A serial QR scanner module: decoded codes as text + suffix, and a small command set.

Default 9600 8N1, continuous mode, suffix CR. The command protocol is ours, modeled on
common serial QR modules (a header, a length, a command, data and a two's-complement
checksum; acknowledgements as frames that start with ASCII ACK/NAK, which never start a
printable code). Exact bytes and examples: docs/qr-scanner.md.

| Feature            | Behaviour                                                             |
|--------------------|-----------------------------------------------------------------------|
| `scan(text)`       | continuous mode: sent at once; command mode: sent if a trigger is     |
|                    | armed, else kept in view and read by the next TRIGGER                 |
| TRIGGER (01)       | ack; the code in view is sent, else after `scan_timeout` a NAK 04     |
| STOP (02)          | ack; disarms a pending trigger (no NAK 04 follows)                   |
| SET MODE (10)      | 00 command (host trigger), 01 continuous                              |
| SET SUFFIX (11)    | 00 none, 01 CR, 02 CRLF, 03 LF, 04 TAB                                |
| SET BAUD (12)      | 00 9600 .. 04 115200; ack at the old rate, then the UART switches     |
| GET VERSION (20)   | ack carrying VERSION (ASCII)                                          |
| GET CONFIG (21)    | ack carrying mode, suffix, baud index                                 |
| FACTORY RESET (2F) | ack at the old rate, then the defaults above                          |
| Not supported      | saving settings across power cycles, symbology filters, prefixes      |

Bytes at a rate other than the module's (after `on_host_baudrate`) are garbled both ways.
"""

import threading

from hcterm.emulator.bus_device import UartDevice
from hcterm.emulator.wire_timing import garble

HEADER = 0x7E
ACK = 0x06
NAK = 0x15

CMD_TRIGGER = 0x01
CMD_STOP = 0x02
CMD_SET_MODE = 0x10
CMD_SET_SUFFIX = 0x11
CMD_SET_BAUD = 0x12
CMD_GET_VERSION = 0x20
CMD_GET_CONFIG = 0x21
CMD_FACTORY_RESET = 0x2F

MODE_COMMAND = 0x00
MODE_CONTINUOUS = 0x01

SUFFIXES = (b"", b"\r", b"\r\n", b"\n", b"\t")  # index = SET SUFFIX parameter
SUFFIX_NAMES = {"none": 0, "CR": 1, "CRLF": 2, "LF": 3, "TAB": 4}
BAUDS = (9600, 19200, 38400, 57600, 115200)  # index = SET BAUD parameter

ERR_CHECKSUM = 0x01
ERR_UNKNOWN_COMMAND = 0x02
ERR_PARAMETER = 0x03
ERR_NO_READ = 0x04
ERRORS = {
    ERR_CHECKSUM: "checksum wrong: frame ignored",
    ERR_UNKNOWN_COMMAND: "unknown command",
    ERR_PARAMETER: "parameter out of range or wrong length",
    ERR_NO_READ: "no code decoded before the scan timeout",
}

VERSION = b"HCQR-EMU 1.0"

# Parameter length each command takes (None: any).
_PARAM_LEN = {CMD_TRIGGER: 0, CMD_STOP: 0, CMD_SET_MODE: 1, CMD_SET_SUFFIX: 1,
              CMD_SET_BAUD: 1, CMD_GET_VERSION: 0, CMD_GET_CONFIG: 0, CMD_FACTORY_RESET: 0}
_PARAM_MAX = {CMD_SET_MODE: 1, CMD_SET_SUFFIX: len(SUFFIXES) - 1, CMD_SET_BAUD: len(BAUDS) - 1}


def checksum(body):
    """Two's complement of the byte sum: LEN + CMD + DATA + CHK = 0 (mod 256)."""
    return (-sum(body)) & 0xFF


def command_frame(cmd, data=b""):
    """Host -> module: 7E LEN CMD DATA… CHK, LEN = 1 + len(DATA); pure."""
    body = bytes((1 + len(data), cmd)) + bytes(data)
    return bytes((HEADER,)) + body + bytes((checksum(body),))


def ack_frame(cmd, data=b""):
    """Module -> host on success: 06 LEN CMD DATA… CHK; pure."""
    body = bytes((1 + len(data), cmd)) + bytes(data)
    return bytes((ACK,)) + body + bytes((checksum(body),))


def nak_frame(cmd, error):
    """Module -> host on failure: 15 02 CMD ERR CHK; pure."""
    body = bytes((2, cmd, error))
    return bytes((NAK,)) + body + bytes((checksum(body),))


def split_frames(buf):
    """Complete 7E frames at the start of `buf` -> (frames, bytes consumed); pure.

    Bytes before a 7E header are noise and skipped. A frame is (cmd, data, checksum_ok).
    """
    frames, pos = [], 0
    while True:
        start = buf.find(bytes((HEADER,)), pos)
        if start < 0:
            return frames, len(buf)
        if start + 2 > len(buf):
            return frames, start
        length = buf[start + 1]
        end = start + 2 + length + 1
        if length == 0:
            pos = start + 2
            continue
        if end > len(buf):
            return frames, start
        body = bytes(buf[start + 1:end - 1])
        frames.append((body[1], body[2:], checksum(body) == buf[end - 1]))
        pos = end


class QrScanner(UartDevice):
    """The module's side of its UART (see the module docstring)."""

    default_baudrate = 9600

    def __init__(self, model=None, link="qr", scan_timeout=3.0, encoding="utf-8"):
        super().__init__()
        self.model = model
        self.link = link
        self.scan_timeout = scan_timeout
        self.encoding = encoding
        self.host_baudrate = None
        self.mode = MODE_CONTINUOUS
        self.suffix = 1
        self._in_view = None
        self._armed = None  # threading.Timer of a pending trigger
        self._buf = bytearray()
        self._lock = threading.RLock()
        if model is not None and not model.has(link):
            model.add_uart(link, self.default_baudrate)

    # -- the optical side --------------------------------------------------------------
    def scan(self, text):
        """A code comes into view. Returns True if it was sent now."""
        code = text.encode(self.encoding) if isinstance(text, str) else bytes(text)
        with self._lock:
            if self.mode == MODE_CONTINUOUS or self._armed is not None:
                self._disarm()
                self._emit(code + SUFFIXES[self.suffix])
                return True
            self._in_view = code
            return False

    def set_suffix(self, name):
        """Configure the suffix by name: none, CR, CRLF, LF, TAB (as SET SUFFIX does)."""
        self.suffix = SUFFIX_NAMES[name]

    # -- the UART side ------------------------------------------------------------------
    def on_host_baudrate(self, baudrate):
        self.host_baudrate = baudrate

    def on_receive(self, data):
        with self._lock:
            data = self._garble(bytes(data), self.host_baudrate, self.baudrate)
            if self.model is not None:
                self.model.pace(self.link, len(data), "rx")
            self._buf += data
            frames, used = split_frames(self._buf)
            del self._buf[:used]
            for cmd, params, ok in frames:
                self._command(cmd, params, ok)

    def _command(self, cmd, params, ok):
        if self.model is not None:
            self.model.round_trip(self.link)
        if not ok:
            return self._emit(nak_frame(cmd, ERR_CHECKSUM))
        if cmd not in _PARAM_LEN:
            return self._emit(nak_frame(cmd, ERR_UNKNOWN_COMMAND))
        if len(params) != _PARAM_LEN[cmd] or (params and params[0] > _PARAM_MAX[cmd]):
            return self._emit(nak_frame(cmd, ERR_PARAMETER))
        getattr(self, f"_cmd_{cmd:02x}")(params)

    def _cmd_01(self, _params):  # TRIGGER
        self._emit(ack_frame(CMD_TRIGGER))
        if self._in_view is not None:
            code, self._in_view = self._in_view, None
            self._emit(code + SUFFIXES[self.suffix])
            return
        self._disarm()
        timer = threading.Timer(self.scan_timeout, lambda: self._no_read(timer))
        timer.daemon = True
        self._armed = timer
        timer.start()

    def _cmd_02(self, _params):  # STOP
        self._disarm()
        self._emit(ack_frame(CMD_STOP))

    def _cmd_10(self, params):  # SET MODE
        self.mode = params[0]
        self._emit(ack_frame(CMD_SET_MODE))

    def _cmd_11(self, params):  # SET SUFFIX
        self.suffix = params[0]
        self._emit(ack_frame(CMD_SET_SUFFIX))

    def _cmd_12(self, params):  # SET BAUD
        self._emit(ack_frame(CMD_SET_BAUD))
        self._set_baud(BAUDS[params[0]])

    def _cmd_20(self, _params):  # GET VERSION
        self._emit(ack_frame(CMD_GET_VERSION, VERSION))

    def _cmd_21(self, _params):  # GET CONFIG
        baud = BAUDS.index(self.baudrate)
        self._emit(ack_frame(CMD_GET_CONFIG, bytes((self.mode, self.suffix, baud))))

    def _cmd_2f(self, _params):  # FACTORY RESET
        self._emit(ack_frame(CMD_FACTORY_RESET))
        self._disarm()
        self._in_view = None
        self.mode, self.suffix = MODE_CONTINUOUS, 1
        self._set_baud(self.default_baudrate)

    def _set_baud(self, baud):
        self.baudrate = baud
        if self.model is not None:
            self.model.set_baud(self.link, baud)

    def _no_read(self, timer):
        with self._lock:
            if self._armed is not timer:
                return  # stopped, or a code came in view first
            self._armed = None
            self._emit(nak_frame(CMD_TRIGGER, ERR_NO_READ))

    def _disarm(self):
        if self._armed is not None:
            self._armed.cancel()
            self._armed = None

    def _emit(self, data):
        if self.model is not None:
            self.model.pace(self.link, len(data), "tx")
        self.send(self._garble(data, self.baudrate, self.host_baudrate))

    @staticmethod
    def _garble(data, tx_baud, rx_baud):
        if tx_baud is None or rx_baud is None:
            return data
        return garble(data, tx_baud, rx_baud)
