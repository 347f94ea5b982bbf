# MFRC522 driver, ISO 14443-3 activation and T=CL over it, against a register-level fake.
from card_peer_rc522 import FakeRC522, TypeACard
from card_peer_tcl import PICC
from fake_buses import h

from reader import errors as driver_errors
from reader.chips.mfrc522 import MFRC522, NO_ANSWER, NO_CHIP, TOO_LONG, RC522Error, RC522Frames
from reader.protocols.iso14443_3 import BAD_BCC, COLLISION, Activator, ISO3Error
from reader.protocols.iso14443_4 import TCL, fwt_us


class RecordingSPI:
    def __init__(self):
        self.log = []

    def write(self, buf):
        self.log.append(bytes(buf))

    def write_readinto(self, out, into):
        self.log.append(bytes(out))
        for i in range(len(into)):
            into[i] = 0x92 if i else 0


def chip_with(card):
    fake = FakeRC522(card)
    chip = MFRC522(fake, fake.cs, fake.rst)
    chip.init()
    return chip, fake


def test_register_address_bytes():
    spi = RecordingSPI()
    from fake_buses import FakePin
    chip = MFRC522(spi, FakePin())
    chip.write(0x01, 0x0F)
    assert chip.read(0x37) == 0x92
    chip.write_fifo(h("93 20"))
    assert spi.log == [h("02 0F"), h("EE 00"), h("12 93 20")]


def test_init_programs_timer_ask_crc_preset_and_antenna():
    chip, fake = chip_with(None)
    r = fake.regs
    assert chip.version == 0x92
    assert (r[0x2A], r[0x2B], r[0x2C], r[0x2D]) == (0x80, 0xA9, 0x03, 0xE9)   # 25 ms + 1 tick
    assert r[0x15] == 0x40 and r[0x11] == 0x3D and r[0x14] & 0x03 == 0x03
    assert fake.rst.history == [1, 0, 1]


def test_no_chip_on_the_bus():
    fake = FakeRC522(None, version=0x00)
    try:
        MFRC522(fake, fake.cs).init()
    except RC522Error as e:
        assert e.code == NO_CHIP and e.kind == driver_errors.CHIP
    else:
        raise AssertionError("missing chip not reported")


def test_timer_reprogrammed_from_fwt_up_to_fwi_14():
    chip, fake = chip_with(None)
    for fwi in (0, 4, 9, 14):
        us = fwt_us(fwi) + 3625
        chip.set_timeout_us(us)
        p = ((fake.regs[0x2A] & 0x0F) << 8) | fake.regs[0x2B]
        reload = (fake.regs[0x2C] << 8) | fake.regs[0x2D]
        got = reload * (2 * p + 1) * 100 // 1356
        assert us <= got <= us + us // 50 + 30, (fwi, us, got)


def test_reqa_is_a_7_bit_frame_and_timeout_means_no_card():
    chip, fake = chip_with(None)
    assert Activator(chip).request() is None
    assert fake.frames[-1] == (h("26"), 7)
    try:
        chip.transceive(h("26"), bytearray(4), 1000, tx_last_bits=7)
    except RC522Error as e:
        assert e.code == NO_ANSWER and e.kind == driver_errors.TIMEOUT
    else:
        raise AssertionError("a REQA nobody answered was not a timeout")


def test_activate_4_7_10_byte_uids_with_cascade():
    for uid in (h("DE AD BE EF"), h("04 11 22 33 44 55 66"), h("01 02 03 04 05 06 07 08 09 0A")):
        card = TypeACard(uid, sak=0x28)
        chip, fake = chip_with(card)
        c = Activator(chip).activate()
        assert c.uid == uid and c.sak == 0x28 and c.atqa == 0x0004 and c.iso_dep()
        sels = [f[0][:2] for f in fake.frames if len(f[0]) == 9]
        assert sels == [h("93 70"), h("95 70"), h("97 70")][:len(sels)]
        assert len(sels) == {4: 1, 7: 2, 10: 3}[len(uid)]
    assert fake.frames[0] == (h("52"), 7)                      # WUPA by default


def test_bad_bcc_and_collision_are_reported():
    card = TypeACard(h("DE AD BE EF"))
    chip, fake = chip_with(card)
    card._cl = lambda level: (h("DE AD BE EF 00"), False)
    try:
        Activator(chip).activate()
    except ISO3Error as e:
        assert e.code == BAD_BCC
    else:
        raise AssertionError("bad BCC accepted")
    card2 = TypeACard(h("DE AD BE EF"))
    card2.multiple = True
    chip, fake = chip_with(card2)
    try:
        Activator(chip).activate()
    except ISO3Error as e:
        assert e.code == COLLISION and "one card" in str(e)
    else:
        raise AssertionError("collision accepted")


def test_halt_then_reqa_is_ignored_but_wupa_wakes():
    card = TypeACard(h("DE AD BE EF"))
    chip, fake = chip_with(card)
    a = Activator(chip)
    assert a.activate() is not None
    a.halt()
    assert a.request(wake=False) is None and a.request(wake=True) == 0x0004


def rc522_session(picc=None):
    picc = picc or PICC(fsdi=5, max_frame=64)
    card = TypeACard(h("DE AD BE EF"), sak=0x20, tcl=picc)
    chip, fake = chip_with(card)
    Activator(chip).activate()
    tcl = TCL(RC522Frames(chip), max_response=300)
    ats = tcl.activate()
    return tcl, fake, picc, card, ats


def test_rats_with_fsd_64_and_apdus_1_to_261_bytes():
    tcl, fake, picc, card, ats = rc522_session()
    assert fake.frames[-1][0][:2] == h("E0 50")               # FSDI 5: FSD 64 (the FIFO)
    for size in (1, 5, 59, 60, 61, 62, 100, 200, 255, 256, 261):
        apdu = bytes((i + size) & 0xFF for i in range(size))
        data, sw = tcl.transceive(apdu)
        assert sw == 0x9000 and bytes(data) == bytes(reversed(apdu)), size
    assert fake.longest <= 64


def test_wtx_over_rc522_reprograms_the_timer():
    tcl, fake, picc, card, ats = rc522_session()
    picc.wtx_first = 10
    tcl.transceive(h("00 84 00 00 08"))
    p, reload = fake.timer[-1]
    got = reload * (2 * p + 1) * 100 // 1356
    assert got >= fwt_us(ats.fwi) * 10


def test_card_removal_over_rc522():
    tcl, fake, picc, card, ats = rc522_session()
    card.present = False
    try:
        tcl.transceive(h("00 84 00 00 08"))
    except driver_errors.ReaderError as e:
        assert e.kind == driver_errors.CARD_GONE
    else:
        raise AssertionError("removal not reported")


def test_frame_longer_than_fifo_refused():
    chip, fake = chip_with(None)
    try:
        RC522Frames(chip).frame_exchange(bytes(63), bytearray(64), 1000)
    except RC522Error as e:
        assert e.code == TOO_LONG
    else:
        raise AssertionError("65-byte frame accepted")
