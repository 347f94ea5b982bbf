"""The SM4 scheme of docs/card-crypto.md: primitives and the document's own test vectors."""

import re
from pathlib import Path

import pytest

from hcterm.emulator import cardcrypto as cc
from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr

DOC = Path(__file__).resolve().parents[2] / "docs" / "card-crypto.md"


def doc_vectors():
    block = re.search(r"```vectors\n(.*?)```", DOC.read_text(), re.DOTALL).group(1)
    pairs = re.findall(r"^(\w+)\s*=\s*([0-9A-F]+)$", block, re.MULTILINE)
    return {k: bytes.fromhex(v) for k, v in pairs}


def test_sm4_standard_vector():
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    out = cc.sm4_encrypt_block(key, key)
    assert out.hex() == "681edf34d206965e86b3e94f536e4246"
    assert cc.sm4_decrypt_block(key, out) == key


def test_ecb_has_no_padding_and_round_trips():
    key = bytes(range(16))
    data = bytes(range(48))
    enc = cc.encrypt_ecb(key, data)
    assert len(enc) == 48
    assert enc[:16] == cc.sm4_encrypt_block(key, data[:16])
    assert cc.decrypt_ecb(key, enc) == data
    with pytest.raises(ValueError):
        cc.encrypt_ecb(key, b"short")


def test_doc_vectors():
    v = doc_vectors()
    assert len(v) == 18
    assert v["city8"] == b"41000000"
    assert cc.diversify(v["MK"], v["city8"]) == v["city_key"]
    assert cc.card_key(v["MK"], v["cardNo8"], v["city8"]) == v["card_key_2"]
    assert cc.diversify(v["city_key"], v["cardNo8"]) == v["card_key_2"]
    assert cc.card_key(v["MK"], v["cardNo8"]) == v["card_key_1"]
    assert cc.session_key(v["card_key_2"], v["R"]) == v["session_2"]
    assert cc.sm4_encrypt_block(v["session_2"], v["T"] + bytes(8)) == v["C_irk"]
    assert cc.fold(v["C_irk"]) == v["X_irk"] == cc.cryptogram(v["session_2"], v["T"])
    assert cc.session_key(v["card_key_1"], v["R"]) == v["session_1"]
    assert cc.sm4_encrypt_block(v["session_1"], v["R1"] + bytes(8)) == v["C_uk"]
    assert cc.fold(v["C_uk"]) == v["X_uk"]
    record = hr.build_record(0x10, hr.encode(hi.AN, b"13800138000", 20))
    assert cc.record_plaintext(record) == v["plain"]
    assert cc.encrypt_ecb(v["session_1"], v["plain"]) == v["enc"]
    assert cc.secure_write_apdu(v["session_1"], 2, record) == v["apdu"]
    assert v["apdu"][4] == cc.secure_write_lc(20) == 0x24
    assert cc.open_secure_record(v["session_1"], v["enc"]) == record


def test_diversification_is_d_of_data_and_its_complement():
    key = bytes(16)
    d = bytes.fromhex("0011223344556677")
    assert cc.diversify(key, d) == cc.sm4_encrypt_block(key, d + bytes.fromhex("FFEEDDCCBBAA9988"))


@pytest.mark.parametrize("n, lc", [(1, 20), (3, 20), (13, 20), (14, 36), (18, 36), (29, 36),
                                   (30, 52), (100, 116), (120, 132)])
def test_secure_write_lc(n, lc):
    assert cc.secure_write_lc(n) == lc
    record = hr.build_record(0x01, bytes(n))
    assert len(cc.record_plaintext(record)) + 4 == lc


def test_mac_is_cbc_over_padded_data():
    key = bytes(range(16))
    header = bytes.fromhex("04DC020424")
    enc = bytes(32)
    padded = header + enc + b"\x80" + bytes(10)
    state = bytes(16)
    for i in range(0, 48, 16):
        state = cc.sm4_encrypt_block(key, cc.xor(state, padded[i:i + 16]))
    assert cc.write_mac(key, header, enc) == state[:4]


def test_open_secure_record_rejects_bad_length_and_padding():
    key = bytes(range(16))
    for plain in (bytes((40,)) + bytes(15), bytes((3, 1, 1, 0, 0x81)) + bytes(11)):
        with pytest.raises(ValueError):
            cc.open_secure_record(key, cc.encrypt_ecb(key, plain))
