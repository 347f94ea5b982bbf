"""The emulated PN532 on SPI: DW/SR/DR, LSB first on the wire, the IRQ line."""

from hcterm.emulator.pn532_spi import Pn532Spi, lsb_first
from hcterm.emulator.rf14443 import Picc

ACK = bytes.fromhex("0000FF00FF00")
ATS = bytes.fromhex("0B788090028073C8211000")


def frame(hex_body):
    body = bytes.fromhex(hex_body.replace(" ", ""))
    return bytes([0, 0, 0xFF, len(body), (0x100 - len(body)) & 0xFF]) + body + bytes(
        [(0x100 - sum(body)) & 0xFF, 0])


class StandInCard:
    uid = bytes.fromhex("04A1B2C3")
    ats = ATS

    def power_on(self):
        pass

    def process(self, apdu):
        return apdu[:4] + b"\x90\x00"


class SpiHost:
    """What an MSB-first SPI peripheral sees: every byte bit-reversed on the wire."""

    def __init__(self, chip):
        self.chip = chip

    def window(self, mosi):
        self.chip.on_select(True)
        miso = self.chip.transfer(bytes(mosi))
        self.chip.on_select(False)
        return miso

    def write(self, frame_bytes):
        return self.window(lsb_first(b"\x01" + frame_bytes))

    def status(self):
        return lsb_first(self.window(lsb_first(b"\x02\x00")))[1]

    def read(self, n):
        return lsb_first(self.window(lsb_first(b"\x03" + bytes(n))))[1:]


def test_get_firmware_version_over_spi_with_irq():
    chip = Pn532Spi()
    host = SpiHost(chip)
    assert chip.lines["irq"] == 1 and host.status() == 0x00
    # On the wire: DW 0x01 goes out as 0x80, the preamble 00 00 FF as 00 00 FF ...
    assert lsb_first(b"\x01\x00\x00\xFF\x02\xFE\xD4\x02\x2A\x00") == bytes.fromhex(
        "800000FF407F2B405400")
    host.write(frame("D41401"))
    assert chip.lines["irq"] == 0 and host.status() == 0x01
    assert host.window(bytes.fromhex("4000")) == bytes.fromhex("0080")  # SR on the wire
    assert host.read(6) == ACK
    assert host.read(9) == frame("D515")
    assert chip.lines["irq"] == 1 and host.status() == 0x00
    host.write(frame("D402"))
    assert host.read(6) == ACK
    assert host.read(13) == frame("D50332010607")


def test_response_read_in_two_dr_windows_and_extra_bytes_are_zero():
    chip = Pn532Spi()
    chip.field.insert(Picc(StandInCard()))
    host = SpiHost(chip)
    host.write(frame("D41401"))
    host.read(6)
    host.read(9)
    host.write(frame("D44A0100"))
    assert host.read(6) == ACK
    expected = frame("D54B 01 01 0004 20 04 04A1B2C3" + ATS.hex())
    assert host.read(5) == expected[:5]  # header first: LEN tells the rest
    assert host.read(len(expected) - 5 + 2) == expected[5:] + b"\x00\x00"
    assert chip.lines["irq"] == 1


def test_in_data_exchange_over_spi():
    chip = Pn532Spi()
    chip.field.insert(Picc(StandInCard()))
    host = SpiHost(chip)
    for command in ("D41401", "D44A0100"):
        host.write(frame(command))
        host.read(6)
        host.read(64)
    host.write(frame("D44001" + "00A4000002DDF1"))
    assert host.read(6) == ACK
    expected = frame("D541 00 00A40000 9000")
    assert host.read(len(expected)) == expected
