"""The QR scanner module: docs/qr-scanner.md examples byte for byte, modes, suffixes, samples."""

import ast
import json
import re
import time
from importlib import resources
from pathlib import Path

import pytest
from support.board_wire import Wire

from hcterm.emulator.qrscanner import (
    CMD_GET_VERSION,
    CMD_SET_SUFFIX,
    QrScanner,
    ack_frame,
    command_frame,
    nak_frame,
    split_frames,
)
from hcterm.emulator.wire_timing import WireTiming, garble

DOC = Path(__file__).resolve().parents[2] / "docs" / "qr-scanner.md"


def parse_expected(rest):
    rest = rest.strip()
    cut = min([i for i in (rest.find('b"'), rest.find("b'")) if i >= 0], default=len(rest))
    out = bytes.fromhex(rest[:cut])
    if cut < len(rest):
        out += ast.literal_eval(rest[cut:])
    return out


def doc_examples():
    blocks = re.findall(r"```qr-example\n(.*?)```", DOC.read_text(), re.DOTALL)
    return [pytest.param(block, id=f"example{i}") for i, block in enumerate(blocks)]


def test_the_doc_has_examples():
    assert len(doc_examples()) == 8


@pytest.mark.parametrize("block", doc_examples())
def test_doc_example(block):
    scanner = QrScanner(scan_timeout=0.05)
    wire = Wire(scanner)
    for line in block.splitlines():
        if line.startswith(">"):
            scanner.on_receive(bytes.fromhex(line[1:]))
        elif line.startswith("<"):
            expected = parse_expected(line[1:])
            got = wire.read(len(expected)) if expected else b""
            assert got + wire.read_all() == expected, line
        elif line.startswith("scan "):
            scanner.scan(line[5:])
        elif line == "wait-scan-timeout":
            wire.wait(1, timeout=1.0)
        else:
            raise AssertionError(f"unknown example line {line!r}")
    assert wire.read_all(settle=0.08) == b""


def test_frames_are_pure_functions():
    assert command_frame(CMD_SET_SUFFIX, b"\x02") == bytes.fromhex("7E 02 11 02 EB")
    assert ack_frame(CMD_GET_VERSION, b"AB") == bytes.fromhex("06 03 20 41 42 5A")
    assert nak_frame(0x01, 0x04) == bytes.fromhex("15 02 01 04 F9")
    buf = bytearray.fromhex("00 7E 01 20 DF 7E 02 11")
    assert split_frames(buf) == ([(0x20, b"", True)], 5)
    assert split_frames(bytearray.fromhex("7E 00 7E 01 20 00")) == ([(0x20, b"", False)], 6)


def test_frames_split_anywhere():
    scanner = QrScanner()
    wire = Wire(scanner)
    for b in command_frame(CMD_GET_VERSION):
        scanner.on_receive(bytes((b,)))
    assert wire.read(16) == ack_frame(CMD_GET_VERSION, b"HCQR-EMU 1.0")


@pytest.mark.parametrize("name, suffix", [
    ("none", b""), ("CR", b"\r"), ("CRLF", b"\r\n"), ("LF", b"\n"), ("TAB", b"\t")])
def test_set_suffix_by_name(name, suffix):
    scanner = QrScanner()
    wire = Wire(scanner)
    scanner.set_suffix(name)
    assert scanner.scan("6901234567892") is True
    assert wire.read(13 + len(suffix)) == b"6901234567892" + suffix


def test_command_mode_scan_waits_for_trigger():
    scanner = QrScanner()
    wire = Wire(scanner)
    scanner.on_receive(command_frame(0x10, b"\x00"))
    wire.read(4)
    assert scanner.scan("A") is False
    assert scanner.scan("B") is False  # the latest code in view wins
    assert wire.read(1, timeout=0.05) == b""
    scanner.on_receive(command_frame(0x01))
    assert wire.read(6) == ack_frame(0x01) + b"B\r"


def test_wrong_baud_garbles_both_ways():
    scanner = QrScanner()
    wire = Wire(scanner)
    scanner.on_host_baudrate(115200)
    scanner.scan("6901234567892")
    assert wire.read_all() == garble(b"6901234567892\r", 9600, 115200)
    scanner.on_receive(command_frame(CMD_GET_VERSION))  # arrives as garbage: no valid frame
    assert wire.read(1, timeout=0.05) == b""
    scanner.on_host_baudrate(9600)
    scanner.on_receive(command_frame(0x12, b"\x04"))
    assert wire.read(4) == ack_frame(0x12)
    scanner.scan("X")  # module now at 115200, the board still at 9600
    assert wire.read_all() == garble(b"X\r", 115200, 9600)
    scanner.on_host_baudrate(115200)
    scanner.scan("X")
    assert wire.read(2) == b"X\r"


def test_pacing_at_9600():
    model = WireTiming(pacing=True)
    scanner = QrScanner(model=model)
    wire = Wire(scanner)
    text = "B143024C8AEB63C9DF702D8DCBCF4FE645BE42DB199516DBDF09A2E86915C0D1:1:20991231235959"
    start = time.monotonic()
    scanner.scan(text)
    elapsed = time.monotonic() - start
    assert wire.read(len(text) + 1) == text.encode() + b"\r"
    assert elapsed == pytest.approx((len(text) + 1) * 10 / 9600, rel=0.15)  # 84 ms
    assert model.counters("qr").tx_bytes == len(text) + 1


# -- samples --------------------------------------------------------------------------------
def load_samples():
    text = resources.files("hcterm.emulator").joinpath("qr_samples.json").read_text()
    return json.loads(text)["samples"]


HEALTH = re.compile(r"^(?P<id>[0-9A-F]{64}):(?P<type>\d)"
                    r"(?::(?P<validity>\d{14})?(?::(?P<issuer>[0-9A-Z]+))?)?$")


def test_samples_cover_every_form_with_a_conclusion():
    samples = load_samples()
    kinds = {s["kind"] for s in samples}
    assert kinds == {"health-static", "health-dynamic", "health-regional", "malformed-health",
                     "not-health"}
    for sample in samples:
        assert len(sample["conclusion"]) > 30, sample["name"]
        match = HEALTH.match(sample["text"])
        if sample["kind"].startswith("health-"):
            fields = {k: v for k, v in match.groupdict().items() if v is not None}
            if sample["kind"] == "health-regional":
                fields.setdefault("validity", "")
            assert fields == sample["fields"], sample["name"]
        else:
            assert match is None, sample["name"]


def test_sample_forms_exactly():
    by_name = {s["name"]: s["text"] for s in load_samples()}
    assert by_name["static"].endswith(":1") and len(by_name["static"]) == 66
    assert by_name["regional"].endswith(":1::5100A0013")
    assert HEALTH.match(by_name["dynamic-expired"])["validity"] == "20200101080000"
    ean = by_name["product-ean13"]
    weights = [1, 3] * 6
    assert (10 - sum(int(c) * w for c, w in zip(ean[:12], weights)) % 10) % 10 == int(ean[12])


def test_every_sample_scans_byte_exact():
    scanner = QrScanner()
    wire = Wire(scanner)
    for sample in load_samples():
        scanner.scan(sample["text"])
        expected = sample["text"].encode() + b"\r"
        assert wire.read(len(expected)) == expected
