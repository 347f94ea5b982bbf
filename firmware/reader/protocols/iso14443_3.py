"""ISO/IEC 14443-3 type A activation over a bit-framing transceiver (mfrc522.MFRC522).

The transceiver offers `transceive(data, out, timeout_us, tx_last_bits=0, rx_align=0) -> n`
and raises a `ReaderError` (`retryable()` for timeouts/corruption, `collision` attribute).

REQA/WUPA (7-bit short frames) -> ATQA; per cascade level (93, 95, 97): ANTICOLLISION
`SEL 20` -> UID CLn + BCC (BCC checked), SELECT `SEL 70 UID BCC CRC_A` -> SAK (CRC checked);
cascade tag 88 marks an incomplete UID; 4-, 7- and 10-byte UIDs. HLTA. Bitwise resolution of
a collision between two cards is not supported: it raises `ISO3Error` kind protocol.
"""

from micropython import const

from reader.crc import check_crc_a, crc_a
from reader.errors import TIMEOUT, ReaderError

REQA = const(0x26)
WUPA = const(0x52)
_SEL = (0x93, 0x95, 0x97)
_CT = const(0x88)
_FDT_US = const(1000)          # generous for REQA/anticollision/SELECT (FDT ~ 86 us)

BAD_BCC = const(1)
_BAD_ATQA = const(2)
_BAD_SAK = const(3)
COLLISION = const(4)
NO_CARD = const(5)
_MESSAGES = (                  # code, kind letter, meaning, "\n" (reader.errors' format)
    b"\x01pUID check byte (BCC) is wrong\n"
    b"\x02pATQA is not 16 bits\n"
    b"\x03pSAK frame is not 1 byte + CRC_A\n"
    b"\x04pmore than one card in the field: present one card\n"
    b"\x05tno card answered\n"
)


class ISO3Error(ReaderError):
    """ISO3Error(code, detail): a code above, its meaning and kind from _MESSAGES."""

    where = "ISO 14443-3"
    MESSAGES = _MESSAGES


class Card3:
    def __init__(self, atqa, uid, sak):
        self.atqa, self.uid, self.sak = atqa, uid, sak

    def iso_dep(self):
        return bool(self.sak & 0x20)


class Activator:
    def __init__(self, chip):
        self.chip = chip
        self._tx = bytearray(9)
        self._txmv = memoryview(self._tx)
        self._rx = bytearray(8)
        self._rxmv = memoryview(self._rx)

    def request(self, wake=False):
        """REQA (or WUPA) -> ATQA as an int (first byte on air is the low byte), or None."""
        self._tx[0] = WUPA if wake else REQA
        try:
            n = self.chip.transceive(self._txmv[0:1], self._rx, _FDT_US, tx_last_bits=7)
        except ReaderError as e:
            if e.kind == TIMEOUT:
                return None
            if getattr(e, "collision", False):
                return 0x0000          # several cards answered: ATQA bits collide, still cards
            raise
        if n != 2 or self.chip.last_bits:
            raise ISO3Error(_BAD_ATQA, "%d bytes" % n)
        return self._rx[0] | (self._rx[1] << 8)

    def _anticollision(self, level):
        tx = self._tx
        tx[0] = _SEL[level]
        tx[1] = 0x20
        try:
            n = self.chip.transceive(self._txmv[0:2], self._rx, _FDT_US)
        except ReaderError as e:
            if getattr(e, "collision", False):
                raise ISO3Error(COLLISION, e.message) from None
            raise
        rx = self._rx
        if n != 5 or rx[0] ^ rx[1] ^ rx[2] ^ rx[3] ^ rx[4]:
            raise ISO3Error(BAD_BCC, "level %d" % (level + 1))
        return n

    def _select(self, level):
        tx = self._tx
        tx[0] = _SEL[level]
        tx[1] = 0x70
        tx[2:7] = self._rxmv[0:5]
        crc = crc_a(self._txmv[0:7])
        tx[7] = crc & 0xFF
        tx[8] = crc >> 8
        n = self.chip.transceive(self._txmv[0:9], self._rx, _FDT_US)
        if n != 3 or not check_crc_a(self._rxmv[0:3]):
            raise ISO3Error(_BAD_SAK, "%d bytes" % n)
        return self._rx[0]

    def activate(self, wake=True):
        """Request, then anticollision + select through the cascade levels -> Card3 or None."""
        atqa = self.request(wake)
        if atqa is None:
            return None
        uid = bytearray()
        for level in range(3):
            self._anticollision(level)
            part = self._rxmv[1:4] if self._rx[0] == _CT else self._rxmv[0:4]
            uid.extend(part)
            sak = self._select(level)
            if not sak & 0x04:                     # UID complete
                return Card3(atqa, bytes(uid), sak)
        raise ISO3Error(_BAD_SAK, "cascade bit still set after level 3")

    def halt(self):
        """HLTA: the card answers nothing (a timeout is success)."""
        tx = self._tx
        tx[0] = 0x50
        tx[1] = 0x00
        tx[2] = 0x57
        tx[3] = 0xCD
        try:
            self.chip.transceive(self._txmv[0:4], self._rx, _FDT_US)
        except ReaderError as e:
            if e.kind != TIMEOUT:
                raise
