"""ISO/IEC 14443-4 bit rates above 106 kbit/s: what a card's ATS allows (`choose`, pure), and
the PPS on the MFRC522 (`rc522`), where the firmware runs T=CL itself. The PN532's InPSL is
reader.protocols.pn532_reader's (the chip sends the PPS). On an MFRC522 board this module is
called through `reader.call` (`reader.TRANSIENT`): only for a card that offers more than 106
kbit/s, and in RAM for that activation only; a PN532 board keeps it (`choose`).

A rate is a code 0-3: 106, 212, 424, 848 kbit/s (106 << code), the same codes as PPS1's
DSI/DRI and the PN532's InPSL BRit/BRti. TA(1) of the ATS: bit 8 "the same divisor both
ways only", bits 7-5 DS = 8, 4, 2 (card -> reader), bits 3-1 DR = 8, 4, 2 (reader -> card).

After the PPS a presence check at the new rates confirms them at once: a card that answered
the PPS and then does not answer there is activated again at 106 kbit/s (field off and on:
it forgets the PPS) and stays at 106 until it leaves the field. A reader keeps
`rates = [DRI, DSI, UID of the card that failed]`.
"""

import time

from micropython import const

_TX_MODE = const(0x12)            # MFRC522 registers (reader.chips.mfrc522)
_RX_MODE = const(0x13)
_MOD_WIDTH = const(0x24)


def choose(ats, n=3):
    """-> (DRI, DSI): the fastest codes up to `n` that the card's TA(1) allows each way, one
    code for both when its bit 8 asks for the same divisor; (0, 0) = stay at 106."""
    ta = ats[2] if ats is not None and len(ats) > 2 and ats[1] & 0x10 else 0
    if ta & 0x80:
        for code in (3, 2, 1):
            if code <= n and ta & (0x08 << code) and ta & (1 << (code - 1)):
                return code, code
        return 0, 0
    dri = dsi = 0
    for code in (1, 2, 3):
        if code <= n:
            if ta & (1 << (code - 1)):
                dri = code
            if ta & (0x08 << code):
                dsi = code
    return dri, dsi


def _speeds(chip, a, b):
    """MFRC522 TxMode/RxMode speed bits 6:4 for codes `a` (to the card) and `b` (from it),
    type A framing and CRC by software as its init() leaves them, and ModWidth, the Miller
    pause, at most half a bit (data sheet 9.3.3.4; 0x26 is the reset value for 106 kbit/s,
    the others scale with the bit period). (Short argument names: each new name costs the
    unix port's qstr pool, see docs/firmware-memory.md.)"""
    chip.write(_TX_MODE, a << 4)
    chip.write(_RX_MODE, b << 4)
    chip.write(_MOD_WIDTH, b"\x26\x15\x0a\x05"[a])


def rc522(self, uid, ats):
    """A reader.protocols.rc522_reader.RC522Reader (`self`) whose card `uid` just sent `ats`
    (iso14443_4.ATS): PPS (D0 11 DSI<<2|DRI, CID 0), the chip's speeds, R(NAK) at the new
    rates -> the ATS to use (None: the card left). `ats` None: the chip back to 106."""
    chip, tcl, rates = self.chip, self.channel, self.rates
    if ats is None:
        _speeds(chip, 0, 0)
        rates[0] = rates[1] = 0
        return None
    dri, dsi = choose(ats.raw, self.max_rf)
    if not dri and not dsi:
        return ats
    tx = tcl._tx
    tx[0] = 0xD0
    tx[1] = 0x11
    tx[2] = (dsi << 2) | dri
    n = tcl._xfer(tcl._txmv[0:3], ats.fwt_us + 3625)       # FWT + 49152 / fc
    if n == 1 and tcl._rx[0] == 0xD0:                      # the card takes the rates
        _speeds(chip, dri, dsi)
        if tcl.present():
            rates[0], rates[1] = dri, dsi
            return ats
        _speeds(chip, 0, 0)
    elif tcl.present():                # no answer to the PPS: still at 106
        return ats
    rates[2] = uid                     # the rates do not work with this card
    tcl.ats = None
    chip.antenna(False)
    time.sleep_ms(5)                   # the card loses power: back to IDLE, 106
    chip.antenna(True)
    time.sleep_ms(5)                   # field on before the first frame
    card = self.activator.activate()
    return tcl.activate() if card is not None else None
