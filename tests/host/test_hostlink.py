"""The host link codec in CPython: the vectors of docs/host-link.md, every byte value, random
payloads, resynchronisation, CRC errors, maximum payload, and a fuzz run of both decoders."""

import random
import re
from pathlib import Path

import pytest

from hcterm.link.fuzz import decode_in_chunks, decode_on_micropython, digest, fuzz_stream
from reader import hostlink as H
from reader.crc import crc16_ccitt

DOC = Path(__file__).resolve().parents[2] / "docs" / "host-link.md"
FORBIDDEN = {0x01, 0x02, 0x03, 0x04, 0x05, 0x11, 0x13}


def doc_vectors():
    block = re.search(r"```hostlink-vectors\n(.*?)```", DOC.read_text(), re.S).group(1)
    lines = [line for line in block.splitlines() if line.strip()]
    for head, frame in zip(lines[::2], lines[1::2]):
        kind, seq, msg, payload = head.split()
        yield (getattr(H, kind), int(seq, 16), int(msg, 16),
               b"" if payload == "-" else bytes.fromhex(payload), bytes.fromhex(frame))


def assert_clean(frame):
    assert frame[0] == H.SYNC and frame[-1] == H.SYNC
    inner = set(frame[1:-1])
    assert not inner & FORBIDDEN and H.SYNC not in inner, frame.hex(" ")


def test_crc16_ccitt_check_value():
    assert crc16_ccitt(b"123456789") == 0x29B1
    assert crc16_ccitt(b"6789", crc16_ccitt(b"12345")) == 0x29B1


@pytest.mark.parametrize("vector", list(doc_vectors()), ids=lambda v: f"{v[0]:02X}-{v[1]:02X}")
def test_doc_vector(vector):
    kind, seq, msg, payload, frame = vector
    assert H.encode(kind, seq, msg, payload) == frame
    assert H.Decoder().feed(frame) == [(kind, seq, msg, payload)]


def test_doc_has_all_seven_vectors_and_the_info_request_reads_as_documented():
    vectors = list(doc_vectors())
    assert len(vectors) == 7
    assert vectors[1][4] == bytes.fromhex("7E 1B21 10 1B25 1B21 00 1B22 7B 7D BD 3F 7E")


def test_every_byte_value_is_carried_and_control_bytes_never_appear():
    dec = H.Decoder()
    for value in range(256):
        frame = H.encode(H.EVENT, value, value, bytes([value]) * 3)
        assert_clean(frame)
        assert dec.feed(frame) == [(H.EVENT, value, value, bytes([value]) * 3)]
    everything = bytes(range(256)) * 4
    frame = H.encode(H.RESPONSE, 0x7E, 0x03, everything)
    assert_clean(frame)
    # 9 escaped values x4 in the payload; VER 01, SEQ 7E, MSG 03, LEN_HI 04 escaped too
    assert len(frame) == 2 + 8 + 1024 + 9 * 4 + 4
    assert dec.feed(frame) == [(H.RESPONSE, 0x7E, 0x03, everything)]


def test_random_payloads_round_trip_in_random_chunks():
    rng = random.Random(11)
    frames = [(rng.choice(list(H.KINDS)), rng.randrange(256), rng.randrange(256),
               rng.randbytes(rng.randrange(H.MAX_PAYLOAD + 1))) for _ in range(300)]
    stream = b"".join(H.encode(*f) for f in frames)
    for f in frames:
        assert_clean(H.encode(*f))
    dec, got, at = H.Decoder(), [], 0
    while at < len(stream):
        n = rng.randrange(1, 700)
        got += dec.feed(stream[at:at + n])
        at += n
    assert got == frames


def test_resync_after_garbage_repl_text_and_broken_frames():
    good = H.encode(H.REQUEST, 2, H.INFO, b"{}")
    dec = H.Decoder()
    noise = b'SELFTEST {"ok": true}\r\nMicroPython v1.29\r\n>>> \x1b[K raw REPL; CTRL-B\r\n>OK'
    assert dec.feed(noise + good) == [(H.REQUEST, 2, H.INFO, b"{}")]
    assert dec.garbage == len(noise)
    # a frame whose closing SYNC was lost ends at the next frame's opening one
    assert dec.feed(good[:-1] + good) == [(H.REQUEST, 2, H.INFO, b"{}")] * 2
    for broken in (good[:6], good[:4] + b"\x1b\x00" + good[4:],
                   good[:4] + b"\x04" + good[4:], b"\x7e" + bytes(3000)):
        assert dec.feed(broken + good) == [(H.REQUEST, 2, H.INFO, b"{}")], broken[:12]
    c = dec.counters()
    assert c["overruns"] == 1 and c["bad_frames"] >= 3 and c["frames"] == 7


def test_every_single_bit_error_is_caught():
    frame = H.encode(H.REQUEST, 0x30, H.APDU, b'{"slot":"card","apdu":"0084000008"}')
    dec = H.Decoder()
    for bit in range(8, 8 * (len(frame) - 1)):
        bad = bytearray(frame)
        bad[bit >> 3] ^= 1 << (bit & 7)
        assert dec.feed(bytes(bad)) == [], bit
    assert dec.crc_errors > 0 and dec.frames == 0


def test_max_payload():
    assert H.Decoder().feed(H.encode(H.EVENT, 1, H.EV_QR, b"q" * 1024))[0][3] == b"q" * 1024
    with pytest.raises(ValueError, match="payload of 1025 bytes is over the maximum 1024"):
        H.encode(H.EVENT, 1, H.EV_QR, b"q" * 1025)


def test_sequence_numbers_are_one_byte():
    assert H.Decoder().feed(H.encode(H.REQUEST, 0x100 + 5, H.INFO))[0][1] == 5


def test_slot_names_and_national_numbers():
    assert [H.slot_name(s) for s in (1, 0x11, 0x14, "SAM2", "card")] == \
        ["card", "sam1", "sam4", "sam2", "card"]
    with pytest.raises(ValueError, match="unknown slot 5"):
        H.slot_name(5)


def test_fuzz_both_decoders_deliver_exactly_the_good_frames(tmp_path):
    stream, expected = fuzz_stream(5000, seed=5)
    got, counters, _ = decode_in_chunks(stream, seed=6)
    assert got == expected
    assert counters["crc_errors"] > 0 and counters["bad_frames"] > 0
    count, sha, _ = decode_on_micropython(stream, tmp_path)
    assert (count, sha) == (len(expected), digest(expected))


def test_bench_link_fuzz_command():
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "hcterm.cli", "bench", "link-fuzz", "--json",
                          "--frames", "2000", "--requests", "0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["ok"] is True and result["frames"] == 2000
    assert result["host"]["exact"] and result["firmware"]["exact"]
    assert result["host"]["decoded"] == result["firmware"]["decoded"] == result["good_frames"]
