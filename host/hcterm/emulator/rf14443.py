"""The card on the air: ISO/IEC 14443-3 type A, seen from the card, and the field between.

A `Field` holds the cards a reader's antenna reaches. A reader chip (PN532, MFRC522) calls
`field.transceive(data, last_bits)` with the exact frame it puts on the air (CRC_A included when
the chip adds one); every card in the field hears it, and the answers come back superposed,
bit by bit, as a real Manchester-coded air interface gives them: where two cards send different
bits the reader sees a collision.

`Picc` is one type A card: the ISO 14443-3 state machine (IDLE, READY per cascade level, ACTIVE,
HALT), anticollision at bit level with cascade levels for 4-, 7- and 10-byte UIDs, and, once
activated by RATS, its ISO 14443-4 side (`iso14443_4_card.CardT1`), which wraps the card
application object (`.process(apdu) -> response`, `.ats`, `.uid`, `.power_on()`).

Supported: REQA, WUPA, ANTICOLLISION/SELECT CL1-CL3 (any NVB), HLTA, RATS and all of T=CL,
PPS (ISO/IEC 14443-4 5.3) to the bit rates the ATS's TA(1) announces.

Bit rates and framing: a reader sends with a framing (0 = ISO 14443 type A; 1 active, 2 FeliCa,
3 type B, as the CIU's TxFraming bits) and a speed code (0..3 = 106, 212, 424, 848 kbit/s, the
TxSpeed bits). A type A card hears only type A framing at its current PCD -> PICC rate (DR) and
answers at its PICC -> PCD rate (DS); the reader's receiver decodes only what comes at its RxMode
framing and speed: anything else is silence (the chip times out). A card is at 106 kbit/s both
ways after power-on, HLTA, S(DESELECT) and any return to IDLE; a PPS answered changes its rates
after the answer.
Not modelled: type B, FeliCa, MIFARE Classic crypto, analog effects (load modulation depth).
"""

import time

from reader.crc import check_crc_a, crc_a_bytes

from .chipfaults import ChipFaults
from .iso14443_4_card import CardT1
from .wire_timing import RF_FDT_PCD_PICC_S, RF_GUARD_PICC_PCD_S

# Short frames (7 bits) and 14443-3 commands.
REQA = 0x26
WUPA = 0x52
HLTA = 0x50
RATS = 0xE0
SEL_CODES = (0x93, 0x95, 0x97)  # cascade levels 1, 2, 3
CASCADE_TAG = 0x88
SAK_CASCADE = 0x04  # UID not complete
SAK_ISO14443_4 = 0x20
PPSS = 0xD0  # PPS start byte, low nibble the CID
FRAMING_A = 0
DIVISORS = (1, 2, 4, 8)  # speed code -> D (106 kbit/s x D)

# Card states (ISO/IEC 14443-3 figure 7, plus PROTOCOL for ISO 14443-4).
IDLE, READY, ACTIVE, HALT, PROTOCOL = "IDLE", "READY", "ACTIVE", "HALT", "PROTOCOL"

_UID_SIZE_BITS = {4: 0x00, 7: 0x40, 10: 0x80}  # ATQA bits 8:7 (first byte)


# -- bits on the air (LSB of each byte first) ------------------------------------------------
def frame_bits(data, last_bits=0):
    """The bits of a frame in air order; `last_bits` valid bits of the last byte (0 = 8)."""
    bits = [(b >> i) & 1 for b in data for i in range(8)]
    if last_bits and data:
        del bits[len(bits) - 8 + last_bits :]
    return bits


def pack_bits(bits):
    """(bytes, last_bits) for a bit list; last_bits 0 means the last byte is complete."""
    out = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out), len(bits) % 8


def with_crc(data):
    return bytes(data) + crc_a_bytes(data)


def bcc(uid_part):
    value = 0
    for b in uid_part:
        value ^= b
    return value


def cascade_parts(uid):
    """The 4-byte UID CLn of each cascade level (with cascade tags) for a 4/7/10-byte UID."""
    uid = bytes(uid)
    if len(uid) == 4:
        return [uid]
    if len(uid) == 7:
        return [bytes([CASCADE_TAG]) + uid[:3], uid[3:]]
    if len(uid) == 10:
        return [bytes([CASCADE_TAG]) + uid[:3], bytes([CASCADE_TAG]) + uid[3:6], uid[6:]]
    raise ValueError(f"a type A UID has 4, 7 or 10 bytes, not {len(uid)}")


class AirReply:
    """What the reader's receiver gets: bits, plus the first collided bit position if any."""

    __slots__ = ("bits", "collision", "parity_error")

    def __init__(self, bits, collision=None, parity_error=False):
        self.bits = bits
        self.collision = collision
        self.parity_error = parity_error

    @property
    def data(self):
        return pack_bits(self.bits)[0]

    @property
    def last_bits(self):
        return pack_bits(self.bits)[1]

    def __repr__(self):
        return f"AirReply({self.data.hex()}, last_bits={self.last_bits}, coll={self.collision})"


class Picc:
    """One ISO 14443 type A card: the -3 state machine over a card application."""

    def __init__(self, app, faults=None, atqa=None, sak=None, processing_time=None):
        self.app = app
        self.uid = bytes(app.uid)
        self.parts = cascade_parts(self.uid)
        first = _UID_SIZE_BITS[len(self.uid)] | 0x04
        self.atqa = bytes(atqa) if atqa is not None else bytes([first, 0x00])  # air order
        self.sak = sak if sak is not None else getattr(app, "sak", SAK_ISO14443_4)
        self._faults_given = faults is not None
        self.faults = faults or ChipFaults()
        self.t1 = CardT1(app, self.faults, processing_time=processing_time)
        self.state = IDLE
        self.level = 0
        self._halted = False
        self.powered = False
        self.dri = self.dsi = 0  # speed codes PCD -> PICC, PICC -> PCD (0: 106 kbit/s)
        self.reply_speed = 0  # the speed code of the last answer given
        self._pps_allowed = False

    def share_faults(self, faults):
        """A card put in a field commits that field's faults (unless it was given its own)."""
        if not self._faults_given:
            self.faults = self.t1.faults = faults

    def power_on(self):
        self.powered = True
        self.state, self.level, self._halted = IDLE, 0, False
        self._base_rate()
        self.app.power_on()
        self.t1.reset()

    def _base_rate(self):
        self.dri = self.dsi = 0
        self._pps_allowed = False

    def supported_rates(self):
        """(DS codes, DR codes, same D required) from the ATS's TA(1); 106 only without it."""
        ta = self.t1.ats_info.get("ta")
        if ta is None:
            return {0}, {0}, False
        ds = {0} | {code for code in (1, 2, 3) if ta & (0x08 << code)}
        dr = {0} | {code for code in (1, 2, 3) if ta & (0x01 << (code - 1))}
        return ds, dr, bool(ta & 0x80)

    def power_off(self):
        self.powered = False

    # -- one frame in, bits out (None = silent) ----------------------------------------------
    def receive(self, data, last_bits=0, framing=FRAMING_A, speed=0):
        """A frame sent with `framing` at speed code `speed`; the answer's bits (sent at
        `self.reply_speed`) or None. A frame the card cannot demodulate changes nothing."""
        if not self.powered or framing != FRAMING_A or speed != self.dri:
            return None
        self.reply_speed = self.dsi
        data = bytes(data)
        if last_bits == 7 and len(data) == 1:
            return self._short_frame(data[0])
        if self.state == READY and data and data[0] == SEL_CODES[self.level]:
            return self._select(data, last_bits)
        if last_bits:
            return self._unexpected()
        if self.state == ACTIVE:
            return self._active(data)
        if self.state == PROTOCOL:
            return self._protocol(data)
        return self._unexpected()

    def _short_frame(self, cmd):
        woken = cmd == WUPA and self.state in (IDLE, HALT)
        requested = cmd == REQA and self.state == IDLE
        if woken or requested:
            self._halted = self.state == HALT
            self.state, self.level = READY, 0
            return frame_bits(self.atqa)
        return self._unexpected()

    def _unexpected(self):
        # ISO 14443-3: an unexpected frame sends READY/ACTIVE back to IDLE (or HALT).
        if self.state in (READY, ACTIVE):
            self.state = HALT if self._halted else IDLE
            self._base_rate()
        return None

    def _select(self, data, last_bits):
        if len(data) < 2:
            return self._unexpected()
        nvb = data[1]
        part = self.parts[self.level]
        full = part + bytes([bcc(part)])
        if nvb == 0x70:
            if len(data) != 9 or not check_crc_a(data) or data[2:7] != full:
                return self._unexpected()
            return self._selected()
        n_bits = (nvb >> 4) * 8 + (nvb & 0x0F) - 16
        if not 0 <= n_bits < 40 or len(data) * 8 - ((8 - last_bits) % 8) - 16 < n_bits:
            return self._unexpected()
        mine = frame_bits(full)
        if frame_bits(data[2:])[:n_bits] != mine[:n_bits]:
            return None  # another card's UID: stay READY, keep quiet
        return mine[n_bits:]

    def _selected(self):
        if self.level + 1 < len(self.parts):
            self.level += 1
            return frame_bits(with_crc(bytes([SAK_CASCADE])))
        self.state = ACTIVE
        return frame_bits(with_crc(bytes([self.sak & ~SAK_CASCADE & 0xFF])))

    def _active(self, data):
        if not check_crc_a(data):
            return None  # transmission error: a card ignores frames with a bad CRC
        if data[:2] == bytes([HLTA, 0x00]) and len(data) == 4:
            self.state, self._halted = HALT, True
            self._base_rate()
            return None
        if data[0] == RATS and len(data) == 4 and self.sak & SAK_ISO14443_4:
            ats = self.t1.activate(data[1])
            self.state = PROTOCOL
            self._pps_allowed = True  # a PPS may follow the ATS, before any other block
            return frame_bits(with_crc(ats))
        return self._unexpected()

    def _protocol(self, data):
        if not check_crc_a(data):
            return None
        block = data[:-2]
        if self._pps_allowed and block and block[0] & 0xF0 == PPSS:
            return self._pps(block)
        self._pps_allowed = False
        reply = self.t1.receive(block)
        if self.t1.deselected:
            self.state, self._halted = HALT, True
            self._base_rate()
            self.t1.reset()
        if reply is None:
            return None
        if isinstance(reply, tuple):  # (raw frame, already with a CRC or none): evil card
            return frame_bits(reply[0])
        return frame_bits(with_crc(reply))


    def _pps(self, block):
        """PPSS (D0|CID) PPS0 [PPS1 = DSI<<2 | DRI]: rates the ATS allows are answered with
        PPSS at the old rate, then taken; anything else is not a valid frame: silence."""
        if block[0] & 0x0F != self.t1.cid:
            return None
        if len(block) == 2 and block[1] == 0x01:
            dsi = dri = 0
        elif len(block) == 3 and block[1] == 0x11 and not block[2] & 0xF0:
            dsi, dri = block[2] >> 2, block[2] & 0x03
        else:
            return None
        ds, dr, same = self.supported_rates()
        if dsi not in ds or dri not in dr or (same and dsi != dri):
            return None
        self._pps_allowed = False
        ignored, _ = self.faults.take("pps_ignored")
        if not ignored:  # the fault: the card answers the PPS and stays at its rates
            self.dsi, self.dri = dsi, dri
        return frame_bits(with_crc(block[:1]))


class Field:
    """The RF field of one reader antenna and the cards in it."""

    def __init__(self, faults=None, model=None):
        self.faults = faults or ChipFaults()
        self.model = model  # a WireTiming: frames on the air take their time (wire "rf")
        self.cards = []
        self.rf_on = False
        self.frames = 0  # frames the reader sent
        self.polls = 0   # REQA/WUPA sent with the field on: the reader looking for a card
        self._listeners = []
        self._clock = time.monotonic
        self._since = self._clock()    # radio-on time counted from here (activity(reset))
        self._on_at = None             # when the field last came on
        self._on_s = 0.0

    def insert(self, picc):
        """A card enters the field (it powers up if the field is on)."""
        picc.share_faults(self.faults)
        if self.model is not None:
            picc.t1.use_model(self.model)
        self.cards.append(picc)
        if self.rf_on:
            picc.power_on()
        for listener in list(self._listeners):
            listener(picc)

    def remove(self, picc=None):
        """A card leaves the field (default: all of them)."""
        for card in [picc] if picc else list(self.cards):
            card.power_off()
            self.cards.remove(card)

    def on_arrival(self, listener):
        self._listeners.append(listener)

    def set_rf(self, on):
        if on and not self.rf_on:
            for card in self.cards:
                card.power_on()
            self._on_at = self._clock()
        if not on:
            for card in self.cards:
                card.power_off()
            if self._on_at is not None:
                self._on_s += self._clock() - self._on_at
                self._on_at = None
        self.rf_on = bool(on)

    def activity(self, reset=False):
        """The field's duty: {"seconds", "polls", "polls_per_s", "radio_on_s",
        "radio_on_fraction"} since the last reset (the transmitter on = the chip's main
        current draw while it polls; the model counts the time the field is switched on)."""
        now = self._clock()
        on = self._on_s + (now - self._on_at if self._on_at is not None else 0.0)
        span = max(now - self._since, 1e-9)
        out = {"seconds": round(span, 3), "polls": self.polls,
               "polls_per_s": round(self.polls / span, 2), "radio_on_s": round(on, 3),
               "radio_on_fraction": round(min(on / span, 1.0), 4)}
        if reset:
            self._since = now
            self._on_s = 0.0
            self._on_at = now if self._on_at is not None else None
            self.polls = 0
        return out

    def transceive(self, data, last_bits=0, framing=FRAMING_A, speed=0, rx_framing=None,
                   rx_speed=None):
        """Send one frame with `framing` at speed code `speed`; the receiver listens with
        `rx_framing`/`rx_speed` (default: the same). Return the superposed AirReply, or None
        if no card answered in a form the receiver decodes."""
        self.frames += 1
        if not self.rf_on:
            return None
        if last_bits == 7 and len(data) == 1 and data[0] in (REQA, WUPA):
            self.polls += 1
        rx_framing = framing if rx_framing is None else rx_framing
        rx_speed = speed if rx_speed is None else rx_speed
        answers = []
        for card in self.cards:
            bits = card.receive(data, last_bits, framing, speed)
            if bits is not None and rx_framing == FRAMING_A and card.reply_speed == rx_speed:
                answers.append(bits)
        if not answers:
            return None
        reply = _superpose(answers)
        if self.model is not None:
            self._pace(len(data), (len(reply.bits) + 7) // 8, speed, rx_speed)
        return self._commit_faults(reply)

    def _pace(self, cmd_len, resp_len, speed=0, rx_speed=0):
        """The reader's frame, the frame delay, the card's frame, the guard time."""
        model = self.model
        model.pace("rf", cmd_len, "rx", DIVISORS[speed])
        model.wait("rf", RF_FDT_PCD_PICC_S)
        model.pace("rf", resp_len, "tx", DIVISORS[rx_speed])
        model.wait("rf", RF_GUARD_PICC_PCD_S)
        model.round_trip("rf")

    def _commit_faults(self, reply):
        removed, _ = self.faults.take("card_removed")
        if removed:
            self.remove()
            return None
        bad_crc, _ = self.faults.take("bad_crc")
        if bad_crc and len(reply.bits) >= 16:
            reply.bits[-1] ^= 1  # the last bit of the CRC_A flips
        parity, _ = self.faults.take("parity")
        if parity:
            reply.parity_error = True
        return reply


def _superpose(answers):
    if len(answers) == 1:
        return AirReply(list(answers[0]))
    length = max(len(a) for a in answers)
    bits = []
    collision = None
    for i in range(length):
        seen = {a[i] for a in answers if i < len(a)}
        if len(seen) > 1 or any(i >= len(a) for a in answers):
            collision = i if collision is None else collision
        bits.append(max(seen))
    return AirReply(bits, collision)
