"""The QR module served on a pty: a real serial client (pyserial) reads codes and configures it."""

import serial

from hcterm.emulator.qrscanner import QrScanner, ack_frame, command_frame
from hcterm.sim.ptyserve import PtyPort

CODE = "E1EA526EEFCB84EF4A1704F5EEC0278EDA5CDB591104EBB27234BBE846225063:1::5100A0013"


def test_pyserial_reads_a_scanned_code_and_configures_the_module(tmp_path):
    scanner = QrScanner()
    link = str(tmp_path / "qr")
    with PtyPort(scanner, link=link), serial.Serial(link, 9600, timeout=1.0) as port:
        scanner.scan(CODE)
        assert port.read_until(b"\r") == CODE.encode() + b"\r"
        port.write(command_frame(0x11, b"\x02"))  # SET SUFFIX CRLF
        assert port.read(5) == ack_frame(0x11) == bytes.fromhex("06 01 11 EE")
        port.write(command_frame(0x10, b"\x00"))  # command mode
        assert port.read(4) == ack_frame(0x10)
        scanner.scan("6901234567892")
        port.timeout = 0.1
        assert port.read(1) == b""  # it waits for a trigger: the read times out
        port.timeout = 1.0
        port.write(command_frame(0x01))
        assert port.read(4) == ack_frame(0x01)
        assert port.read_until(b"\r\n") == b"6901234567892\r\n"
