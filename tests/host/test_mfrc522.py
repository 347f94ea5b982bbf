"""The emulated MFRC522 driven over SPI byte by byte, as a MicroPython driver does it."""

import pytest
from support.emu_standins import ATS, StandInCard

from hcterm.emulator.mfrc522 import Mfrc522
from hcterm.emulator.rf14443 import Picc
from reader.crc import crc_a_bytes

UID = bytes.fromhex("04A1B2C3")




class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Bus:
    """SPI as a driver sees it: every chip-select window logged as (MOSI, MISO)."""

    def __init__(self, chip):
        self.chip = chip
        self.log = []

    def window(self, mosi):
        self.chip.on_select(True)
        miso = self.chip.transfer(bytes(mosi))
        self.chip.on_select(False)
        self.log.append((bytes(mosi), miso))
        return miso

    def write(self, reg, *values):
        self.window([(reg << 1) & 0x7E, *values])

    def read(self, reg, count=1):
        address = ((reg << 1) & 0x7E) | 0x80
        return self.window([address] * count + [0])[1:]

    def transceive(self, data, tx_last_bits=0, rx_align=0):
        """The Transceive register sequence of the MFRC522 data sheet; returns (bytes,
        rx_last_bits)."""
        self.write(0x01, 0x00)  # Idle
        self.write(0x04, 0x7F)  # clear ComIrq
        self.write(0x0A, 0x80)  # flush FIFO
        self.write(0x09, *data)  # FIFO burst
        self.write(0x0D, (rx_align << 4) | tx_last_bits)
        self.write(0x01, 0x0C)  # Transceive
        self.write(0x0D, 0x80 | (rx_align << 4) | tx_last_bits)  # StartSend
        irq = self.read(0x04)[0]
        if not irq & 0x30:
            return None, irq
        error = self.read(0x06)[0]
        if error & 0x13:
            raise AssertionError(f"Error register {error:02X}")
        n = self.read(0x0A)[0]
        return self.read(0x09, n), self.read(0x0C)[0] & 0x07


def init(bus):
    bus.write(0x01, 0x0F)  # SoftReset
    bus.write(0x2A, 0x80)  # TAuto
    bus.write(0x2B, 0xA9)  # prescaler: ~40 kHz
    bus.write(0x2C, 0x03)
    bus.write(0x2D, 0xE8)  # reload 1000: 25 ms
    bus.write(0x15, 0x40)  # 100% ASK
    bus.write(0x11, 0x3D)  # CRC preset 6363
    bus.write(0x14, 0x83)  # antenna on


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def rig(clock):
    chip = Mfrc522(clock=clock)
    bus = Bus(chip)
    init(bus)
    return chip, bus


def crc(hex_frame):
    data = bytes.fromhex(hex_frame)
    return data + crc_a_bytes(data)


def test_version_and_address_bytes(rig):
    chip, bus = rig
    assert bus.window([0xEE, 0x00]) == bytes([0x00, 0x92])  # Version 0x37
    assert bus.window([0x82, 0x98, 0x00]) == bytes([0x00, 0x20, 0x10])  # Command, Control
    bus.write(0x0B, 0x20)  # WaterLevel
    assert bus.read(0x0B) == b"\x20"


def test_reqa_register_sequence_byte_exact(rig):
    chip, bus = rig
    chip.field.insert(Picc(StandInCard()))
    bus.log.clear()
    assert bus.transceive(b"\x26", tx_last_bits=7) == (bytes.fromhex("0400"), 0)
    assert bus.log == [
        (bytes.fromhex("0200"), bytes.fromhex("0000")),
        (bytes.fromhex("087F"), bytes.fromhex("0000")),
        (bytes.fromhex("1480"), bytes.fromhex("0000")),
        (bytes.fromhex("1226"), bytes.fromhex("0000")),
        (bytes.fromhex("1A07"), bytes.fromhex("0000")),
        (bytes.fromhex("020C"), bytes.fromhex("0000")),
        (bytes.fromhex("1A87"), bytes.fromhex("0000")),
        (bytes.fromhex("8800"), bytes.fromhex("0060")),  # TxIRq | RxIRq
        (bytes.fromhex("8C00"), bytes.fromhex("0000")),
        (bytes.fromhex("9400"), bytes.fromhex("0002")),
        (bytes.fromhex("929200"), bytes.fromhex("000400")),
        (bytes.fromhex("9800"), bytes.fromhex("0010")),
    ]


def test_activation_rats_and_i_block_through_the_fifo(rig):
    chip, bus = rig
    card = StandInCard()
    chip.field.insert(Picc(card))
    assert bus.transceive(b"\x26", 7)[0] == bytes.fromhex("0400")
    assert bus.transceive(bytes.fromhex("9320"))[0] == bytes.fromhex("04A1B2C3D4")
    assert bus.transceive(crc("937004A1B2C3D4"))[0] == crc("20")
    assert bus.transceive(crc("E080"))[0] == ATS + crc_a_bytes(ATS)
    assert bus.transceive(crc("0200A4000002DDF1"))[0] == crc("0200A400009000")
    assert card.apdus == [bytes.fromhex("00A4000002DDF1")]


def test_chip_crc_on_tx_and_rx(rig):
    chip, bus = rig
    chip.field.insert(Picc(StandInCard()))
    bus.transceive(b"\x26", 7)
    bus.transceive(bytes.fromhex("9320"))
    bus.write(0x12, 0x80)  # TxMode: CRC on
    bus.write(0x13, 0x80)  # RxMode: CRC on
    assert bus.transceive(bytes.fromhex("937004A1B2C3D4"))[0] == bytes.fromhex("20")
    assert bus.read(0x07)[0] & 0x40  # Status1 CRCOk
    assert bus.transceive(bytes.fromhex("E080"))[0] == ATS


def test_calc_crc(rig):
    chip, bus = rig
    bus.write(0x01, 0x00)
    bus.write(0x05, 0x04)  # clear CRCIRq
    bus.write(0x0A, 0x80)
    bus.write(0x09, 0xE0, 0x50)
    bus.write(0x01, 0x03)  # CalcCRC
    assert bus.read(0x05)[0] & 0x04
    assert bus.read(0x22)[0] == 0xBC and bus.read(0x21)[0] == 0xA5  # CRC_A(E0 50) = BC A5


def test_fifo_level_overflow_and_flush(rig):
    chip, bus = rig
    bus.write(0x09, *range(70))
    assert bus.read(0x0A) == bytes([64])
    assert bus.read(0x06)[0] & 0x10  # BufferOvfl
    assert bus.read(0x09, 3) == bytes([0, 1, 2])
    bus.write(0x0A, 0x80)
    assert bus.read(0x0A) == b"\x00" and not bus.read(0x06)[0] & 0x10


def test_timer_raises_timer_irq_when_the_card_stays_silent(rig, clock):
    chip, bus = rig  # empty field
    data, irq = bus.transceive(b"\x26", 7)
    assert data is None and irq == 0x40  # sent, nothing received yet
    assert bus.read(0x07)[0] & 0x08  # TRunning
    clock.now += 0.020
    assert bus.read(0x04)[0] == 0x40  # 20 ms < 25 ms
    clock.now += 0.006
    assert bus.read(0x04)[0] == 0x41  # TimerIRq
    assert not bus.read(0x07)[0] & 0x08


def test_collision_sets_coll_err_and_position(rig):
    chip, bus = rig
    chip.field.insert(Picc(StandInCard(uid=bytes.fromhex("01020304"))))
    chip.field.insert(Picc(StandInCard(uid=bytes.fromhex("01020380"))))
    bus.transceive(b"\x26", 7)
    bus.write(0x0E, 0x00)  # ValuesAfterColl = 0, as drivers set it
    bus.write(0x01, 0x00)
    bus.write(0x04, 0x7F)
    bus.write(0x0A, 0x80)
    bus.write(0x09, 0x93, 0x20)
    bus.write(0x01, 0x0C)
    bus.write(0x0D, 0x80)
    assert bus.read(0x04)[0] & 0x22 == 0x22  # RxIRq | ErrIRq
    assert bus.read(0x06)[0] & 0x08  # CollErr
    assert bus.read(0x0E)[0] & 0x1F == 27  # 1-based: byte 3 bit 2
    # Resolve: 26 bits known + bit 27 set to 1 = 3 bytes + 3 bits: NVB 0x53, TxLastBits 3.
    known = bytes.fromhex("010203") + bytes([0x04 & 0x07])
    data, last = bus.transceive(bytes([0x93, 0x53]) + known, tx_last_bits=3, rx_align=3)
    assert bus.read(0x06)[0] & 0x08 == 0
    assert data[0] & 0xF8 == 0x04 & 0xF8 and data[1] == 0x01 ^ 0x02 ^ 0x03 ^ 0x04


def test_host_t_cl_chaining_and_wtx_through_the_rc522(rig):
    chip, bus = rig
    card = StandInCard(answer=bytes(range(40)) + b"\x90\x00", seconds=0.4)
    chip.field.insert(Picc(card))
    bus.transceive(b"\x26", 7)
    bus.transceive(bytes.fromhex("9320"))
    bus.transceive(crc("937004A1B2C3D4"))
    assert bus.transceive(crc("E020"))[0] == ATS + crc_a_bytes(ATS)  # FSD 32
    assert bus.transceive(crc("1200A40000"))[0] == crc("A2")
    assert bus.transceive(crc("0302DDF1"))[0] == crc("F203")  # WTX: 0.4 s > FWT 154.7 ms
    assert bus.transceive(crc("F203"))[0] == crc("13" + bytes(range(29)).hex())
    assert bus.transceive(crc("A2"))[0] == crc("02" + bytes(range(29, 40)).hex() + "9000")


def test_soft_reset_and_irq_line(rig):
    chip, bus = rig
    chip.field.insert(Picc(StandInCard()))
    bus.write(0x02, 0x80 | 0x20)  # ComIEn: IRqInv, RxIEn
    assert chip.lines["irq"] == 1
    bus.transceive(b"\x26", 7)
    assert chip.lines["irq"] == 0  # RxIRq, inverted: active low
    bus.write(0x01, 0x0F)
    assert bus.read(0x14)[0] == 0x80 and not chip.field.rf_on
    assert bus.read(0x11)[0] == 0x3F and bus.read(0x37)[0] == 0x92
