"""The SAM slot served on a pty: a real serial client (pyserial) resets it and talks T=0."""

import serial

from hcterm.emulator.samslot import SamSlot
from hcterm.sim.ptyserve import PtyPort

ATR = bytes.fromhex("3B 16 18 48 43 53 41 4D 31")
SERIAL = bytes.fromhex("0102030405060708090A 01 02 03 6F")


class TinySam:
    atr = ATR

    def process(self, apdu):
        if apdu == bytes.fromhex("00B000000E"):
            return SERIAL + b"\x90\x00"
        return b"\x6D\x00"


def test_pyserial_reads_atr_pps_and_an_apdu(tmp_path):
    slot = SamSlot(TinySam())
    link = str(tmp_path / "sam")
    with PtyPort(slot, link=link), serial.Serial(link, 9600, timeout=1.0) as port:
        slot.reset()  # a pty has no RST line
        assert port.read(len(ATR)) == ATR
        port.write(bytes.fromhex("FF1018F7"))
        assert port.read(4) == bytes.fromhex("FF1018F7")
        port.baudrate = 115200  # the pty does not carry it; the slot does not garble then
        port.write(bytes.fromhex("00B000000E"))
        assert port.read(17) == b"\xB0" + SERIAL + b"\x90\x00"
        port.write(bytes.fromhex("0044000000"))
        assert port.read(2) == b"\x6D\x00"
        slot.reset()
        assert port.read(len(ATR)) == ATR
        assert slot.baudrate == 9600
