"""The emulated PSAM: ATR, files of §4, 80DE/80FA through 61xx + 00C0, PIN, other province."""

import pytest

from hcterm.emulator import cardcrypto as cc
from hcterm.emulator import samples
from reader.cards import healthcard_items as hi

H = bytes.fromhex
CARD_NO8 = H("4101052019031601")
CITY8 = b"41000000"
R = H("1A2B3C4D5E6F7081")


@pytest.fixture
def sam():
    s = samples.sam()
    assert s.process(H("00A4000002DF01")) == H("6106")
    return s


def test_atr_is_t0_with_ta1_and_no_tck():
    s = samples.sam()
    atr = s.atr
    assert s.reset() == atr
    assert atr[0] == 0x3B                      # direct convention
    t0 = atr[1]
    assert t0 >> 4 == 0x1                      # only TA1 follows: no TD1, so T=0 only
    assert atr[2] == 0x13                      # Fi=372, Di=4: PPS to 4x the reset rate
    assert len(atr) == 3 + (t0 & 0x0F)         # historical bytes, no TCK
    assert atr[3:9] == b"HCPSAM"


def read(sam, fid, le, path_df=None):
    if path_df:
        sam.process(H("00A4000002" + path_df))
    assert sam.process(H("00A4000002" + fid)) == H("9000")
    r = sam.process(bytes((0, 0xB0, 0, 0, le)))
    assert r[-2:] == H("9000"), r.hex()
    return r[:-2]


def test_files_of_section_4():
    s = samples.sam()
    ef15 = read(s, "0015", 0x0E, "3F00")
    assert ef15[:10] == H("41010000000000002301") and ef15[10:13] == H("100601")
    assert read(s, "0016", 0x06) == H("410101000123")
    ef1a = read(s, "001A", 0x19, "DF01")
    assert ef1a[0] == 1 and ef1a[1:9] == H("4100000000000001")
    assert ef1a[17:21] == H("20200101") and ef1a[21:25] == H("20341231")
    assert len(read(s, "001B", 0xB4)) == 180
    assert len(read(s, "001C", 0xBE)) == 190


def test_wrong_le_and_past_the_end(sam):
    sam.process(H("00A4000002001A"))
    assert sam.process(H("00B000001A")) == H("6C19")
    assert sam.process(H("00B000100A")) == H("6C09")
    assert sam.process(H("00B0001900")) == H("6B00")
    assert sam.process(H("00B0000010"))[-2:] == H("9000")  # a shorter chunk is fine


def test_two_level_load_and_encrypt(sam):
    assert sam.process(H("80DE473118") + CARD_NO8 + CITY8 + R) == H("9000")
    assert sam.process(H("80FA0000101122334455667788") + bytes(8)) == H("6110")
    assert sam.process(H("00C0000008")) == H("6C10")
    c = sam.process(H("00C0000010"))
    assert c[-2:] == H("9000")
    session = cc.session_key(cc.card_key(sam.master_keys["IRK_DDF1"], CARD_NO8, CITY8), R)
    assert c[:-2] == cc.sm4_encrypt_block(session, H("1122334455667788") + bytes(8))


def test_one_level_load_and_mac_with_iv(sam):
    assert sam.process(H("80DE280210") + CARD_NO8 + R) == H("9000")
    iv = bytes(range(16))
    data = H("04DC020424") + bytes(32) + b"\x80" + bytes(10)
    assert sam.process(H("80FA050040") + iv + data) == H("6104")
    mac = sam.process(H("00C0000004"))
    session = cc.session_key(cc.card_key(sam.master_keys["STK_DDF1"], CARD_NO8), R)
    assert mac == cc.cbc_mac(session, iv, data)[:4] + H("9000")


def test_key_serves_one_operation(sam):
    assert sam.process(H("80FA000010") + bytes(16)) == H("6985")
    sam.process(H("80DE280210") + CARD_NO8 + R)
    assert sam.process(H("80FA000010") + bytes(16)) == H("6110")
    assert sam.process(H("80FA000010") + bytes(16)) == H("6985")


@pytest.mark.parametrize("apdu, sw", [
    ("80DE473110" + "00" * 16, "6700"),      # two levels need 24 bytes
    ("80DE272A18" + "00" * 24, "6700"),
    ("80DE273110" + "00" * 16, "6A86"),      # IRK_DDF1 is two-level
    ("80DE482A18" + "00" * 24, "6A86"),      # UK_DDF1 is not an encryption key
    ("80DE476018" + "00" * 24, "6A88"),      # no key 60
    ("80DE990010" + "00" * 16, "6A86"),
    ("80FA010010" + "00" * 16, "6A86"),
    ("80FA00000F" + "00" * 15, "6700"),
    ("80FA050010" + "00" * 16, "6700"),      # MAC needs IV + at least one block
    ("00C0000010", "6C06"),                  # the DF01 FCI is still waiting
    ("00A4000002EF05", "6A82"),
    ("80CA000000", "6D00"),
    ("A0A4000002DF01", "6E00"),
    ("00B0000001", "6986"),                  # no current EF
])
def test_status_words(sam, apdu, sw):
    assert sam.process(H(apdu)) == H(sw)


def test_auth_key_does_not_mac(sam):
    sam.process(H("80DE473118") + CARD_NO8 + CITY8 + R)
    assert sam.process(H("80FA050020") + bytes(32)) == H("6985")


def test_commands_need_df01():
    s = samples.sam()
    assert s.process(H("80DE280210") + CARD_NO8 + R) == H("6985")


def test_every_key_of_the_table_loads(sam):
    for name, p1, key_id, _df, _ref in hi.KEYS:
        data = CARD_NO8 + (CITY8 if p1 >> 4 == 4 else b"") + R
        assert sam.process(bytes((0x80, 0xDE, p1, key_id, len(data))) + data) == H("9000"), name


def test_pin_protected_variant():
    s = samples.pin_sam()
    s.process(H("00A4000002DF01"))
    load = H("80DE280210") + CARD_NO8 + R
    assert s.process(load) == H("6982")
    assert s.process(H("0020000000")) == H("63C3")
    assert s.process(H("0020000003111111")) == H("63C2")
    assert s.process(H("0020000003123456")) == H("9000")
    assert s.process(load) == H("9000")
    assert s.process(H("805E010007123456FF654321")) == H("9000")
    s.reset()
    s.process(H("00A4000002DF01"))
    assert s.process(load) == H("6982")
    for sw in ("63C2", "63C1", "63C0", "6983"):
        assert s.process(H("0020000003123456")) == H(sw)


def test_sample_sam_needs_no_pin(sam):
    assert sam.process(H("0020000003123456")) == H("9000")
    assert sam.process(H("805E010007123456FF654321")) == H("6A88")


def test_foreign_sam_is_another_issuer():
    home, foreign = samples.sam(), samples.foreign_sam()
    assert read(foreign, "001A", 0x19, "DF01")[1:9] == H("5100000000000001")
    assert foreign.atr != home.atr
    for name in home.master_keys:
        assert home.master_keys[name] != foreign.master_keys[name]


def test_fuzz_never_raises():
    import random
    rng = random.Random(7)
    s = samples.pin_sam()
    for _ in range(3000):
        apdu = bytes((rng.choice((0x00, 0x80, 0x84)), rng.choice((0xA4, 0xB0, 0xC0, 0x20, 0x5E,
                      0xDE, 0xFA, 0x12)), rng.getrandbits(8), rng.getrandbits(8)))
        apdu += bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 60)))
        r = s.process(apdu)
        assert len(r) >= 2 and r[-2] in {0x61, 0x63, 0x67, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E,
                                         0x90}, (apdu.hex(), r.hex())
