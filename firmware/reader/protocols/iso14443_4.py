"""ISO/IEC 14443-4 (T=CL) on the reader side, over any raw-frame transceiver.

The transceiver offers `frame_exchange(data, out, timeout_us) -> n` (CRC_A added and checked
below: frames here exclude it), raises a `ReaderError` whose `retryable()` is true for a
timeout or a corrupted frame, and has `fsdi` (the largest frame it can receive, as FSDI) and
`max_frame` (the largest it can send, CRC included). Users: mfrc522.RC522Frames (FSD 64: the
FIFO), chips.pn532_raw_frames.PN532Frames (InCommunicateThru).

| Feature                                      | Supported                               |
|----------------------------------------------|-----------------------------------------|
| RATS, ATS parsing (`parse_ats`, pure), SFGT  | yes                                     |
| FSD/FSC, chaining both ways, block numbers   | yes                                     |
| R(NAK)/R(ACK) recovery, retransmission rules | yes, `max_retries` per block (default 2)|
| S(WTX): reply, next wait FWT * WTXM (capped) | yes                                     |
| S(DESELECT), presence check by R(NAK)        | yes                                     |
| CID/NAD sent by the reader                   | no (CID 0; received CID/NAD skipped)    |
| PPS (bit rates above 106 kbit/s)             | reader.protocols.bit_rates              |
"""

import time

from micropython import const

from reader.errors import ReaderError
from reader.protocols.apdu import APDUChannel

FS_TABLE = (16, 24, 32, 40, 48, 64, 96, 128, 256)
_FWI_MAX = const(14)
_FWT_DELTA_US = const(3625)       # 49152 / fc
_ACT_FWT_US = const(4833)         # activation frame waiting time: 65536 / fc
_PCB_I = const(0x02)
_PCB_CHAIN = const(0x10)
_PCB_ACK = const(0xA2)
_PCB_NAK = const(0xB2)
_PCB_DESELECT = const(0xC2)
_PCB_WTX = const(0xF2)
_SEND_CHAINED = const(0)
_SEND_LAST = const(1)
_RECV_MORE = const(2)

# Codes of TCLError.
_BAD_ATS = const(1)
_BAD_BLOCK = const(2)
RETRIES = const(3)
BAD_WTX = const(4)
NOT_ACTIVE = const(5)
NO_ATS = const(6)
_MESSAGES = (                     # code, kind letter, meaning, "\n" (reader.errors' format)
    b"\x01pmalformed ATS\n"
    b"\x02punexpected block from the card\n"
    b"\x03gno valid block after the retries: the card left or does not answer\n"
    b"\x04pS(WTX) with a WTXM outside 1..59\n"
    b"\x05pno card activated (call activate() first)\n"
    b"\x06gthe card did not answer RATS\n"
)


class TCLError(ReaderError):
    """TCLError(code, detail): a code above, its meaning and kind from _MESSAGES."""

    where = "ISO 14443-4"
    MESSAGES = _MESSAGES


def fwt_us(fwi):
    """Frame waiting time for FWI: 256 * 16 / fc * 2^FWI, in microseconds."""
    return (4096 << fwi) * 1000 // 13560


class ATS:
    def __init__(self, fsci, ta, fwi, sfgi, cid, nad, historical, raw=b""):
        self.raw = raw                    # the ATS as received, TL first
        self.fsci, self.ta, self.fwi, self.sfgi = fsci, ta, fwi, sfgi
        self.fsc = FS_TABLE[min(fsci, 8)]
        self.fwt_us = fwt_us(fwi)
        self.sfgt_us = fwt_us(sfgi) if sfgi else 0
        self.cid, self.nad, self.historical = cid, nad, historical


def parse_ats(ats):
    """TL T0 [TA] [TB] [TC] historical... -> ATS (defaults of ISO 14443-4 for absent bytes)."""
    n = len(ats)
    if n < 1 or ats[0] != n:
        raise TCLError(_BAD_ATS, "TL %s for %d bytes" % (ats[0] if n else "-", n))
    fsci, ta, fwi, sfgi, tc = 2, 0, 4, 0, 0x02
    i = 1
    if n > 1:
        t0 = ats[1]
        if t0 & 0x80:
            raise TCLError(_BAD_ATS, "T0 bit 8 set")
        fsci = t0 & 0x0F
        i = 2
        for flag in (0x10, 0x20, 0x40):
            if t0 & flag:
                if i >= n:
                    raise TCLError(_BAD_ATS, "interface byte missing")
                b = ats[i]
                i += 1
                if flag == 0x10:
                    ta = b
                elif flag == 0x20:
                    fwi, sfgi = b >> 4, b & 0x0F
                else:
                    tc = b
    fwi = 4 if fwi > _FWI_MAX else fwi
    sfgi = 0 if sfgi > _FWI_MAX else sfgi
    return ATS(fsci, ta, fwi, sfgi, bool(tc & 0x02), bool(tc & 0x01), bytes(ats[i:]),
               bytes(ats))


def _inf(pcb):
    """Offset of INF in a received block (skip CID, and NAD on I-blocks)."""
    i = 2 if pcb & 0x08 else 1
    if pcb & 0xE2 == _PCB_I and pcb & 0x04:
        i += 1
    return i


class TCL(APDUChannel):
    """T=CL channel: activate() (RATS), then transceive(apdu) as every APDU channel."""

    max_retries = 2
    max_wtx = 100

    def __init__(self, frames, max_response=256):
        super().__init__(max_response)
        self.frames = frames
        self.fsdi = min(getattr(frames, "fsdi", 8), 8)
        self.fsd = FS_TABLE[self.fsdi]
        self._tx = bytearray(256)
        self._txmv = memoryview(self._tx)
        self._rx = bytearray(self.fsd)
        self._rxmv = memoryview(self._rx)
        self._ctl = bytearray(2)          # RATS
        self._ctlmv = memoryview(self._ctl)
        self._r = bytearray(1)            # R(ACK)/R(NAK)
        self._rmv = memoryview(self._r)
        self._w = bytearray(2)            # S(WTX) reply
        self._wmv = memoryview(self._w)
        self._d = memoryview(bytes((_PCB_DESELECT,)))
        self.ats = None
        self._blk = 0
        self.wtx_count = 0

    # -- activation ------------------------------------------------------------------------
    def activate(self):
        """Send RATS (CID 0) and parse the ATS; resets the block number."""
        self._ctl[0] = 0xE0
        self._ctl[1] = self.fsdi << 4
        for attempt in range(2):
            try:
                n = self.frames.frame_exchange(self._ctlmv[0:2], self._rx,
                                               _ACT_FWT_US + _FWT_DELTA_US)
                break
            except ReaderError as e:
                if not e.retryable() or attempt:
                    raise TCLError(NO_ATS, e.message) from None
        self.ats = parse_ats(self._rxmv[0:n])
        self._send_limit = min(self.ats.fsc, getattr(self.frames, "max_frame", 256), 256)
        self._blk = 0
        if self.ats.sfgt_us:
            time.sleep_us(self.ats.sfgt_us)
        return self.ats

    # -- block exchange --------------------------------------------------------------------
    def _xfer(self, frame, timeout_us):
        try:
            n = self.frames.frame_exchange(frame, self._rx, timeout_us)
        except ReaderError as e:
            if not e.retryable():
                raise
            return 0
        return n

    def _await(self, frame, mode):
        """Send `frame` and return the length of the block that answers it per `mode`
        (0 for the R(ACK) that continues our chaining), applying ISO 14443-4's PCD rules."""
        ats = self.ats
        sending = frame
        timeout = ats.fwt_us + _FWT_DELTA_US
        errors = wtx = resends = 0
        while True:
            n = self._xfer(sending, timeout)
            timeout = ats.fwt_us + _FWT_DELTA_US
            pcb = self._rx[0] if n else 0
            if n and pcb & 0xF7 == _PCB_WTX:
                wtx += 1
                if wtx > self.max_wtx:
                    raise TCLError(_BAD_BLOCK, "more than %d S(WTX)" % self.max_wtx)
                timeout = self._wtx_reply(n, pcb)
                sending = self._wmv
                continue
            blk_ok = n and (pcb & 0x01) == self._blk
            if n and pcb & 0xE6 == _PCB_ACK and not pcb & 0x10:        # R(ACK)
                if blk_ok and mode == _SEND_CHAINED:
                    self._blk ^= 1
                    return 0
                if not blk_ok:                                          # rule 6
                    sending = frame
                    resends += 1
                    self._check_errors(resends)
                    continue
            if n and pcb & 0xE2 == _PCB_I and mode != _SEND_CHAINED and blk_ok:
                self._blk ^= 1
                return n
            errors += 1
            self._check_errors(errors)
            sending = frame if mode == _RECV_MORE else self._r_block(_PCB_NAK)   # rules 4, 5

    def _check_errors(self, errors):
        if errors > self.max_retries:
            raise TCLError(RETRIES)

    def _r_block(self, pcb):
        self._r[0] = pcb | self._blk
        return self._rmv

    def _wtx_reply(self, n, pcb):
        at = _inf(pcb)
        wtxm = self._rx[at] & 0x3F if n > at else 0
        if not 1 <= wtxm <= 59:
            raise TCLError(BAD_WTX, "WTXM %d" % wtxm)
        self.wtx_count += 1
        self._w[0] = _PCB_WTX
        self._w[1] = wtxm
        return min(self.ats.fwt_us * wtxm, fwt_us(_FWI_MAX)) + _FWT_DELTA_US

    def _exchange(self, apdu, out):
        if self.ats is None:
            raise TCLError(NOT_ACTIVE)
        apdu = memoryview(apdu)
        total = len(apdu)
        chunk = self._send_limit - 3                   # PCB + CRC_A
        pos = 0
        tx = self._tx
        while True:
            k = min(total - pos, chunk)
            last = pos + k >= total
            tx[0] = _PCB_I | self._blk | (0 if last else _PCB_CHAIN)
            tx[1:1 + k] = apdu[pos:pos + k]
            n = self._await(self._txmv[0:1 + k], _SEND_LAST if last else _SEND_CHAINED)
            pos += k
            if last:
                break
        got = 0
        while True:
            pcb = self._rx[0]
            at = _inf(pcb)
            if got + n - at > len(out):
                raise TCLError(_BAD_BLOCK, "response longer than %d bytes" % len(out))
            out[got:got + n - at] = self._rxmv[at:n]
            got += n - at
            if not pcb & _PCB_CHAIN:
                return got
            ack = self._r_block(_PCB_ACK)
            n = self._await(ack, _RECV_MORE)

    # -- session end and presence ----------------------------------------------------------
    def deselect(self):
        """S(DESELECT); True when the card confirmed it (it may be gone: rule 8)."""
        if self.ats is None:
            return False
        try:
            for _ in range(self.max_retries + 1):
                n = self._xfer(self._d, self.ats.fwt_us + _FWT_DELTA_US)
                if n and self._rx[0] & 0xF7 == _PCB_DESELECT:
                    return True
            return False
        finally:
            self.ats = None

    def present(self):
        """Presence check: R(NAK) must be answered by an R(ACK) (block number untouched)."""
        if self.ats is None:
            return False
        for _ in range(self.max_retries + 1):
            n = self._xfer(self._r_block(_PCB_NAK), self.ats.fwt_us + _FWT_DELTA_US)
            if n and self._rx[0] & 0xE6 == _PCB_ACK:
                return True
            if n and self._rx[0] & 0xF7 == _PCB_WTX:
                continue
        return False
