# PN532 over SPI: DW/SR/DR operations, CS framing, IRQ pin, software LSB-first.
from fake_buses import ACK, CMD, RSP, FakePN532SPI, h

from reader.chips.pn532 import NO_ACK, PN532Error
from reader.chips.pn532_spi import PN532_SPI, reverse_bits, reverse_table

SAMCONF = CMD("14 01 14 01")


def spi_chip(wire_reversed=False, use_irq=False, soft_lsb=False):
    bus = FakePN532SPI(wire_reversed)
    bus.expect(SAMCONF, ACK() + RSP("15"))
    drv = PN532_SPI(bus, bus.cs, bus.irq if use_irq else None, soft_lsb=soft_lsb)
    drv.response_timeout_ms = 30
    return drv, bus


def test_reverse_table():
    REVERSE = reverse_table()
    assert REVERSE[0x01] == 0x80 and REVERSE[0x02] == 0x40 and REVERSE[0xD4] == 0x2B
    buf = bytearray(b"\x01\x03\xff")
    reverse_bits(buf, 2)
    assert buf == b"\x80\xc0\xff"
    for b in range(256):
        assert REVERSE[REVERSE[b]] == b


def test_firmware_version_with_status_polling():
    drv, bus = spi_chip()
    bus.expect(CMD("02"), ACK() + RSP("03 32 01 06 07"))
    assert drv.firmware_version() == (0x32, 1, 6, 7)
    bus.done()
    # every command: DW, then SR polls, DR for the ACK, SR polls, DR for the response
    assert bus.ops[-5:] == [0x01, 0x02, 0x03, 0x02, 0x03]
    assert bus.cs.value() == 1


def test_irq_pin_replaces_status_polling():
    drv, bus = spi_chip(use_irq=True)
    bus.expect(CMD("02"), ACK() + RSP("03 32 01 06 07"))
    drv.firmware_version()
    assert bus.status_reads == 0 and 0x02 not in bus.ops


def test_msb_only_bus_with_software_bit_reversal():
    drv, bus = spi_chip(wire_reversed=True, soft_lsb=True)
    bus.expect(CMD("4A 01 00"), ACK() + RSP("4B 01 01 00 04 08 04 01 02 03 04"))
    t = drv.list_passive_target()
    assert t.uid == h("01 02 03 04") and t.sak == 0x08
    bus.done()


def test_data_exchange_extended_over_spi():
    apdu = bytes(range(255)) + bytes(6)
    answer = bytes(258) + h("90 00")
    drv, bus = spi_chip()
    bus.expect(CMD(b"\x40\x01" + apdu), ACK() + RSP(b"\x41\x00" + answer))
    out = bytearray(400)
    n = drv.data_exchange(1, apdu, out)
    assert bytes(out[:n]) == answer


def test_silent_spi_chip_raises_no_ack():
    drv, bus = spi_chip()
    bus.expect(CMD("02"), b"").expect(SAMCONF, b"")
    try:
        drv.firmware_version()
    except PN532Error as e:
        assert e.code == NO_ACK
    else:
        raise AssertionError("silent chip not reported")
    assert drv.recoveries == 1
