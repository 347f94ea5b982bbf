"""NXP MFRC522 (RC522) driver over SPI: registers, FIFO, timer, Transceive with bit framing.

ISO 14443-3 activation lives in iso14443_3.py and T=CL in iso14443_4.py; `RC522Frames`
adapts this driver to T=CL's raw-frame interface (CRC_A in software with reader.crc).

| Feature                                        | Supported                               |
|------------------------------------------------|-----------------------------------------|
| register access (`(reg<<1)&0x7E`, read `|0x80`)| yes, SPI mode 0, MSB first (rp2 fine)  |
| hard reset (RST pin) or SoftReset, version     | yes; 0x91/0x92 and 0x88 (FM17522) clones|
| antenna, 100% ASK, timer from a timeout in us  | yes (prescaler chosen up to ~39 s)      |
| Transceive with TxLastBits/RxAlign, RxLastBits | yes                                     |
| frames longer than the 64-byte FIFO            | no: T=CL is run with FSD = 64 (FSDI 5)  |
|                                                | and sent frames <= 64 bytes incl. CRC   |
| hardware CRC coprocessor                       | not used (software CRC_A)               |
| Crypto1 (MIFARE Classic)                       | no                                      |
"""

import time

from micropython import const

from reader.crc import check_crc_a, crc_a
from reader.errors import CHIP, TRANSMISSION, ReaderError

# Registers
_COMMAND = const(0x01)
_COM_IEN = const(0x02)
_COM_IRQ = const(0x04)
_DIV_IRQ = const(0x05)
_ERROR = const(0x06)
_STATUS2 = const(0x08)
_FIFO_DATA = const(0x09)
_FIFO_LEVEL = const(0x0A)
_CONTROL = const(0x0C)
_BIT_FRAMING = const(0x0D)
_COLL = const(0x0E)
_MODE = const(0x11)
_TX_MODE = const(0x12)
_RX_MODE = const(0x13)
_TX_CONTROL = const(0x14)
_TX_ASK = const(0x15)
_T_MODE = const(0x2A)
_T_PRESCALER = const(0x2B)
_T_RELOAD_H = const(0x2C)
_T_RELOAD_L = const(0x2D)
_VERSION = const(0x37)

# Commands
_IDLE = const(0x00)
_TRANSCEIVE = const(0x0C)
_SOFT_RESET = const(0x0F)

_FIFO_SIZE = const(64)
_IRQ_RX = const(0x20)
_IRQ_IDLE = const(0x10)
_IRQ_ERR = const(0x02)
_IRQ_TIMER = const(0x01)
_ERR_MASK = const(0x1B)       # BufferOvfl | CollErr | ParityErr | ProtocolErr (CRC: ours)
_SLACK_MS = const(50)         # software guard on top of the chip's timer

VERSIONS = {0x91: "MFRC522 v1.0", 0x92: "MFRC522 v2.0", 0x88: "FM17522 (clone)",
            0x12: "counterfeit MFRC522"}

# Error register bits -> meaning (first match wins, most severe first).
ERROR_BITS = (
    (0x10, "FIFO buffer overflow"),
    (0x08, "bit collision: more than one card answered"),
    (0x04, "CRC error"),
    (0x02, "parity error"),
    (0x01, "protocol error (SOF or frame length)"),
    (0x40, "overheating: antenna drivers switched off"),
    (0x80, "data written into the FIFO while not allowed"),
)
NO_ANSWER = const(-1)
NO_CHIP = const(-2)
TOO_LONG = const(-3)
BAD_CRC = const(-4)
STUCK = const(-5)
# the driver's codes (code & 0xFF), kind letter, meaning: reader.errors' table format
_MESSAGES = (
    b"\xFFttimeout, the card did not answer\n"
    b"\xFEcno MFRC522 answers on the SPI bus (version 0x00/0xFF)\n"
    b"\xFDcframe longer than the 64-byte FIFO\n"
    b"\xFCxCRC_A of the card's frame is wrong\n"
    b"\xFBcthe chip raised no interrupt before the software deadline\n"
)


class RC522Error(ReaderError):
    """`code` < 0: driver condition; else the Error register value."""

    where = "MFRC522"
    MESSAGES = _MESSAGES

    def __init__(self, code, detail=""):
        if code < 0:
            super().__init__(code, detail)
        else:
            meaning, kind = "error register 0x%02X" % code, TRANSMISSION
            for bit, text in ERROR_BITS:
                if code & bit:
                    meaning += ": " + text
                    kind = CHIP if bit in (0x40, 0x80, 0x10) else TRANSMISSION
                    break
            super().__init__(code, kind=kind, message=meaning + (": " + detail if detail
                                                                  else ""))
        self.collision = code >= 0 and bool(code & 0x08)


class MFRC522:
    def __init__(self, spi, cs, rst=None):
        self.spi, self.cs, self.rst = spi, cs, rst
        self._out = bytearray(_FIFO_SIZE + 1)
        self._in = bytearray(_FIFO_SIZE + 1)
        self._outmv = memoryview(self._out)
        self._inmv = memoryview(self._in)
        self._timer_us = 0
        self.last_bits = 0
        self.version = None
        cs.on()

    # -- registers -------------------------------------------------------------------------
    def write(self, reg, value):
        self._out[0] = (reg << 1) & 0x7E
        self._out[1] = value
        self._xfer(self._outmv[0:2], None)

    def read(self, reg):
        self._out[0] = ((reg << 1) & 0x7E) | 0x80
        self._out[1] = 0
        self._xfer(self._outmv[0:2], self._inmv[0:2])
        return self._in[1]

    def set_bits(self, reg, mask):
        self.write(reg, self.read(reg) | mask)

    def clear_bits(self, reg, mask):
        self.write(reg, self.read(reg) & ~mask & 0xFF)

    def _xfer(self, out, into):
        self.cs.off()
        try:
            if into is None:
                self.spi.write(out)
            else:
                self.spi.write_readinto(out, into)
        finally:
            self.cs.on()

    def write_fifo(self, data):
        n = len(data)
        if n > _FIFO_SIZE:
            raise RC522Error(TOO_LONG, "%d bytes" % n)
        self._out[0] = (_FIFO_DATA << 1) & 0x7E
        self._out[1:1 + n] = data
        self._xfer(self._outmv[0:1 + n], None)

    def read_fifo(self, out, n):
        addr = ((_FIFO_DATA << 1) & 0x7E) | 0x80
        o = self._out
        for i in range(n):
            o[i] = addr
        o[n] = 0
        self._xfer(self._outmv[0:n + 1], self._inmv[0:n + 1])
        out[0:n] = self._inmv[1:n + 1]

    # -- set-up ----------------------------------------------------------------------------
    def reset(self):
        if self.rst is not None:
            self.rst.off()
            time.sleep_ms(1)
            self.rst.on()
        else:
            self.write(_COMMAND, _SOFT_RESET)
        time.sleep_ms(50)                     # oscillator start-up
        for _ in range(10):
            if not self.read(_COMMAND) & 0x10:  # PowerDown bit cleared
                return
            time.sleep_ms(5)
        raise RC522Error(NO_CHIP, "it stays in power-down after reset")

    def init(self):
        """Reset, check the version, set timer/ASK/CRC preset, antenna on."""
        self.reset()
        v = self.read(_VERSION)
        if v in (0x00, 0xFF):
            raise RC522Error(NO_CHIP)
        self.version = v
        self._timer_us = 0
        self.set_timeout_us(25000)
        self.write(_TX_ASK, 0x40)               # 100 % ASK
        self.write(_MODE, 0x3D)                 # CRC preset 6363 (ISO 14443-3)
        self.write(_TX_MODE, 0x00)              # 106 kbit/s, CRC by software
        self.write(_RX_MODE, 0x00)
        self.antenna(True)
        return v

    def antenna(self, on):
        if on:
            self.set_bits(_TX_CONTROL, 0x03)
        else:
            self.clear_bits(_TX_CONTROL, 0x03)

    def set_timeout_us(self, us):
        """Program the timer (TAuto: starts at the end of transmission) for `us`."""
        if us == self._timer_us:
            return
        ticks13 = us * 1356 // 100                 # 13.56 MHz cycles
        p = 169                                    # 40 kHz: 25 us steps (the usual setting)
        while ticks13 // (2 * p + 1) > 0xFFFF and p < 0xFFF:
            p = min(0xFFF, p * 2 + 1)
        reload = ticks13 // (2 * p + 1) + 1
        reload = min(reload, 0xFFFF)
        self.write(_T_MODE, 0x80 | (p >> 8))
        self.write(_T_PRESCALER, p & 0xFF)
        self.write(_T_RELOAD_H, reload >> 8)
        self.write(_T_RELOAD_L, reload & 0xFF)
        self._timer_us = us

    # -- transceive ------------------------------------------------------------------------
    def transceive(self, data, out, timeout_us, tx_last_bits=0, rx_align=0):
        """Send `data` (its last byte has `tx_last_bits` bits when non-zero) and receive into
        `out`; returns the byte count, with `self.last_bits` the valid bits of the last byte
        (0 = all 8). Raises RC522Error on timeout, collision, parity or FIFO errors."""
        self.set_timeout_us(timeout_us)
        self.write(_COMMAND, _IDLE)
        self.write(_COM_IRQ, 0x7F)
        self.write(_FIFO_LEVEL, 0x80)
        self.write_fifo(data)
        framing = (rx_align << 4) | (tx_last_bits & 0x07)
        self.write(_BIT_FRAMING, framing)
        self.write(_COMMAND, _TRANSCEIVE)
        self.write(_BIT_FRAMING, framing | 0x80)
        irq = self._wait_irq(timeout_us // 1000 + _SLACK_MS)
        self.write(_BIT_FRAMING, framing)
        err = self.read(_ERROR) & _ERR_MASK
        if err:
            raise RC522Error(err, self._collision_detail(err))
        if not irq & _IRQ_RX:
            raise RC522Error(NO_ANSWER)
        n = self.read(_FIFO_LEVEL) & 0x7F
        if n > len(out):
            raise RC522Error(TOO_LONG, "an answer of %d bytes" % n)
        self.last_bits = self.read(_CONTROL) & 0x07
        self.read_fifo(out, n)
        return n

    def _wait_irq(self, deadline_ms):
        start = time.ticks_ms()
        while True:
            irq = self.read(_COM_IRQ)
            if irq & (_IRQ_RX | _IRQ_IDLE | _IRQ_ERR | _IRQ_TIMER):
                return irq
            if time.ticks_diff(time.ticks_ms(), start) > deadline_ms:
                self.write(_COMMAND, _IDLE)
                raise RC522Error(STUCK)

    def _collision_detail(self, err):
        if not err & 0x08:
            return ""
        coll = self.read(_COLL)
        pos = coll & 0x1F or 32
        return "at bit %d" % pos if not coll & 0x20 else ""


class RC522Frames:
    """Raw-frame transceiver for iso14443_4.TCL: CRC_A appended and checked in software;
    frames capped by the FIFO: FSD 64 (FSDI 5), at most 64 bytes sent including the CRC."""

    fsdi = 5
    max_frame = _FIFO_SIZE

    def __init__(self, chip):
        self.chip = chip
        self._tx = bytearray(_FIFO_SIZE)
        self._txmv = memoryview(self._tx)
        self._rx = bytearray(_FIFO_SIZE)
        self._rxmv = memoryview(self._rx)

    def frame_exchange(self, data, out, timeout_us):
        n = len(data)
        if n + 2 > _FIFO_SIZE:
            raise RC522Error(TOO_LONG, "a frame of %d bytes + CRC" % n)
        tx = self._tx
        tx[0:n] = data
        crc = crc_a(self._txmv[0:n])
        tx[n] = crc & 0xFF
        tx[n + 1] = crc >> 8
        got = self.chip.transceive(self._txmv[0:n + 2], self._rx, timeout_us)
        if got < 3 or not check_crc_a(self._rxmv[0:got]):
            if got == 1 and self.chip.last_bits == 4:     # a 4-bit ACK/NAK (not ISO-DEP)
                raise RC522Error(BAD_CRC, "a 4-bit answer")
            raise RC522Error(BAD_CRC)
        out[0:got - 2] = self._rxmv[0:got - 2]
        return got - 2
