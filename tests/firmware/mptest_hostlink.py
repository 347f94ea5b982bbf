# The host link codec under MicroPython: the vectors of docs/host-link.md, every byte value,
# resynchronisation, CRC errors, maximum payload, no allocation per byte in the decoder.
import gc
import random

from reader import hostlink as H
from reader.crc import crc16_ccitt

FORBIDDEN = (0x01, 0x02, 0x03, 0x04, 0x05, 0x11, 0x13)


def doc_vectors():
    with open("../../docs/host-link.md") as f:
        text = f.read()
    block = text.split("```hostlink-vectors\n")[1].split("```")[0]
    lines = [line for line in block.split("\n") if line.strip()]
    vectors = []
    for i in range(0, len(lines), 2):
        kind, seq, msg, payload = lines[i].split()
        payload = b"" if payload == "-" else bytes.fromhex(payload)
        frame = bytes.fromhex(lines[i + 1].replace(" ", ""))
        vectors.append((getattr(H, kind), int(seq, 16), int(msg, 16), payload, frame))
    return vectors


def test_crc16_check_value():
    assert crc16_ccitt(b"123456789") == 0x29B1


def test_doc_vectors_encode_and_decode():
    vectors = doc_vectors()
    assert len(vectors) == 7
    for kind, seq, msg, payload, frame in vectors:
        assert H.encode(kind, seq, msg, payload) == frame, (kind, seq, msg)
        assert H.Decoder().feed(frame) == [(kind, seq, msg, payload)]


def check_wire(frame):
    assert frame[0] == H.SYNC and frame[-1] == H.SYNC
    for b in frame[1:-1]:
        assert b not in FORBIDDEN and b != H.SYNC, (b, frame)


def test_every_byte_value_alone_and_together():
    dec = H.Decoder()
    for value in range(256):
        payload = bytes((value,))
        frame = H.encode(H.EVENT, value, value, payload)
        check_wire(frame)
        assert dec.feed(frame) == [(H.EVENT, value, value, payload)]
    payload = bytes(range(256)) * 4
    frame = H.encode(H.REQUEST, 0xFF, 0x12, payload)
    check_wire(frame)
    assert dec.feed(frame) == [(H.REQUEST, 0xFF, 0x12, payload)]


def test_random_payloads_round_trip():
    random.seed(7)
    dec = H.Decoder()
    for n in range(200):
        size = random.getrandbits(10)
        payload = bytes(random.getrandbits(8) for _ in range(size))
        frame = H.encode(H.RESPONSE, n & 0xFF, 0x20, payload)
        check_wire(frame)
        assert dec.feed(frame) == [(H.RESPONSE, n & 0xFF, 0x20, payload)]
    assert dec.frames == 200 and dec.crc_errors == 0


def test_resync_after_garbage_and_broken_frames():
    good = H.encode(H.REQUEST, 1, H.INFO, b"{}")
    garbage = b"SELFTEST {\"ok\": true}\r\n>>> \x1b[K~~\x1b\x7e junk \x7e\x00\x7e"
    dec = H.Decoder()
    assert dec.feed(garbage + good) == [(H.REQUEST, 1, H.INFO, b"{}")]
    # a frame cut short, then a good one right behind it
    assert dec.feed(good[:7] + good) == [(H.REQUEST, 1, H.INFO, b"{}")]
    # a raw control byte inside a frame breaks it, the next one is good
    assert dec.feed(good[:5] + b"\x03" + good[5:] + good) == [(H.REQUEST, 1, H.INFO, b"{}")]
    assert dec.bad_frames >= 2 and dec.garbage > 0


def test_crc_errors_are_counted_never_delivered():
    frame = bytearray(H.encode(H.REQUEST, 9, H.CONFIG_SET, b'{"beeper":false}'))
    dec = H.Decoder()
    for i in range(1, len(frame) - 1):
        for bit in (0x01, 0x10, 0x80):
            bad = bytearray(frame)
            bad[i] ^= bit
            got = dec.feed(bad)
            assert got == [], (i, bit, got)
    assert dec.crc_errors > 0
    assert dec.feed(frame) == [(H.REQUEST, 9, H.CONFIG_SET, b'{"beeper":false}')]


def test_max_payload_and_overrun():
    full = bytes(H.MAX_PAYLOAD)
    frame = H.encode(H.EVENT, 1, H.EV_QR, full)
    dec = H.Decoder()
    assert dec.feed(frame) == [(H.EVENT, 1, H.EV_QR, full)]
    try:
        H.encode(H.EVENT, 1, H.EV_QR, full + b"x")
    except ValueError as error:
        assert "over the maximum 1024" in str(error)
    else:
        raise AssertionError("1025 bytes encoded")
    # a peer with a bigger maximum: the frame is dropped, the next one arrives
    big = H.encode(H.EVENT, 2, H.EV_QR, bytes(1500), max_payload=2000)
    assert dec.feed(bytes(big) + frame) == [(H.EVENT, 1, H.EV_QR, full)]
    assert dec.overruns == 1


def test_other_version_is_dropped():
    frame = bytearray(b"\x02\x10\x01\x01\x00\x00")
    crc = crc16_ccitt(frame)
    raw = b"\x7e\x1b\x22" + bytes(frame[1:]).replace(b"\x01", b"\x1b\x21") + \
        bytes((crc >> 8, crc & 0xFF)) + b"\x7e"
    dec = H.Decoder()
    assert dec.feed(raw) == []
    assert dec.bad_version == 1


def test_decoder_allocates_only_to_grow_its_buffer():
    small = H.encode(H.REQUEST, 1, H.INFO, b"{}")[1:-1]       # the bytes between the SYNCs
    big = H.encode(H.EVENT, 3, H.EV_QR, bytes(range(256)) * 4)[1:-1]
    dec = H.Decoder()
    dec.feed_byte(0x7E)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for b in small:
            dec.feed_byte(b)
        assert gc.mem_alloc() == before            # a short frame: nothing allocated
        assert dec.feed_byte(0x7E) and bytes(dec.payload) == b"{}"
        before = gc.mem_alloc()
        for b in big:
            dec.feed_byte(b)
        grown = gc.mem_alloc() - before            # 64 -> 128 -> ... -> 1032: the doublings
        assert 0 < grown < 3400, grown
        assert dec.feed_byte(0x7E)                 # ends it and starts the next frame
    finally:
        gc.enable()
    assert len(dec.payload) == 1024 and bytes(dec.payload) == bytes(range(256)) * 4
    assert len(dec._buf) == 64                     # back to its small size between frames
