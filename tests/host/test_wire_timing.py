"""Wire timing: figures, counters, pacing in real time, a line at the wrong baud."""

import re
import time
from pathlib import Path

import pytest

from hcterm.emulator import wire_timing
from hcterm.emulator.wire_timing import (
    WireTiming,
    card_time,
    classify_apdu,
    frame_bits,
    garble,
    rf_frame_time,
    t0_baud,
)


def test_uart_floor_is_ten_bits_a_byte():
    model = WireTiming()
    assert model.floor("qr", 200) == pytest.approx(200 * 10 / 9600)  # 208.3 ms
    assert model.floor("pn532", 1) == pytest.approx(10 / 115200)
    model.set_baud("qr", 115200)
    assert model.floor("qr", 200) == pytest.approx(200 * 10 / 115200)


def test_sam_t0_character_is_12_etu():
    model = WireTiming()
    assert t0_baud(3_571_200, 372, 1) == 9600
    assert t0_baud(3_571_200, 372, 12) == 115200
    assert model.char_time("sam") == pytest.approx(0.00125)  # 12 etu of 104.17 us
    model.set_fidi("sam", 372, 12)
    assert model.char_time("sam") == pytest.approx(12 / 115200)
    model.set_fidi("sam", 372, 1, extra_guard=2)  # TC1 = 2: 14 etu a character
    assert model.char_time("sam") == pytest.approx(14 / 9600)


def test_rf_frames_and_exchange():
    bit = 128 / 13_560_000
    assert rf_frame_time(7) == pytest.approx((7 * 9 + 2) * bit)
    model = WireTiming()
    assert model.floor("rf", 7) == pytest.approx(rf_frame_time(7))
    assert model.floor("rf", 0) == 0.0
    fdt = 1172 / 13_560_000
    assert fdt == pytest.approx(86.43e-6, rel=1e-3)
    total = model.rf_exchange_time(9, 4, processing=0.002)
    assert total == pytest.approx(rf_frame_time(9) + fdt + 0.002 + rf_frame_time(4) + fdt)


def test_card_processing_classes():
    assert classify_apdu(bytes.fromhex("00A4000002DDF1")) == "select"
    assert classify_apdu(bytes.fromhex("00B2080014")) == "read_record"
    assert classify_apdu(bytes.fromhex("00B0000080")) == "read_binary"
    assert classify_apdu(bytes.fromhex("0084000008")) == "get_challenge"
    assert classify_apdu(bytes.fromhex("0082000411")) == "external_authenticate"
    assert classify_apdu(bytes.fromhex("04DC010414")) == "update_crypto"
    assert classify_apdu(bytes.fromhex("00D6000080")) == "update_plain"
    assert classify_apdu(bytes.fromhex("80DE473118")) == "sam_diversify"
    assert classify_apdu(bytes.fromhex("80FA000010")) == "sam_encrypt"
    assert classify_apdu(bytes.fromhex("80FA050030")) == "sam_mac"
    assert classify_apdu(b"\x00") == "other"
    assert card_time("read_binary", 128) == pytest.approx(0.001 + 128 * 0.00001)
    assert card_time("no-such-class") == card_time("other")
    for name, (fixed, _per_byte) in wire_timing.CARD_TIMES.items():
        assert 0 < fixed <= 0.012, name  # "a few ms each"


def test_counters_count_bytes_round_trips_and_modeled_time():
    model = WireTiming()
    model.pace("sam", 5, "rx")
    model.pace("sam", 3, "tx")
    model.wait("sam", 0.004)
    model.round_trip("sam")
    c = model.counters("sam")
    assert (c.tx_bytes, c.rx_bytes, c.round_trips) == (3, 5, 1)
    assert c.modeled_s == pytest.approx(8 * 0.00125 + 0.004)
    model.reset_counters()
    assert model.counters("sam").tx_bytes == 0


def test_unknown_wire_names_the_known_ones():
    with pytest.raises(KeyError, match="add_uart.*known: host, pn532, qr, rf, sam"):
        WireTiming().floor("sam2", 1)


def test_floor_never_sleeps_and_pace_is_instant_without_pacing():
    model = WireTiming()
    start = time.monotonic()
    model.floor("qr", 100_000)
    assert model.pace("qr", 200) == pytest.approx(0.2083, rel=1e-3)
    assert time.monotonic() - start < 0.05


def test_pace_sleeps_the_modeled_time_200_bytes_at_9600():
    model = WireTiming(pacing=True)
    start = time.monotonic()
    model.pace("qr", 200)
    elapsed = time.monotonic() - start
    assert elapsed == pytest.approx(0.2083, rel=0.15)


def test_pace_byte_by_byte_adds_up_without_drift():
    model = WireTiming(pacing=True)
    start = time.monotonic()
    for _ in range(200):
        model.pace("qr", 1)
    assert time.monotonic() - start == pytest.approx(0.2083, rel=0.15)


def test_pace_uses_the_injected_clock():
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    model = WireTiming(pacing=True, clock=lambda: now[0], sleep=sleep)
    model.pace("sam", 2)  # 2.5 ms
    model.pace("sam", 2)
    assert slept == pytest.approx([0.0025, 0.0025])


def test_frame_bits_are_lsb_first():
    assert frame_bits(0x01) == [0, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert frame_bits(0x03, parity=True, stop_bits=2) == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1]


def test_garble_same_rate_is_identity():
    data = bytes(range(256))
    assert garble(data, 9600, 9600) == data


def test_garble_is_deterministic_and_not_the_data():
    data = bytes.fromhex("3B9F958131FE9F006546")
    fast = garble(data, 9600, 115200)
    slow = garble(data, 115200, 9600)
    assert fast == garble(data, 9600, 115200)
    assert fast != data and slow != data
    # a 12x faster receiver sees each sender bit as 12 samples: many more bytes, mostly 00/FF
    assert len(fast) > len(data)
    assert len(slow) < len(data)


def test_garble_golden_bytes():
    # 0x55 sent at 9600 (line 0 1010101 0 1) read by a 19200 receiver: it samples every half
    # sender bit, so it decodes 66, then the tail of the same character as E6.
    assert garble(b"\x55", 9600, 19200) == bytes.fromhex("66E6")
    # 0x00 at 9600 read at 4800: the low line covers start + 3 slow bits, then the stop bit.
    assert garble(b"\x00", 9600, 4800) == bytes.fromhex("F8")


# -- docs/wire-timing.md vectors ------------------------------------------------------------------
DOC = Path(__file__).resolve().parents[2] / "docs" / "wire-timing.md"


def doc_vectors():
    block = re.search(r"```wire-vectors\n(.*?)```", DOC.read_text(), re.DOTALL).group(1)
    return [pytest.param(line, id=line.split(" =")[0]) for line in block.splitlines()]


def modeled_ms(expr):
    model = WireTiming()
    words = expr.split()
    if words[0] == "floor":
        return model.floor(words[1], int(words[2])) * 1e3
    if words[0] == "char":
        fi, di = map(int, words[2].split("/"))
        model.set_fidi(words[1], fi, di)
        return model.char_time(words[1]) * 1e3
    if words[0] == "exchange":
        _, _, cmd, resp, kind, nbytes = words
        return model.rf_exchange_time(int(cmd), int(resp), card_time(kind, int(nbytes))) * 1e3
    if words[0] == "card":
        terms = " ".join(words[1:]).split(" + ")
        return sum(card_time(t.split()[0], int(t.split()[1])) for t in terms) * 1e3
    raise AssertionError(f"unknown vector {expr!r}")


def test_doc_has_vectors():
    assert len(doc_vectors()) == 10


@pytest.mark.parametrize("line", doc_vectors())
def test_doc_vector(line):
    expr, value = line.split(" = ")
    assert modeled_ms(expr) == pytest.approx(float(value.removesuffix(" ms")), rel=1e-4)
