"""NXP PN532 driver: frames, the command set and the chip's status codes.

Transport independent: `PN532_UART` (pn532_uart.py) and `PN532_SPI` (pn532_spi.py) implement
only the bus, through five methods: `_wakeup()`, `_send(frame)`, `_ready(timeout_ms)`,
`_recv_begin()/_recv(buf, timeout_ms)/_recv_end()` and `_drain()`. Framing, checksums,
ACK/NACK and recovery live here, once.

| Feature                                   | Supported                                      |
|-------------------------------------------|------------------------------------------------|
| normal and extended information frames    | yes, both ways (extended from 255 bytes)       |
| ACK wait, NACK on a bad checksum          | yes (re-read up to 2 times)                    |
| SAMConfiguration, GetFirmwareVersion      | yes                                            |
| RFConfiguration (field, timeouts, retries)| yes                                            |
| SetParameters                             | yes                                            |
| InListPassiveTarget 106 kbps type A       | yes (ATQA, SAK, UID, ATS); other types: no     |
| InDataExchange with MI chaining both ways | yes, APDUs up to the caller's buffer           |
| InCommunicateThru (raw frames for T=CL)   | yes (`PN532Frames` adapter)                    |
| InRelease, InDeselect                     | yes                                            |
| InPSL (ISO-DEP 212/424/848 kbit/s)        | yes (`psl`); presence check: Diagnose 06       |
| chip stops answering                      | re-wake, SAMConfiguration, replay, retry once |
| target mode, FeliCa, Jewel, DEP           | no (raises `PN532Error` kind unsupported)      |
"""

from micropython import const

import reader
from reader.errors import CHIP, ReaderError, table_entries, table_kind, table_text

_TFI_HOST = const(0xD4)
_TFI_CHIP = const(0xD5)
_TFI_ERROR = const(0x7F)
_HDR = const(8)            # room for the extended header: 00 00 FF FF FF LENM LENL LCS
_MAX_INFO = const(265)     # TFI + command code + 263 bytes: the chip's 264-byte buffer + TFI
_MAX_NORMAL = const(254)   # LEN 0xFF is the extended-frame marker
_STATUS_MI = const(0x40)
_STATUS_ERR = const(0x3F)
_NACK_RETRIES = const(2)
_FRAME_MS = const(100)     # a whole frame, once the chip has started sending it

ACK = b"\x00\x00\xff\x00\xff\x00"
NACK = b"\x00\x00\xff\xff\x00\x00"

# Driver-level codes (negative: never sent by the chip).
NO_ACK = const(-1)
NO_RESPONSE = const(-2)
BAD_FRAME = const(-3)
SYNTAX_ERROR = const(-4)
WRONG_RESPONSE = const(-5)

# The chip's tables as bytes constants, read in place (flash, or the ROMFS image of the
# virtual reader), in reader.errors' format: an entry is its code byte, then (errors) the
# kind's letter (reader.errors.KIND_LETTERS), then the text up to "\n". Text is looked up
# when an error is raised, never kept in RAM.
# `CMD` and `ERR` (module attributes, below) give them as dicts for the host and tests.

# Commands this driver knows (code -> name); a response's code is the command's + 1.
_CMD_NAMES = (
    b"\x00Diagnose\n" b"\x02GetFirmwareVersion\n" b"\x04GetGeneralStatus\n"
    b"\x06ReadRegister\n" b"\x08WriteRegister\n" b"\x10SetSerialBaudRate\n"
    b"\x12SetParameters\n" b"\x14SAMConfiguration\n" b"\x16PowerDown\n"
    b"\x32RFConfiguration\n" b"\x40InDataExchange\n" b"\x42InCommunicateThru\n"
    b"\x44InDeselect\n" b"\x4AInListPassiveTarget\n" b"\x4EInPSL\n" b"\x52InRelease\n"
    b"\x54InSelect\n"
)

# Status codes of the chip (UM0701 7.1), then the driver's own (code & 0xFF).
_ERRORS = (
    b"\x01ttimeout, the card did not answer\n"
    b"\x02xCRC error detected by the CIU\n"
    b"\x03xparity error detected by the CIU\n"
    b"\x04xerroneous bit count during anticollision/select\n"
    b"\x05xframing error during a Mifare operation\n"
    b"\x06xabnormal bit collision during 106 kbps anticollision\n"
    b"\x07ccommunication buffer too small\n"
    b"\x09xRF buffer overflow detected by the CIU\n"
    b"\x0AxRF field not switched on in time by the counterpart\n"
    b"\x0BpRF protocol error\n"
    b"\x0Dctemperature error, antenna drivers switched off\n"
    b"\x0Ecinternal buffer overflow\n"
    b"\x10cinvalid parameter\n"
    b"\x12uDEP command not supported by the initiator\n"
    b"\x13pdata format does not match the specification\n"
    b"\x14aMifare authentication error\n"
    b"\x23xUID check byte is wrong\n"
    b"\x25cinvalid device state for this command\n"
    b"\x26uoperation not allowed in this configuration\n"
    b"\x27ccommand not acceptable in the current context\n"
    b"\x29gtarget released by the initiator\n"
    b"\x2Agcard ID does not match: the card was exchanged\n"
    b"\x2Bgthe activated card has disappeared\n"
    b"\x2CpNFCID3 mismatch\n"
    b"\x2Dcover-current event detected\n"
    b"\x2EpNAD missing in DEP frame\n"
    b"\xFFcthe chip did not acknowledge the command, even after re-wake and re-init\n"
    b"\xFEtthe chip acknowledged but sent no response in time\n"
    b"\xFDxthe response frame stayed corrupted after NACK\n"
    b"\xFCcthe chip answered with a syntax error frame\n"
    b"\xFBcthe response does not belong to the command\n"
)


def command_name(command):
    """The PN532 command's name (e.g. "InDataExchange"), or "?"."""
    return table_text(_CMD_NAMES, command) or "?"


def error_info(code):
    """A status or driver code -> (meaning, kind); ("unknown status", CHIP) if unknown."""
    kind, meaning = table_kind(_ERRORS, code & 0xFF) or (CHIP, "unknown status")
    return meaning, kind


def __getattr__(name):
    # CMD {code: name} and ERR {code: (meaning, kind)} built when asked for (host, tests);
    # the driver itself reads the bytes tables.
    if name == "CMD":
        return {c: _CMD_NAMES[a:b].decode() for c, a, b in table_entries(_CMD_NAMES)}
    if name == "ERR":
        return {(c - 256 if c > 0x7F else c): error_info(c)
                for c, a, b in table_entries(_ERRORS)}
    raise AttributeError(name)


class PN532Error(ReaderError):
    """A status code of the chip (UM0701 7.1) or the driver's own (negative), for `command`."""

    where = "PN532"
    MESSAGES = _ERRORS

    def __init__(self, code, command=None):
        meaning, kind = error_info(code)
        name = command_name(command) if command is not None else "-"
        super().__init__(code, kind=kind, message="error 0x%02X in %s: %s"
                         % (code & 0xFF, name, meaning))
        self.command = command


class Target:
    """A card found by InListPassiveTarget at 106 kbps type A."""

    def __init__(self, tg, atqa, sak, uid, ats):
        self.tg, self.atqa, self.sak, self.uid, self.ats = tg, atqa, sak, uid, ats

    def iso_dep(self):
        return bool(self.sak & 0x20)


def parse_target_106a(data):
    """Parse InListPassiveTarget's answer (after D5 4B) -> Target, or None when NbTg is 0."""
    if len(data) < 1 or data[0] == 0:
        return None
    if len(data) < 6 or len(data) < 6 + data[5]:
        raise PN532Error(WRONG_RESPONSE, 0x4A)
    n = data[5]
    uid = bytes(data[6:6 + n])
    rest = data[6 + n:]
    ats = None
    if data[4] & 0x20 and len(rest):
        if rest[0] < 1 or rest[0] > len(rest):
            raise PN532Error(WRONG_RESPONSE, 0x4A)
        ats = bytes(rest[:rest[0]])
    return Target(data[1], (data[2] << 8) | data[3], data[4], uid, ats)


def frame(command, params=b""):
    """A complete host->chip frame as a new bytearray (tests, recovery; not the hot path)."""
    buf = bytearray(_HDR + 2 + len(params) + 2)
    buf[_HDR + 1] = command
    buf[_HDR + 2:_HDR + 2 + len(params)] = params
    start, end = _seal(buf, 1 + len(params))
    return buf[start:end]


def _seal(buf, n):
    """Fill header and checksums around buf[_HDR] = TFI, buf[_HDR+1 : _HDR+1+n] = command +
    params. Returns (start, end) of the frame in buf."""
    info = n + 1
    buf[_HDR] = _TFI_HOST
    s = 0
    for i in range(_HDR, _HDR + info):
        s += buf[i]
    buf[_HDR + info] = -s & 0xFF
    buf[_HDR + info + 1] = 0
    if info <= _MAX_NORMAL:
        start = _HDR - 5
        buf[start + 3] = info
        buf[start + 4] = -info & 0xFF
    else:
        start = 0
        buf[3] = buf[4] = 0xFF
        buf[5] = info >> 8
        buf[6] = info & 0xFF
        buf[7] = -(buf[5] + buf[6]) & 0xFF
    buf[start] = buf[start + 1] = 0
    buf[start + 2] = 0xFF
    return start, _HDR + info + 2


CONTROL = "chips.pn532_control"   # set-up and recovery commands, transient (reader.call)


class PN532:
    """The chip's command set over an abstract bus (see the module docstring)."""

    # The chip ACKs within a few ms; waiting up to 100 ms (nfcpy's figure) keeps a late ACK
    # (a busy host, a USB-serial bridge, the sim under load) from being taken for a silent
    # chip, whose recovery would then meet the late frames. Only a dead chip waits it out.
    ack_timeout_ms = 100
    response_timeout_ms = 1000
    max_exchange = 262     # InDataExchange DataOut per frame; longer data is chained (MI)

    def __init__(self):
        self._tx = bytearray(_HDR + _MAX_INFO + 2)
        self._txmv = memoryview(self._tx)
        self._rx = bytearray(_MAX_INFO + 2)
        self._rxmv = memoryview(self._rx)
        self._hdr = bytearray(5)
        h = memoryview(self._hdr)
        self._h1, self._h2, self._h3 = h[0:1], h[0:2], h[0:3]
        self._settings = {}       # command -> params, replayed after a re-init
        self._recovering = False
        self.recoveries = 0

    # -- bus (subclasses) -------------------------------------------------------------------
    def _wakeup(self):
        pass

    def _drain(self):
        pass

    def _recv_begin(self):
        pass

    def _recv_end(self):
        pass

    # -- frames -------------------------------------------------------------------------------
    def _read_exact(self, mv, what):
        if not self._recv(mv, _FRAME_MS):
            raise PN532Error(BAD_FRAME, what)

    def _read_frame(self, timeout_ms, command):
        """Read one frame. Returns 0 for ACK, -1 for NACK, -2 for a bad checksum, else the
        information length (TFI included) with the information in self._rx; None on timeout."""
        if not self._ready(timeout_ms):
            return None
        self._recv_begin()
        try:
            return self._read_frame_body(command)
        finally:
            self._recv_end()

    def _read_frame_body(self, command):
        h = self._hdr
        prev = 0xFF
        for _ in range(16):               # find the start code 00 FF (tolerates extra 00s)
            self._read_exact(self._h1, command)
            if prev == 0 and h[0] == 0xFF:
                break
            prev = h[0]
        else:
            return -2
        self._read_exact(self._h2, command)
        n, lcs = h[0], h[1]
        if n == 0 and lcs == 0xFF:
            self._read_exact(self._h1, command)
            return 0
        if n == 0xFF and lcs == 0:
            self._read_exact(self._h1, command)
            return -1
        if n == 0xFF and lcs == 0xFF:
            self._read_exact(self._h3, command)
            if (h[0] + h[1] + h[2]) & 0xFF:
                return -2
            n = (h[0] << 8) | h[1]
        elif (n + lcs) & 0xFF:
            return -2
        if n == 0 or n > _MAX_INFO:
            return -2
        self._read_exact(self._rxmv[0:n + 2], command)
        s = 0
        for i in range(n + 1):
            s += self._rx[i]
        return n if s & 0xFF == 0 else -2

    def _wait_ack(self, command):
        n = self._read_frame(self.ack_timeout_ms, command)
        return n == 0

    # -- command core -------------------------------------------------------------------------
    def _send_frame(self, nparams, command, timeout_ms):
        """Send the frame built in self._tx (command at _HDR+1, nparams params after it)
        and return the response data (after the response code) as a memoryview."""
        start, end = _seal(self._tx, 1 + nparams)
        for attempt in range(2):
            self._send(self._txmv[start:end])
            if self._wait_ack(command):
                return self._response(command, timeout_ms)
            if self._recovering or attempt:
                break
            saved = bytes(self._txmv[start:end])   # recovery reuses the buffer (rare path)
            self.recover()
            self._tx[start:end] = saved
        raise PN532Error(NO_ACK, command)

    def _response(self, command, timeout_ms):
        for _ in range(_NACK_RETRIES + 1):
            n = self._read_frame(timeout_ms, command)
            if n is None:
                self._send(ACK)           # abort the command the chip may still be running
                raise PN532Error(NO_RESPONSE, command)
            if n > 0:
                return self._check(n, command)
            if n == -2:
                self._drain()             # drop the rest of the broken frame, then
                self._send(NACK)          # ask for the same response again
        raise PN532Error(BAD_FRAME, command)

    def _check(self, n, command):
        rx = self._rx
        if rx[0] == _TFI_ERROR:
            raise PN532Error(SYNTAX_ERROR, command)
        if n < 2 or rx[0] != _TFI_CHIP or rx[1] != command + 1:
            raise PN532Error(WRONG_RESPONSE, command)
        return self._rxmv[2:n]

    def call(self, command, params=b"", timeout_ms=None):
        """Send any command with params; return its response data (memoryview into the
        driver's buffer, valid until the next command)."""
        n = len(params)
        self._tx[_HDR + 1] = command
        self._tx[_HDR + 2:_HDR + 2 + n] = params
        return self._send_frame(n, command, timeout_ms or self.response_timeout_ms)

    def _call_status(self, command, params=b"", timeout_ms=None):
        data = self.call(command, params, timeout_ms)
        _raise_status(data, command)
        return data

    # -- set-up and recovery: reader.chips.pn532_control, in RAM for the call only ---------
    # (a polling reader needs none of it). Its other set-up commands (rf_configuration,
    # rf_field, set_retries, set_max_retry_com, set_timeouts, set_parameters, deselect) are
    # called the same way by who sets the chip up: reader.call(CONTROL, "set_parameters", chip,
    # 0x14).
    def sam_configuration(self, mode=1, timeout=0x14, irq=1):
        """Normal mode (no SAM behind the PN532): the first command after a wake-up."""
        return reader.call(CONTROL, "sam_configuration", self, mode, timeout, irq)

    def recover(self):
        """The chip stopped answering: wake it, re-run SAMConfiguration, replay settings."""
        return reader.call(CONTROL, "recover", self)

    reinit = recover   # on the caller's request (e.g. the chip lost power: LowVbat)

    def firmware_version(self):
        """-> (ic, version, revision, support), e.g. (0x32, 1, 6, 7)."""
        d = self.call(0x02)
        if len(d) < 4:
            raise PN532Error(WRONG_RESPONSE, 0x02)
        return d[0], d[1], d[2], d[3]

    def list_passive_target(self, timeout_ms=None):
        """InListPassiveTarget for one type A card at 106 kbps -> Target or None."""
        return parse_target_106a(self.call(0x4A, b"\x01\x00", timeout_ms))

    def release(self, tg=0):
        self._call_status(0x52, bytes((tg,)))

    def psl(self, tg, br_it, br_ti):
        """InPSL: the ISO-DEP target's bit rates, codes 0-3 (106-848 kbit/s) to the card
        (BRit) and from it (BRti); the chip sends the PPS and takes the rates when the
        card answers it (UM0701 7.3.4)."""
        self._call_status(0x4E, bytes((tg, br_it, br_ti)))

    def present(self):
        """Diagnose 06: is the activated card still answering (an ISO-DEP presence check on
        the air, at the rates in use)? -> bool"""
        data = self.call(0x00, b"\x06")
        return len(data) > 0 and data[0] == 0

    def data_exchange(self, tg, data, out, timeout_ms=None):
        """InDataExchange with MI chaining both ways. Writes the card's answer into `out`
        and returns its length."""
        data = memoryview(data)
        total = len(data)
        pos = 0
        tx = self._tx
        while True:
            n = min(total - pos, self.max_exchange)
            more = pos + n < total
            tx[_HDR + 1] = 0x40
            tx[_HDR + 2] = tg | (_STATUS_MI if more else 0)
            tx[_HDR + 3:_HDR + 3 + n] = data[pos:pos + n]
            resp = self._send_frame(1 + n, 0x40, timeout_ms or self.response_timeout_ms)
            _raise_status(resp, 0x40)
            pos += n
            if not more:
                break
        got = _append(out, 0, resp)
        while resp[0] & _STATUS_MI:
            tx[_HDR + 1] = 0x40
            tx[_HDR + 2] = tg
            resp = self._send_frame(1, 0x40, timeout_ms or self.response_timeout_ms)
            _raise_status(resp, 0x40)
            got = _append(out, got, resp)
        return got

    def communicate_thru(self, data, out, timeout_ms=None):
        """InCommunicateThru: one raw frame to the card (CRC and parity by the chip)."""
        n = len(data)
        if n > _MAX_INFO - 2:
            raise PN532Error(0x10, 0x42)
        self._tx[_HDR + 1] = 0x42
        self._tx[_HDR + 2:_HDR + 2 + n] = data
        resp = self._send_frame(n, 0x42, timeout_ms or self.response_timeout_ms)
        _raise_status(resp, 0x42)
        return _append(out, 0, resp)


def _raise_status(data, command):
    if len(data) < 1:
        raise PN532Error(WRONG_RESPONSE, command)
    if data[0] & _STATUS_ERR:
        raise PN532Error(data[0] & _STATUS_ERR, command)


def _append(out, at, resp):
    """Copy resp[1:] (after the status byte) into out[at:]; return the new length."""
    n = len(resp) - 1
    if at + n > len(out):
        raise PN532Error(0x07, 0x40)
    out[at:at + n] = resp[1:]
    return at + n
