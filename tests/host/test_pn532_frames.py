"""PN532 frame builders and parser: the frame samples of the PN532 user manual (UM0701-02),
byte for byte."""

from hcterm.emulator.pn532_frames import (
    ACK,
    ERROR_FRAME,
    NACK,
    FrameParser,
    build_command,
    build_frame,
    build_response,
)


def frame(hex_body):
    """Golden normal frame computed here: 00 00 FF LEN LCS body DCS 00."""
    body = bytes.fromhex(hex_body)
    return bytes([0, 0, 0xFF, len(body), (0x100 - len(body)) & 0xFF]) + body + bytes(
        [(0x100 - sum(body)) & 0xFF, 0])


def test_samples_of_the_chip_notes():
    assert build_command(bytes.fromhex("02")) == bytes.fromhex("0000FF02FED4022A00")
    assert build_response(bytes.fromhex("0332010607")) == bytes.fromhex(
        "0000FF06FAD50332010607E800")
    assert build_command(bytes.fromhex("4A0100")) == bytes.fromhex("0000FF04FCD44A0100E100")
    assert ACK == bytes.fromhex("0000FF00FF00")
    assert NACK == bytes.fromhex("0000FFFF0000")
    assert ERROR_FRAME == bytes.fromhex("0000FF01FF7F8100")


def test_golden_helper_agrees_with_builder():
    assert build_frame(bytes.fromhex("D44A0100")) == frame("D44A0100")


def test_extended_frame_above_255_bytes():
    body = bytes([0xD5, 0x41, 0x00]) + bytes(range(256))
    out = build_frame(body)
    n = len(body)  # 259 = 0x0103
    assert out[:8] == bytes([0, 0, 0xFF, 0xFF, 0xFF, 0x01, 0x03, (0x100 - 0x04) & 0xFF])
    assert out[8:-2] == body
    assert (sum(body) + out[-2]) & 0xFF == 0 and out[-1] == 0
    assert len(out) == n + 10


def test_extended_command_form_for_short_data():
    assert build_command(b"\x02", extended=True) == bytes.fromhex("0000FFFFFF0002FED4022A00")


def test_parser_events_with_preamble_noise_and_split_bytes():
    parser = FrameParser()
    stream = b"\x55\x55" + bytes(14) + frame("D41401") + ACK + NACK + b"\x12\x34" + frame("D402")
    events = []
    for i in range(len(stream)):  # one byte at a time
        events += parser.feed(stream[i : i + 1])
    assert [e[0] for e in events] == ["frame", "ack", "nack", "frame"]
    assert events[0][1] == bytes.fromhex("D41401")
    assert events[0][2] == 17  # 55 55 + 14 x 00 + the preamble 00
    assert events[3][1] == bytes.fromhex("D402")


def test_parser_reports_checksum_errors():
    bad_lcs = bytes.fromhex("0000FF02FFD4022A00")
    bad_dcs = bytes.fromhex("0000FF02FED4022B00")
    assert FrameParser().feed(bad_lcs)[0][:2] == ("error", "length checksum")
    assert FrameParser().feed(bad_dcs)[0][:2] == ("error", "data checksum")


def test_parser_reads_extended_frames():
    body = b"\xD4\x00\x00" + bytes(259)
    out = FrameParser().feed(build_frame(body))
    assert out[0][:2] == ("frame", body)
