"""CRC helpers shared by the firmware and the host tools.

CRC_A (ISO/IEC 14443-3 Annex B): preset 0x6363, reflected polynomial 0x8408, no final
XOR, sent least significant byte first.
"""

from micropython import const

_CRC_A_PRESET = const(0x6363)
_POLY_REFLECTED = const(0x8408)


def _make_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc_a(data, crc=_CRC_A_PRESET):
    """Return the CRC_A of `data` (any buffer) as an int (low byte goes first on the wire)."""
    table = _TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


def crc_a_bytes(data):
    """Return the two CRC_A bytes of `data` in wire order (LSB first)."""
    crc = crc_a(data)
    return bytes((crc & 0xFF, crc >> 8))


def check_crc_a(frame):
    """True when the last two bytes of `frame` are the CRC_A of the bytes before them."""
    n = len(frame)
    if n < 3:
        return False
    crc = crc_a(memoryview(frame)[: n - 2])
    return frame[n - 2] == (crc & 0xFF) and frame[n - 1] == (crc >> 8)


# CRC-16/CCITT-FALSE (the host link's frame check, docs/host-link.md): polynomial 0x1021
# not reflected, preset 0xFFFF, no final XOR, sent most significant byte first.
# Check value: crc16_ccitt(b"123456789") == 0x29B1.
_CCITT_PRESET = const(0xFFFF)
_CCITT_POLY = const(0x1021)


def _make_ccitt_table():
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _CCITT_POLY) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return tuple(table)


_CCITT_TABLE = _make_ccitt_table()


def crc16_ccitt(data, crc=_CCITT_PRESET):
    """Return the CRC-16/CCITT-FALSE of `data` (any buffer); pass `crc` to continue one."""
    table = _CCITT_TABLE
    for b in data:
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ b]
    return crc
