# CRC_A against the vectors of ISO/IEC 14443-3 quoted in shared/domain/nfc-chips.md.
from reader.crc import check_crc_a, crc_a, crc_a_bytes


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
