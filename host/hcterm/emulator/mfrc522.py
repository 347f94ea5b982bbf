"""The emulated MFRC522 (RC522): SPI register file, FIFO, commands, timer, and the air.

SPI (mode 0, MSB first): the first byte of a chip-select window is an address byte, write
`(reg<<1)&0x7E`, read `|0x80`. In a read window every further MOSI byte is the next address to
read and MISO carries the value of the previous one (a final `00` ends it); in a write window
every further byte is written to the same register (FIFO bursts).

| feature | emulated |
|---|---|
| registers | all 0x01-0x3F kept; reset values of the data sheet; Version (37) = 0x92 |
| FIFO | 64 bytes, FIFOLevel (bit 7 flushes), BufferOvfl on overflow |
| Command | Idle, Mem, GenerateRandomID, CalcCRC, Transmit, Transceive, MFAuthent, SoftReset |
| BitFraming | StartSend, TxLastBits (7-bit short frames, anticollision), RxAlign |
| TxMode/RxMode bit 7 | CRC_A appended on transmit / checked and removed on receive (CRCErr) |
| TxMode/RxMode 6:4 | TxSpeed/RxSpeed 106-848 kbit/s: a card hears frames at its rate only |
| ComIrq/DivIrq | Set1/Set2 semantics; TxIRq, RxIRq, IdleIRq, ErrIRq, TimerIRq, CRCIRq |
| Error/Coll | CollErr, CollPos (1-based, with RxAlign, 32 -> 0), CRCErr, ParityErr, BufferOvfl |
| timer | TAuto (starts after a transmission, stops on reception), prescaler, reload, TAutoRestart |
| IRQ line | `set_line("irq", …)` from ComIEn/DivIEn (IRqInv) |
| RST line | `on_line("rst", 0)`: hard power-down, registers back to reset values, antenna off |
| soft power-down | CommandReg bit 4: antenna off, commands ignored, registers kept; wake 1024 clk |

Speeds: after a PPS a card hears only frames at its new rate, and the receiver decodes only
answers at RxSpeed (else silence: the timer ends the wait).
MFAuthent sends the FIFO's authentication command and block address (with CRC_A) and waits for
the card's 4-byte nonce. A card that stays silent (every card here: none does MIFARE Classic)
leaves the command running: the timer ends it with TimerIRq, as on the chip (no IdleIRq, no
ErrIRq; the host writes Idle). An answer of the wrong length sets ProtocolErr + ErrIRq.
Not emulated: MIFARE Classic Crypto1 (a 4-byte nonce also ends in ProtocolErr), analog
settings (kept, no effect), the self test, type B and FeliCa.
"""

import os
import time

from reader.crc import crc_a

from .bus_device import SpiDevice
from .chipfaults import ChipFaults
from .rf14443 import Field, pack_bits

# Registers.
COMMAND, COM_IEN, DIV_IEN, COM_IRQ, DIV_IRQ, ERROR = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
STATUS1, STATUS2, FIFO_DATA, FIFO_LEVEL, CONTROL, BIT_FRAMING, COLL = (
    0x07, 0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x0E)
MODE, TX_MODE, RX_MODE, TX_CONTROL = 0x11, 0x12, 0x13, 0x14
CRC_RESULT_H, CRC_RESULT_L = 0x21, 0x22
T_MODE, T_PRESCALER, T_RELOAD_H, T_RELOAD_L, T_COUNTER_H, T_COUNTER_L = (
    0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F)
DEMOD, VERSION = 0x19, 0x37

POWER_DOWN = 0x10                 # CommandReg: soft power-down
CLOCK_HZ, WAKE_CLOCKS = 13_560_000, 1024   # leaving soft power-down takes 1024 clocks

# Commands.
IDLE, MEM, RANDOM_ID, CALC_CRC, TRANSMIT, NO_CMD_CHANGE = 0x0, 0x1, 0x2, 0x3, 0x4, 0x7
RECEIVE, TRANSCEIVE, MF_AUTHENT, SOFT_RESET = 0x8, 0xC, 0xE, 0xF

# ComIrq, DivIrq, Error, Status1 bits.
TX_IRQ, RX_IRQ, IDLE_IRQ, ERR_IRQ, TIMER_IRQ = 0x40, 0x20, 0x10, 0x02, 0x01
CRC_IRQ = 0x04
ERR_BUFFER_OVFL, ERR_COLL, ERR_CRC, ERR_PARITY, ERR_PROTOCOL = 0x10, 0x08, 0x04, 0x02, 0x01
ST1_CRC_OK, ST1_CRC_READY, ST1_TRUNNING = 0x40, 0x20, 0x08

ERRORS = {
    0x80: "WrErr: data written to the FIFO at the wrong time",
    0x40: "TempErr: overheating, antenna drivers off",
    0x10: "BufferOvfl: FIFO overflow",
    0x08: "CollErr: bit collision",
    0x04: "CRCErr: CRC mismatch in the received frame",
    0x02: "ParityErr: parity check failed",
    0x01: "ProtocolErr: SOF error or wrong command use",
}

RESET_VALUES = {
    COMMAND: 0x20, COM_IEN: 0x80, COM_IRQ: 0x14, STATUS1: 0x21, 0x0B: 0x08, CONTROL: 0x10,
    COLL: 0xA0, MODE: 0x3F, TX_CONTROL: 0x80, 0x16: 0x10, 0x17: 0x84, 0x18: 0x84, DEMOD: 0x4D,
    0x1C: 0x62, 0x1F: 0xEB, CRC_RESULT_H: 0xFF, CRC_RESULT_L: 0xFF, 0x24: 0x26, 0x26: 0x48,
    0x27: 0x88, 0x28: 0x20, 0x29: 0x20, VERSION: 0x92,
}
CRC_PRESETS = (0x0000, 0x6363, 0xA671, 0xFFFF)
FIFO_SIZE = 64
FC_HZ = 13_560_000


class Mfrc522(SpiDevice):
    def __init__(self, field=None, faults=None, clock=time.monotonic, model=None):
        super().__init__()
        self.faults = faults or ChipFaults()
        # SPI at MHz rates costs little; a WireTiming paces the RF side (wire "rf")
        self.field = field or Field(self.faults, model=model)
        self.clock = clock
        self._window = None
        self.soft_reset()

    # -- lines -------------------------------------------------------------------------------
    def on_line(self, name, value):
        """NRSTPD ("rst"): low is a hard power-down (registers lost, antenna off); the
        chip comes back with its reset values when the line rises."""
        if name == "rst" and not value:
            self.soft_reset()

    # -- SPI ---------------------------------------------------------------------------------
    def on_select(self, selected):
        self._window = None
        if not selected:
            self._update_irq_line()

    def transfer(self, data):
        out = bytearray()
        for byte in data:
            out.append(self._spi_byte(byte))
        return bytes(out)

    def _spi_byte(self, byte):
        if self._window is None:
            reg = (byte >> 1) & 0x3F
            if byte & 0x80:
                self._window = ["read", self.read(reg)]
            else:
                self._window = ["write", reg]
            return 0x00
        mode, value = self._window
        if mode == "write":
            self.write(value, byte)
            return 0x00
        self._window[1] = self.read((byte >> 1) & 0x3F) if byte & 0x80 else 0x00
        return value

    # -- registers ---------------------------------------------------------------------------
    def soft_reset(self):
        self.regs = bytearray(64)
        for reg, value in RESET_VALUES.items():
            self.regs[reg] = value
        self.fifo = bytearray()
        self._timer_start = None
        self._internal = bytes(25)
        self._wake_at = None
        self.power_downs = getattr(self, "power_downs", 0)
        self.field.set_rf(False)

    # -- soft power-down (data sheet 8.6.2; CommandReg bit 4) -------------------------------
    @property
    def asleep(self):
        """In soft power-down, or still waking from it (the PowerDown bit reads 1)."""
        if self._wake_at is not None and self.clock() >= self._wake_at:
            self._wake_at = None
            self.regs[COMMAND] &= ~POWER_DOWN & 0xFF
            self.field.set_rf(bool(self.regs[TX_CONTROL] & 0x03))   # the drivers come back
        return bool(self.regs[COMMAND] & POWER_DOWN)

    def _power_command(self, value):
        """A CommandReg write that enters or leaves soft power-down -> True (handled). Set:
        the oscillator and the antenna drivers stop at once (registers and FIFO are kept);
        cleared: the chip wakes 1024 clocks later, the bit reading 1 until then. Commands
        written meanwhile are not run."""
        if value & POWER_DOWN:
            if not self.asleep:
                self.power_downs += 1
            self._wake_at = None
            self.regs[COMMAND] = (self.regs[COMMAND] & 0x0F) | (value & 0x30)
            self.field.set_rf(False)
            return True
        if self.asleep:
            if self._wake_at is None:
                self._wake_at = self.clock() + WAKE_CLOCKS / CLOCK_HZ
            return True
        return False

    def read(self, reg):
        self._tick_timer()
        if reg == COMMAND:
            self.asleep   # noqa: B018 - the wake-up completes when its time has come
        if reg == FIFO_DATA:
            return self.fifo.pop(0) if self.fifo else 0x00
        if reg == FIFO_LEVEL:
            return len(self.fifo)
        if reg == STATUS1:
            running = ST1_TRUNNING if self._timer_start is not None else 0
            return (self.regs[STATUS1] & ~ST1_TRUNNING & 0xFF) | running
        if reg in (T_COUNTER_H, T_COUNTER_L):
            count = self._timer_count()
            return count >> 8 if reg == T_COUNTER_H else count & 0xFF
        if reg in (COM_IRQ, DIV_IRQ):
            return self.regs[reg] & 0x7F
        return self.regs[reg]

    def write(self, reg, value):
        if reg == FIFO_DATA:
            if len(self.fifo) < FIFO_SIZE:
                self.fifo.append(value)
            else:
                self.regs[ERROR] |= ERR_BUFFER_OVFL
        elif reg == FIFO_LEVEL:
            if value & 0x80:
                self.fifo.clear()
                self.regs[ERROR] &= ~ERR_BUFFER_OVFL & 0xFF
        elif reg in (COM_IRQ, DIV_IRQ):
            mask = value & 0x7F
            self.regs[reg] = self.regs[reg] | mask if value & 0x80 else self.regs[reg] & ~mask
        elif reg == COMMAND:
            if self._power_command(value):
                return
            self.regs[COMMAND] = value & 0x30  # RcvOff, PowerDown; the command below
            self._command(value & 0x0F)
        elif reg == BIT_FRAMING:
            self.regs[BIT_FRAMING] = value
            if value & 0x80 and self.regs[COMMAND] & 0x0F == TRANSCEIVE and not self.asleep:
                self._transmit(receive=True)
        elif reg == CONTROL:
            self._control(value)
        elif reg == TX_CONTROL:
            self.regs[TX_CONTROL] = value
            if not self.asleep:
                self.field.set_rf(bool(value & 0x03))
        elif reg not in (ERROR, STATUS1, VERSION, CRC_RESULT_H, CRC_RESULT_L):
            self.regs[reg] = value
        self._update_irq_line()

    def _control(self, value):
        self.regs[CONTROL] = (self.regs[CONTROL] & 0x07) | (value & 0x30)
        if value & 0x40:
            self._start_timer()
        if value & 0x80:
            self._timer_start = None

    def _update_irq_line(self):
        com = self.regs[COM_IEN] & self.regs[COM_IRQ] & 0x7F
        div = self.regs[DIV_IEN] & self.regs[DIV_IRQ] & 0x7F
        active = bool(com or div)
        inverted = bool(self.regs[COM_IEN] & 0x80)
        level = int(active != inverted)
        if self.lines.get("irq") != level:
            self.set_line("irq", level)

    # -- commands ----------------------------------------------------------------------------
    def _command(self, command):
        self._set_command(command)
        if command == SOFT_RESET:
            self.soft_reset()
        elif command == CALC_CRC:
            self._calc_crc()
        elif command == TRANSMIT:
            self._transmit(receive=False)
        elif command == TRANSCEIVE:
            self.regs[ERROR] = 0  # waits for StartSend (a write of BitFraming bit 7)
        elif command == MEM:
            self._mem()
        elif command == RANDOM_ID:
            self._internal = self._internal[:15] + os.urandom(10)
            self._finish()
        elif command == MF_AUTHENT:
            self._mf_authent()
        elif command == IDLE:
            pass

    def _set_command(self, command):
        self.regs[COMMAND] = (self.regs[COMMAND] & 0xF0) | command

    def _finish(self):
        self._set_command(IDLE)
        self._irq(IDLE_IRQ)

    def _irq(self, bits, reg=COM_IRQ):
        self.regs[reg] |= bits

    def _mem(self):
        if len(self.fifo) >= 25:
            self._internal = bytes(self.fifo[:25])
            del self.fifo[:25]
        else:
            self.fifo += self._internal[: FIFO_SIZE - len(self.fifo)]
        self._finish()

    def _crc(self, data):
        return crc_a(data, CRC_PRESETS[self.regs[MODE] & 0x03])

    def _calc_crc(self):
        value = self._crc(bytes(self.fifo))
        self.fifo.clear()
        self.regs[CRC_RESULT_H], self.regs[CRC_RESULT_L] = value >> 8, value & 0xFF
        self.regs[STATUS1] |= ST1_CRC_READY
        self._irq(CRC_IRQ, DIV_IRQ)

    # -- the air -----------------------------------------------------------------------------
    def _air(self, frame, tx_last):
        """One frame on the air at the TxMode/RxMode speeds -> AirReply or None."""
        if not self.field.rf_on:
            return None
        speed = (self.regs[TX_MODE] >> 4) & 0x07
        rx_speed = (self.regs[RX_MODE] >> 4) & 0x07
        return self.field.transceive(frame, tx_last, 0, speed, 0, rx_speed)

    def _mf_authent(self):
        """FIFO: auth command, block, key (6), UID (4). The command and block go on the air
        with CRC_A; the chip then waits for the card's nonce under the timer."""
        request = bytes(self.fifo[:2])
        self.fifo.clear()
        self.regs[ERROR] = 0
        value = self._crc(request)
        reply = self._air(request + bytes([value & 0xFF, value >> 8]), 0)
        self._irq(TX_IRQ)
        if self.regs[T_MODE] & 0x80:
            self._start_timer()  # TAuto
        if reply is None:
            return  # silent card: the command runs on; only the timer ends the wait
        self._timer_start = None
        self.regs[ERROR] = ERR_PROTOCOL  # no Crypto1 here: whatever came is not usable
        self._irq(ERR_IRQ)
        self._finish()

    def _transmit(self, receive):
        framing = self.regs[BIT_FRAMING]
        tx_last, rx_align = framing & 0x07, (framing >> 4) & 0x07
        frame = bytes(self.fifo)
        self.fifo.clear()
        if self.regs[TX_MODE] & 0x80 and not tx_last:
            value = self._crc(frame)
            frame += bytes([value & 0xFF, value >> 8])
        self._irq(TX_IRQ)
        reply = self._air(frame, tx_last)
        if self.regs[T_MODE] & 0x80:
            self._start_timer()  # TAuto: the timer starts at the end of the transmission
        if not receive:
            self._finish()
            return
        if reply is not None:
            self._timer_start = None  # TAuto: reception stops the timer
            self._receive(reply, rx_align)

    def _receive(self, reply, rx_align):
        bits = [0] * rx_align + reply.bits
        data, last_bits = pack_bits(bits)
        error = 0
        if reply.collision is not None:
            error |= ERR_COLL
            position = rx_align + reply.collision + 1
            self.regs[COLL] = (self.regs[COLL] & 0x80) | (position & 0x1F if position < 32 else 0)
        else:
            self.regs[COLL] |= 0x20  # CollPosNotValid
        if reply.parity_error:
            error |= ERR_PARITY
        if self.regs[RX_MODE] & 0x80 and not last_bits:
            ok = len(data) >= 3 and self._crc(data[:-2]) == data[-2] | (data[-1] << 8)
            if ok:
                data = data[:-2]
                self.regs[STATUS1] |= ST1_CRC_OK
            else:
                error |= ERR_CRC
                self.regs[STATUS1] &= ~ST1_CRC_OK & 0xFF
        if rx_align:
            data = bytes([data[0] & (0xFF << rx_align) & 0xFF]) + data[1:]
        room = FIFO_SIZE - len(self.fifo)
        if len(data) > room:
            error |= ERR_BUFFER_OVFL
        self.fifo += data[:room]
        self.regs[CONTROL] = (self.regs[CONTROL] & 0xF8) | last_bits
        self.regs[ERROR] = error
        self._irq(RX_IRQ | (ERR_IRQ if error & (ERR_COLL | ERR_PARITY | ERR_BUFFER_OVFL |
                                                 ERR_CRC | ERR_PROTOCOL) else 0))

    # -- timer -------------------------------------------------------------------------------
    def _timer_seconds(self):
        prescaler = ((self.regs[T_MODE] & 0x0F) << 8) | self.regs[T_PRESCALER]
        reload = (self.regs[T_RELOAD_H] << 8) | self.regs[T_RELOAD_L]
        return (2 * prescaler + 1) * (reload + 1) / FC_HZ

    def _start_timer(self):
        self._timer_start = self.clock()

    def _tick_timer(self):
        if self._timer_start is None:
            return
        period = self._timer_seconds()
        if self.clock() - self._timer_start >= period:
            self._irq(TIMER_IRQ)
            self._timer_start = self._timer_start + period if self.regs[T_MODE] & 0x10 else None

    def _timer_count(self):
        reload = (self.regs[T_RELOAD_H] << 8) | self.regs[T_RELOAD_L]
        if self._timer_start is None:
            return reload
        period = self._timer_seconds()
        left = max(0.0, period - (self.clock() - self._timer_start))
        return min(reload, int(left / period * (reload + 1)))
