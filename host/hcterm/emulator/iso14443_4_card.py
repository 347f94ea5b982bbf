"""ISO/IEC 14443-4 (T=CL) on the card side: RATS/ATS, I/R/S blocks, chaining, WTX, CID.

`CardT1` receives block frames without their CRC_A (the -3 layer checked and strips it) and
returns the block to send back (the -3 layer adds the CRC_A), or None to stay silent, as a card
does with a block it cannot use. It wraps the card application (`process(apdu) -> data+SW`).

| feature | behaviour |
|---|---|
| RATS | FSDI -> FSD (reader's frame size), CID (0-14); answers the application's ATS |
| I-block | toggles the block number (rule D); chaining from the reader answered with R(ACK) |
| response chaining | answers longer than FSD are cut into chained I-blocks, resumed by R(ACK) |
| R(ACK)/R(NAK) | same block number: resend the last block; R(NAK) otherwise: R(ACK) (presence) |
| S(WTX) | asked when processing exceeds FWT (`processing_time`) or for a WTX storm fault |
| S(DESELECT) | answered, then the card is HALT |
| CID | blocks for another CID are ignored; answers carry the CID when the block did |
| NAD | accepted and skipped; answers never carry one |
"""

import math

from .wire_timing import card_time, classify_apdu

FSD_TABLE = (16, 24, 32, 40, 48, 64, 96, 128, 256)  # FSDI/FSCI -> FSD/FSC (9..15 RFU: 256)
FC_HZ = 13_560_000

PCB_I = 0x02
PCB_R_ACK = 0xA2
PCB_R_NAK = 0xB2
PCB_S_DESELECT = 0xC2
PCB_S_WTX = 0xF2
PCB_CHAINING = 0x10
PCB_CID = 0x08
PCB_NAD = 0x04
PCB_BLOCK_NUMBER = 0x01
_EVIL_PCB = 0xE6  # matches no I, R or S block pattern


def frame_size(index):
    return FSD_TABLE[min(index, len(FSD_TABLE) - 1)]


def fwt_seconds(fwi):
    """Frame waiting time for FWI 0..14: 256·16/fc · 2^FWI (≈ 302 µs · 2^FWI)."""
    return 256 * 16 / FC_HZ * (1 << min(fwi, 14))


def parse_ats(ats):
    """Pure: fields of an ATS (TL first). Raises ValueError when TL or T0 do not fit."""
    ats = bytes(ats)
    if not ats or ats[0] != len(ats):
        raise ValueError(f"ATS length byte TL={ats[:1].hex()} does not match {len(ats)} bytes")
    info = {"fsci": 2, "ta": None, "fwi": 4, "sfgi": 0, "cid": False, "nad": False}
    if len(ats) == 1:
        info.update(fsc=frame_size(2), historical=b"")
        return info
    t0 = ats[1]
    info["fsci"] = t0 & 0x0F
    pos = 2
    for flag, name in ((0x10, "ta"), (0x20, "tb"), (0x40, "tc")):
        if t0 & flag:
            if pos >= len(ats):
                raise ValueError(f"ATS T0={t0:02X} announces {name.upper()} but it is missing")
            info[name] = ats[pos]
            pos += 1
    if info.get("tb") is not None:
        info["fwi"], info["sfgi"] = info["tb"] >> 4, info["tb"] & 0x0F
    if info.get("tc") is not None:
        info["cid"], info["nad"] = bool(info["tc"] & 0x02), bool(info["tc"] & 0x01)
    info["fsc"] = frame_size(info["fsci"])
    info["historical"] = ats[pos:]
    return info


class CardT1:
    """The card's half of the T=CL block protocol, over an application object."""

    def __init__(self, app, faults, processing_time=None):
        self.app = app
        self.faults = faults
        self.processing_time = processing_time or getattr(app, "processing_time", None)
        self.model = None
        ats = bytes(app.ats)
        self.ats = ats
        try:
            self.ats_info = parse_ats(ats)
        except ValueError:
            self.ats_info = parse_ats(bytes([1]))
        self.fwt = fwt_seconds(self.ats_info["fwi"])
        self.reset()

    def use_model(self, model):
        """Spend each APDU's modeled processing time on the model's "rf" link (pace mode
        sleeps it); the same figure decides WTX when it exceeds FWT."""
        self.model = model
        if self.processing_time is None:
            self.processing_time = lambda apdu: card_time(classify_apdu(apdu), len(apdu))

    def reset(self):
        self.active = False
        self.deselected = False
        self.block_number = 1  # ISO 14443-4: the PICC's block number starts at 1
        self.fsd = frame_size(2)
        self.cid = 0
        self._rx = bytearray()
        self._tx = []  # INF chunks still to send
        self._last = None  # the last block sent, for retransmission
        self._last_i = None  # (pcb, INF) of the last I-block sent
        self._wtx_left = 0
        self._wtxm = 1
        self.stats = {"i_blocks": 0, "wtx": 0, "r_nak": 0, "apdus": 0}

    def activate(self, rats_param):
        self.reset()
        self.active = True
        self.fsd = frame_size(rats_param >> 4)
        self.cid = rats_param & 0x0F
        evil, kind = self.faults.take("evil")
        if evil and kind == "ats_length":
            return bytes([self.ats[0] + 4]) + self.ats[1:]
        return self.ats

    # -- one block in ------------------------------------------------------------------------
    def receive(self, block):
        if not block:
            return None
        pcb = block[0]
        pos = 1
        cid_in = None
        if pcb & PCB_CID:
            if len(block) < 2:
                return None
            cid_in = block[1] & 0x0F
            pos = 2
        if (cid_in if cid_in is not None else 0) != self.cid:
            return None  # a block for another card (or without the CID this card needs)
        self._cid_in = cid_in
        if pcb & 0xE2 == PCB_I:
            if pcb & PCB_NAD:
                pos += 1
            return self._i_block(pcb, bytes(block[pos:]))
        if pcb & 0xE6 == PCB_R_ACK and len(block) == pos:
            return self._r_block(pcb)
        if pcb & 0xF7 == PCB_S_DESELECT and len(block) == pos:
            self.deselected = True
            return self._frame(PCB_S_DESELECT, b"")
        if pcb & 0xF7 == PCB_S_WTX and len(block) == pos + 1:
            return self._wtx_answered()
        return None  # not a valid block: a card stays silent

    def _frame(self, pcb, inf):
        if self._cid_in is not None:
            block = bytes([pcb | PCB_CID, self._cid_in]) + inf
        else:
            block = bytes([pcb]) + inf
        return block

    def _i_block(self, pcb, inf):
        self.block_number ^= 1  # rule D
        self.stats["i_blocks"] += 1
        self._rx += inf
        if pcb & PCB_CHAINING:
            self._last = self._frame(PCB_R_ACK | self.block_number, b"")
            return self._last
        apdu, self._rx = bytes(self._rx), bytearray()
        self.stats["apdus"] += 1
        response = bytes(self.app.process(apdu))
        room = self.fsd - 3 - (1 if self._cid_in is not None else 0)
        self._tx = [response[i : i + room] for i in range(0, len(response), room)] or [b""]
        self._plan_wtx(apdu)
        if self._wtx_left:
            return self._wtx_request()
        return self._next_i_block()

    def _plan_wtx(self, apdu):
        storm, arg = self.faults.take("wtx_storm")
        if storm:
            self._wtx_left, self._wtxm = arg
            return
        seconds = self.processing_time(apdu) if self.processing_time else 0.0
        if self.model is not None:
            self.model.wait("rf", seconds)
        if seconds <= self.fwt:
            self._wtx_left = 0
            return
        rounds = max(1, math.ceil(seconds / (59 * self.fwt)))
        self._wtx_left = rounds
        self._wtxm = min(59, math.ceil(seconds / self.fwt / rounds))

    def _wtx_request(self):
        self.stats["wtx"] += 1
        self._last = self._frame(PCB_S_WTX, bytes([self._wtxm & 0x3F]))
        return self._last

    def _wtx_answered(self):
        if not self._wtx_left:
            return None
        self._wtx_left -= 1
        if self._wtx_left:
            return self._wtx_request()
        return self._next_i_block()

    def _next_i_block(self):
        chunk = self._tx.pop(0)
        more = PCB_CHAINING if self._tx else 0
        pcb = PCB_I | more | self.block_number
        self._last = self._frame(pcb, chunk)  # what a retransmission request gets
        self._last_i = (pcb, chunk)
        return self._maybe_evil()

    def _maybe_evil(self):
        evil, kind = self.faults.take("evil")
        if evil:
            return self._evil_block(kind, *self._last_i)
        return self._last

    def _evil_block(self, kind, pcb, chunk):
        if kind == "malformed_pcb":
            return self._frame(_EVIL_PCB, chunk)
        if kind == "oversized":
            return self._frame(pcb, chunk + bytes(self.fsd + 16 - len(chunk)))
        if kind == "wrong_block_number":
            return self._frame(pcb ^ PCB_BLOCK_NUMBER, chunk)
        if kind == "short_frame":
            return (bytes([pcb]),)
        return self._frame(pcb, chunk)

    def _r_block(self, pcb):
        number = pcb & PCB_BLOCK_NUMBER
        nak = pcb & 0x10
        if nak:
            self.stats["r_nak"] += 1
        if number == self.block_number:  # rule 11: resend the last block
            is_i = self._last_i and self._last == self._frame(*self._last_i)
            return self._maybe_evil() if is_i else self._last
        if nak:
            return self._frame(PCB_R_ACK | self.block_number, b"")  # rule 12: presence check
        if self._tx:
            self.block_number ^= 1  # rule E
            return self._next_i_block()
        return None
