# The far side of an MFRC522's SPI bus, for the mfrc522 driver to talk to (runs inside
# micropython, in the test's process): a register-level fake MFRC522 with a type A card
# behind it (whose T=CL is card_peer_tcl.PICC).
# SPI semantics as the data sheet: first byte = address ((reg<<1)&0x7E, |0x80 to read);
# on a read, each following byte clocked out returns the register and the byte sent is the
# next address; on a write, following bytes are written to the same register (FIFO).
from fake_buses import FakePin, hx

from reader.crc import check_crc_a, crc_a_bytes


class FakeRC522:
    def __init__(self, card=None, version=0x92):
        self.regs = bytearray(64)
        self.regs[0x37] = version
        self.fifo = bytearray()
        self.card = card
        self.cs = FakePin(1, self._cs)
        self.rst = FakePin(1)
        self._addr = None
        self.frames = []          # (bytes sent, tx last bits)
        self.timer = []           # (prescaler, reload) at each transceive
        self.longest = 0
        self._fpos = 0

    def _cs(self, v):
        self._addr = None

    def _byte(self, b):
        """Process one byte clocked in; return the byte clocked out."""
        if self._addr is None:
            self._addr = b
            return 0
        reg = (self._addr >> 1) & 0x3F
        if self._addr & 0x80:
            out = self._read(reg)
            self._addr = b if b else None
            return out
        self._write(reg, b)
        return 0

    def write(self, buf):
        assert self.cs.value() == 0
        for b in bytes(buf):
            self._byte(b)

    def write_readinto(self, out, into):
        assert self.cs.value() == 0
        data = bytes(out)
        # the first byte is the address; each later byte clocks out the register
        res = bytearray(len(data))
        for i, b in enumerate(data):
            if i == 0:
                self._addr = b
                continue
            reg = (self._addr >> 1) & 0x3F
            res[i] = self._read(reg)
            self._addr = b
        into[:] = res

    def _read(self, reg):
        if reg == 0x09:
            if self._fpos >= len(self.fifo):
                return 0
            self._fpos += 1
            return self.fifo[self._fpos - 1]
        if reg == 0x0A:
            return len(self.fifo) - self._fpos
        return self.regs[reg]

    def _write(self, reg, v):
        if reg == 0x09:
            self.fifo.append(v)
        elif reg == 0x0A:
            if v & 0x80:
                self.fifo = bytearray()
                self._fpos = 0
        elif reg == 0x04:                       # ComIrq: Set1=0 clears the marked bits
            if v & 0x80:
                self.regs[4] |= v & 0x7F
            else:
                self.regs[4] &= ~v & 0x7F
        elif reg == 0x01:
            self.regs[1] = v & 0x0F
            if v & 0x0F == 0x0F:                # SoftReset
                self.regs[0x37] = self.regs[0x37]
        elif reg == 0x0D:
            self.regs[0x0D] = v & 0x7F
            if v & 0x80 and self.regs[1] == 0x0C:
                self._transceive(v & 0x07)
        else:
            self.regs[reg] = v

    def _transceive(self, tx_bits):
        frame = bytes(self.fifo[self._fpos:])
        self.fifo = bytearray()
        self._fpos = 0
        self.frames.append((frame, tx_bits))
        self.longest = max(self.longest, len(frame))
        p = ((self.regs[0x2A] & 0x0F) << 8) | self.regs[0x2B]
        self.timer.append((p, (self.regs[0x2C] << 8) | self.regs[0x2D]))
        if len(self.frames) > 32:                 # keep the log small on a 128k heap
            self.frames = self.frames[-16:]
            self.timer = self.timer[-16:]
        self.regs[0x06] = 0
        answer = self.card(frame, tx_bits) if self.card else None
        if answer is None:
            self.regs[4] |= 0x01                 # TimerIRq
            return
        if answer == "collision":
            self.regs[0x06] = 0x08
            self.regs[0x0E] = 0x05
            self.regs[4] |= 0x20 | 0x02
            return
        data, bits = answer if isinstance(answer, tuple) else (answer, 0)
        self.fifo = bytearray(data)
        self._fpos = 0
        self.regs[0x0C] = bits
        self.regs[4] |= 0x20


class TypeACard:
    """ISO 14443-3 type A card (4/7/10-byte UID) that hands ISO-DEP frames to `tcl`
    (e.g. card_peer_tcl.PICC) with CRC_A stripped and appended."""

    def __init__(self, uid, sak=0x20, atqa=b"\x04\x00", tcl=None):
        self.uid = bytes(uid)
        self.sak = sak
        self.atqa = atqa
        self.tcl = tcl
        self.state = "idle"
        self.level = 0
        self.present = True
        self.multiple = False

    def _cl(self, level):
        u = self.uid
        if len(u) == 4:
            parts = [u]
        elif len(u) == 7:
            parts = [b"\x88" + u[:3], u[3:]]
        else:
            parts = [b"\x88" + u[:3], b"\x88" + u[3:6], u[6:]]
        p = parts[level]
        bcc = p[0] ^ p[1] ^ p[2] ^ p[3]
        return p + bytes((bcc,)), level < len(parts) - 1

    def __call__(self, frame, bits):
        if not self.present:
            return None
        if bits == 7 and len(frame) == 1 and frame[0] in (0x26, 0x52):
            if frame[0] == 0x26 and self.state == "halt":
                return None
            self.state = "ready"
            return self.atqa
        if frame[:1] in (b"\x93", b"\x95", b"\x97") and len(frame) == 2 and frame[1] == 0x20:
            if self.multiple:
                return "collision"
            level = (0x93, 0x95, 0x97).index(frame[0])
            return self._cl(level)[0]
        if frame[:1] in (b"\x93", b"\x95", b"\x97") and len(frame) == 9 and frame[1] == 0x70:
            assert check_crc_a(frame), "SELECT without valid CRC: " + hx(frame)
            level = (0x93, 0x95, 0x97).index(frame[0])
            cl, more = self._cl(level)
            if frame[2:7] != cl:
                return None
            sak = 0x04 if more else self.sak
            if not more:
                self.state = "active"
            return bytes((sak,)) + crc_a_bytes(bytes((sak,)))
        if frame == b"\x50\x00\x57\xcd":
            self.state = "halt"
            return None
        assert self.state == "active" and check_crc_a(frame), "unexpected frame " + hx(frame)
        out = bytearray(300)
        try:
            n = self.tcl.frame_exchange(frame[:-2], out, 0)
        except Exception:
            return None
        return bytes(out[:n]) + crc_a_bytes(bytes(out[:n]))
