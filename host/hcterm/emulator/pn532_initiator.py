"""The PN532's reader (PCD) side on the air: type A activation and the T=CL it does itself.

Used by the command core (pn532.py) for InListPassiveTarget, InDataExchange, InSelect,
InDeselect/InRelease and InCommunicateThru. Every method either returns what it got or raises
`AirError(code)` with the PN532 status code the host will see.
"""

from reader.crc import check_crc_a, crc_a_bytes

from .iso14443_4_card import (
    PCB_CHAINING,
    PCB_I,
    PCB_R_ACK,
    PCB_R_NAK,
    PCB_S_DESELECT,
    PCB_S_WTX,
    frame_size,
    fwt_seconds,
    parse_ats,
)
from .rf14443 import HLTA, RATS, SEL_CODES, WUPA, bcc, cascade_parts, frame_bits, pack_bits

# PN532 status codes the initiator produces (the full table is in pn532.py).
TIMEOUT = 0x01
CRC_ERROR = 0x02
PARITY_ERROR = 0x03
COLLISION = 0x06
RF_PROTOCOL = 0x0B
CARD_GONE = 0x2B

_FSDI = 8  # the PN532 announces FSD = 256 in its RATS
_MAX_RETRIES = 2  # R(NAK) retransmission requests per block (ISO 14443-4 rule 4)
_MAX_WTX = 100  # consecutive S(WTX) the chip accepts before it reports a timeout


class AirError(Exception):
    def __init__(self, code, why=""):
        super().__init__(f"PN532 status 0x{code:02X}: {why}")
        self.code = code


class Target:
    """What the chip remembers of an activated card."""

    def __init__(self, atqa, sak, uid, ats):
        self.atqa, self.sak, self.uid, self.ats = atqa, sak, uid, ats
        self.iso_dep = ats is not None
        info = _ats_or_default(ats)
        self.fsc = info["fsc"]
        self.fwt = fwt_seconds(info["fwi"])
        self.block_number = 0
        self.selected = True
        self.dri = self.dsi = 0  # speed codes after InPSL (0: 106 kbit/s)
        self.pending_out = b""  # answer bytes still owed to the host (InDataExchange MI)

    def list_entry(self, tg):
        entry = bytes([tg, self.atqa[1], self.atqa[0], self.sak, len(self.uid)]) + self.uid
        return entry + (self.ats or b"")


def _ats_or_default(ats):
    try:
        return parse_ats(ats) if ats else parse_ats(b"\x01")
    except ValueError:
        return parse_ats(b"\x01")


class Initiator:
    def __init__(self, field):
        self.field = field
        self.wtx_seen = 0
        # (tx framing, tx speed, rx framing, rx speed) of the CIU: set by the chip core from
        # its TxMode/RxMode registers; type A at 106 kbit/s unless told otherwise
        self.modes = lambda: (0, 0, 0, 0)

    # -- raw air ----------------------------------------------------------------------------
    def transceive(self, frame, last_bits=0):
        framing, speed, rx_framing, rx_speed = self.modes()
        return self.field.transceive(frame, last_bits, framing, speed, rx_framing, rx_speed)

    def air(self, data, last_bits=0, crc=True, check_crc=True):
        frame = bytes(data) + (crc_a_bytes(data) if crc else b"")
        reply = self.transceive(frame, last_bits)
        if reply is None:
            raise AirError(TIMEOUT, "the card did not answer")
        if reply.parity_error:
            raise AirError(PARITY_ERROR, "parity error in the card's answer")
        if reply.collision is not None:
            raise AirError(COLLISION, f"collision at bit {reply.collision}")
        got = reply.data
        if check_crc:
            if reply.last_bits or not check_crc_a(got):
                raise AirError(CRC_ERROR, f"bad CRC_A in {got.hex()}")
            return got[:-2]
        return got

    # -- ISO 14443-3 activation --------------------------------------------------------------
    def activate(self, auto_rats, uid=None):
        """WUPA + anticollision/select (or select of a known UID) [+ RATS] -> Target or None."""
        reply = self.transceive(bytes([WUPA]), 7)
        if reply is None or len(reply.bits) != 16:
            return None
        atqa = reply.data
        try:
            full_uid, sak = self._select_cascade(uid)
            ats = self._rats() if auto_rats and sak & 0x20 else None
        except AirError:
            return None
        return Target(atqa, sak, full_uid, ats)

    def _select_cascade(self, uid):
        parts = cascade_parts(uid) if uid else None
        collected = b""
        for level, sel in enumerate(SEL_CODES):
            part = parts[level] if parts else self._anticollision(sel)
            sak = self.air(bytes([sel, 0x70]) + part + bytes([bcc(part)]))
            if len(sak) != 1:
                raise AirError(RF_PROTOCOL, "SAK is one byte")
            if not sak[0] & 0x04:
                return collected + part, sak[0]
            collected += part[1:]
        raise AirError(RF_PROTOCOL, "UID longer than three cascade levels")

    def _anticollision(self, sel):
        known = []
        while True:
            n = len(known)
            nvb = ((2 + n // 8) << 4) | (n % 8)
            data, last_bits = pack_bits(frame_bits(bytes([sel, nvb])) + known)
            reply = self.transceive(data, last_bits)
            if reply is None:
                raise AirError(TIMEOUT, "no answer to anticollision")
            if reply.collision is None:
                known += reply.bits
                break
            known += reply.bits[: reply.collision] + [1]
        part_bcc = pack_bits(known[:40])[0]
        if len(part_bcc) != 5 or bcc(part_bcc[:4]) != part_bcc[4]:
            raise AirError(RF_PROTOCOL, "bad BCC in the UID")
        return part_bcc[:4]

    def _rats(self):
        return self.air(bytes([RATS, _FSDI << 4]))

    def pps(self, target, dri, dsi):
        """PPS to DRI (PCD -> PICC) / DSI (PICC -> PCD) speed codes; raises AirError when the
        card does not answer with its PPSS."""
        pps1 = (dsi << 2) | dri
        reply = self.air(bytes([0xD0, 0x11, pps1]))
        if reply != b"\xD0":
            raise AirError(RF_PROTOCOL, f"PPS answered with {reply.hex()}")

    def halt(self, target):
        if target.iso_dep:
            try:
                self.air(bytes([PCB_S_DESELECT]))
            except AirError:
                pass
        else:
            self.transceive(bytes([HLTA, 0x00]) + crc_a_bytes(b"\x50\x00"))
        target.selected = False

    def reselect(self, target, auto_rats):
        again = self.activate(auto_rats and target.iso_dep, uid=target.uid)
        if again is None:
            raise AirError(TIMEOUT, "the target did not answer the select")
        target.__dict__.update(again.__dict__)

    # -- ISO 14443-4: the chip does the block protocol ---------------------------------------
    def exchange(self, target, apdu):
        """Send `apdu` as chained I-blocks within FSC, gather the answer (R(ACK), WTX)."""
        room = target.fsc - 3
        chunks = [apdu[i : i + room] for i in range(0, len(apdu), room)] or [b""]
        answered = 0
        block = None
        for i, chunk in enumerate(chunks):
            pcb = PCB_I | target.block_number | (PCB_CHAINING if i < len(chunks) - 1 else 0)
            block = self._block(target, bytes([pcb]) + chunk, answered)
            answered += 1
            if i < len(chunks) - 1:
                if block[0] & 0xF6 != PCB_R_ACK or block[0] & 1 != target.block_number:
                    raise AirError(RF_PROTOCOL, f"expected R(ACK), got {block.hex()}")
                target.block_number ^= 1
        answer = bytearray()
        while True:
            if block[0] & 0xE2 != PCB_I or block[0] & 1 != target.block_number:
                raise AirError(RF_PROTOCOL, f"expected an I-block, got {block.hex()}")
            target.block_number ^= 1
            answer += block[1:]
            if not block[0] & PCB_CHAINING:
                return bytes(answer)
            block = self._block(target, bytes([PCB_R_ACK | target.block_number]), answered)
            answered += 1

    def _block(self, target, block, answered):
        """One block out, one valid block back: WTX answered, errors retried with R(NAK)."""
        sent = block
        retries = 0
        wtx = 0
        while True:
            try:
                reply = self.air(sent)
                valid = _valid_block(reply)
            except AirError as error:
                reply, valid = None, False
                last_error = error.code
            else:
                last_error = RF_PROTOCOL
            if valid and reply[0] & 0xF7 == PCB_S_WTX:
                wtx += 1
                self.wtx_seen += 1
                if wtx > _MAX_WTX:
                    raise AirError(TIMEOUT, f"the card asked for more than {_MAX_WTX} WTX")
                sent = bytes([PCB_S_WTX, reply[1] & 0x3F])
                continue
            if valid and reply[0] & 0xE2 == PCB_I and reply[0] & 1 != target.block_number:
                valid = False  # rule 6: an I-block with the wrong block number is an error
            if valid:
                return reply
            retries += 1
            if retries > _MAX_RETRIES:
                if last_error == TIMEOUT and answered:
                    raise AirError(CARD_GONE, "the card stopped answering within an exchange")
                raise AirError(last_error, "no valid block from the card")
            sent = bytes([PCB_R_NAK | target.block_number])


def _valid_block(reply):
    if not reply or len(reply) + 2 > frame_size(_FSDI):  # a block longer than our FSD
        return False
    pcb = reply[0]
    if pcb & 0xE2 == PCB_I:
        return True
    if pcb & 0xE6 == PCB_R_ACK:
        return len(reply) == 1
    if pcb & 0xF7 == PCB_S_WTX:
        return len(reply) == 2
    if pcb & 0xF7 == PCB_S_DESELECT:
        return len(reply) == 1
    return False
