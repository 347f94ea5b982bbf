# CRC_A against the vectors of ISO/IEC 14443-3 (Annex B: the worked examples).
from reader.crc import check_crc_a, crc16_ccitt, crc_a, crc_a_bytes


def test_crc_a_vectors():
    vectors = (
        (b"\xE0\x80", b"\x31\x73"),
        (b"\xE0\x50", b"\xBC\xA5"),
        (b"\x50\x00", b"\x57\xCD"),
        (b"\x93\x70\x9E\xF5\x69\x0B\x09", b"\x77\x7F"),
    )
    for data, expected in vectors:
        got = crc_a_bytes(data)
        assert got == expected, (data, got, expected)


def test_check_crc_a_accepts_good_and_rejects_bad():
    assert check_crc_a(b"\x50\x00\x57\xCD")
    assert not check_crc_a(b"\x50\x00\x57\xCE")
    assert not check_crc_a(b"\x57")


def test_crc_a_takes_memoryview_without_copy():
    data = bytearray(b"\x00\x93\x70\x9E\xF5\x69\x0B\x09")
    assert crc_a(memoryview(data)[1:]) == 0x7F77


def _crc_a_bitwise(data, crc=0x6363):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def _ccitt_bitwise(data, crc=0xFFFF):
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def test_table_driven_crcs_match_the_bitwise_definitions_for_every_byte():
    # every table entry is reached: each byte value from several register states
    for b in range(256):
        for preset in (0x0000, 0x6363, 0xFFFF, 0x1D0F):
            one = bytes((b,))
            assert crc_a(one, preset) == _crc_a_bitwise(one, preset), (b, preset)
            assert crc16_ccitt(one, preset) == _ccitt_bitwise(one, preset), (b, preset)
    data = bytes(range(256)) + b"123456789"
    assert crc_a(data) == _crc_a_bitwise(data)
    assert crc16_ccitt(data) == _ccitt_bitwise(data)
    assert crc16_ccitt(b"123456789") == 0x29B1
