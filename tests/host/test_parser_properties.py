"""Property-based tests (Hypothesis) of the shared parsers, on CPython: the host link codec,
the ATS parser, the SAM's ATR parser (and the rate chosen from it), the health card's `tag len
value` records and record codecs, the QR code parser, blacklist keys and lists. Each parser
takes any bytes and either returns its value or raises its own error, never anything else;
round trips hold. The examples Hypothesis drew are then replayed under MicroPython (the
firmware's own modules), which must give the same outcome for each (the outcome lines:
tests/support/parser_outcomes.py, run on both sides)."""

import datetime
import json
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.parser_outcomes import atr_outcome, cyclic_outcome, outcome, record_outcome, show

from hcterm import blacklist_files as bf
from hcterm.mpy import FIRMWARE_DIR, run_micropython
from reader import hostlink
from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr
from reader.cards.qrcode import parse_qr
from reader.chips.sam_activation import DI, FI, atr_need, choose_fidi, parse_atr
from reader.chips.sam_slot import SAMError
from reader.protocols.iso14443_4 import parse_ats
from reader.terminal import blacklist as bl

TESTS_DIR = Path(__file__).resolve().parent.parent
FAST = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
# replayed under MicroPython at the end
DRAWN = {"ats": [], "qr": [], "id": [], "atr": [], "record": [], "cyclic": []}


@FAST
@given(st.binary(max_size=40))
def test_ats_parser_returns_an_ats_or_its_error(data):
    DRAWN["ats"].append(data.hex())
    outcome(parse_ats, data)


@FAST
@given(st.one_of(st.binary(max_size=120), st.builds(
    lambda h, rest: (h + rest).encode(), st.text("0123456789ABCDEFabcdef", min_size=60,
                                                 max_size=70), st.text(max_size=40))))
def test_qr_parser_returns_fields_or_its_error(data):
    DRAWN["qr"].append(data.hex())
    outcome(parse_qr, data)


@FAST
@given(st.integers(0, 999999), st.dates(min_value=datetime.date(1000, 1, 1)),
       st.integers(0, 999))
def test_every_valid_id_number_has_one_key_and_back(region, day, seq):
    from reader.cards.idnumber import check_character

    first = f"{region:06d}{day:%Y%m%d}{seq:03d}"
    id18 = first + check_character(first)
    if day.year < 1850 or day.year > 2149:
        try:
            bl.key(id18)
        except bl.BlacklistError:
            return
        raise AssertionError(f"{id18}: a birth year outside the key's range was accepted")
    k = bl.key(id18)
    assert bf.id_number(k) == id18 and k < 1 << 47
    DRAWN["id"].append(id18)


@FAST
@given(st.text(max_size=18 * 4 + 10))
def test_a_list_of_anything_is_entries_or_a_list_error(text):
    try:
        entries = bf.read_list(text)
    except bf.ListError as error:
        assert "bad lines" in str(error)
    else:
        assert entries.keys == sorted(set(entries.keys))


@FAST
@given(st.lists(st.tuples(st.sampled_from(sorted(hostlink.KINDS)), st.integers(0, 255),
                          st.integers(0, 255), st.binary(max_size=200)), max_size=8),
       st.binary(max_size=64))
def test_the_link_decoder_finds_every_frame_in_any_noise_around_them(frames, noise):
    stream = bytearray()
    for kind, seq, msg, payload in frames:
        stream += noise + hostlink.encode(kind, seq, msg, payload)
    decoder = hostlink.Decoder()
    got = decoder.feed(bytes(stream))
    assert [tuple(g) for g in got][-len(frames):] == frames or not frames


@st.composite
def _atrs(draw):
    """An ATR built by ISO/IEC 7816-3's structure (TS, T0, interface levels chained by TD,
    historical bytes, TCK when a protocol other than T=0 is offered), then maybe damaged:
    a wrong TCK, a byte missing or one too many, a wrong TS."""
    levels = draw(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 15)), max_size=4))
    historical = draw(st.binary(max_size=15))
    ys = [mask | (8 if j + 1 < len(levels) else 0) for j, (mask, _) in enumerate(levels)]
    atr = bytearray((draw(st.sampled_from((0x3B, 0x3F))), (ys[0] if ys else 0) << 4
                     | len(historical)))
    tck = False
    for j, (_, protocol) in enumerate(levels):
        interface = bytearray(draw(st.binary(min_size=bin(ys[j] & 7).count("1"),
                                             max_size=bin(ys[j] & 7).count("1"))))
        if j == 0 and ys[0] & 1:        # TA1 (Fi, Di): often one SAMs offer
            interface[0] = draw(st.one_of(st.sampled_from((0x11, 0x13, 0x18, 0x94, 0x96)),
                                          st.integers(0, 255)))
        atr += interface
        if ys[j] & 8:
            atr.append(ys[j + 1] << 4 | protocol)
            tck = tck or protocol != 0
    atr += historical
    if tck:
        check = 0
        for b in atr[1:]:
            check ^= b
        atr.append(check)
    damage = draw(st.sampled_from(("", "", "", "tck", "short", "long", "ts")))
    if damage == "tck" and tck:
        atr[-1] ^= draw(st.integers(1, 255))
    elif damage == "short":
        del atr[-1]
    elif damage == "long":
        atr.append(draw(st.integers(0, 255)))
    elif damage == "ts":
        atr[0] = draw(st.integers(0, 255).filter(lambda b: b not in (0x3B, 0x3F)))
    return bytes(atr)


@FAST
@given(st.one_of(st.binary(max_size=36), _atrs()),
       st.one_of(st.sampled_from((3_571_200, 4_000_000, 4_915_200)),
                 st.integers(1_000_000, 20_000_000)),
       st.one_of(st.sampled_from((9600, 38400, 115200, 230400)), st.integers(1200, 1_000_000)))
def test_the_atr_parser_returns_an_atr_or_its_error_and_a_rate_both_sides_reach(
        data, clock_hz, max_baud):
    DRAWN["atr"].append([data.hex(), clock_hz, max_baud])
    need = atr_need(data)
    assert need >= 2
    try:
        atr = parse_atr(data)
    except SAMError:
        return
    # the slot reads an ATR byte by byte until atr_need says it has all: never stops early
    assert need == len(data)
    assert all(k < atr_need(data[:k]) <= len(data) for k in range(len(data)))
    assert atr.raw == data and len(atr.historical) == data[1] & 0x0F and atr.protocols
    fi_i, di_i = choose_fidi(atr, clock_hz, max_baud)
    if (fi_i, di_i) != (1, 1):
        baud = clock_hz * DI[di_i] // FI[fi_i]
        assert fi_i == atr.ta1 >> 4 and 0 < DI[di_i] <= atr.di
        assert clock_hz // 372 < baud <= max_baud + max_baud // 50
    atr_outcome(data, clock_hz, max_baud)


@FAST
@given(st.one_of(st.binary(max_size=260), st.builds(
    lambda tag, value: bytes((tag, len(value))) + value, st.integers(0, 0x3F),
    st.binary(max_size=40))))
def test_a_record_parses_to_tag_and_value_or_its_error_and_builds_back(data):
    DRAWN["record"].append(data.hex())
    try:
        tag, value = hi.parse_record(data)
    except ValueError:
        assert len(data) < 2 or len(data) != data[1] + 2
        return
    assert hr.build_record(tag, value) == data
    record_outcome(data)


def _item_values(item):
    """A value the item's coding can hold in its length (CN digits, AN text bytes without
    trailing 00, B bytes), or one that is too long."""
    _, _, length, coding, _, _ = item
    if coding == hi.CN:
        return st.text("0123456789", max_size=2 * length + 1)
    if coding == hi.AN:
        return st.binary(max_size=length + 1).filter(lambda v: not v.endswith(b"\0"))
    return st.binary(max_size=length + 1)


@FAST
@given(st.sampled_from(hi.ITEMS).flatmap(lambda item: st.tuples(st.just(item),
                                                                  _item_values(item))))
def test_every_item_value_written_reads_back_through_its_record(drawn):
    item, value = drawn
    _, tag, length, coding, _, _ = item
    try:
        encoded = hr.encode(coding, value, length)
    except ValueError:
        assert len(value) > (2 * length if coding == hi.CN else length)
        return
    record = hr.build_record(tag, encoded)
    DRAWN["record"].append(record.hex())
    padded = value + bytes(length - len(value)) if coding == hi.B else value
    assert hi.decode_item(item, record) == padded


@FAST
@given(st.sampled_from(sorted(hr.CYCLIC_FIELDS)).flatmap(lambda path: st.tuples(
    st.just(path), st.tuples(*(_item_values((path, 0, length, coding, "", field))
                               for _, field, _, length, coding in hr.CYCLIC_FIELDS[path])))))
def test_a_cyclic_record_written_decodes_to_its_values(drawn):
    path, values = drawn
    DRAWN["cyclic"].append([path, [show(v) for v in values]])
    fields = hr.CYCLIC_FIELDS[path]
    try:
        record = hr.encode_cyclic(path, values)
    except ValueError:
        assert any(len(v) > (2 * f[3] if f[4] == hi.CN else f[3]) for v, f in
                   zip(values, fields))
        return
    assert len(record) == sum(f[3] for f in fields)
    assert hr.decode_cyclic(path, record) == values


def test_the_drawn_examples_give_the_same_outcome_under_micropython(tmp_path):
    assert all(DRAWN.values()), "the property tests above draw the corpus"
    expected = {
        "ats": [outcome(parse_ats, bytes.fromhex(h)) for h in DRAWN["ats"]],
        "qr": [outcome(parse_qr, bytes.fromhex(h)) for h in DRAWN["qr"]],
        "id": [outcome(lambda i: "%012X" % bl.key(i), i) for i in DRAWN["id"]],
        "atr": [atr_outcome(bytes.fromhex(h), c, b) for h, c, b in DRAWN["atr"]],
        "record": [record_outcome(bytes.fromhex(h)) for h in DRAWN["record"]],
        "cyclic": [cyclic_outcome(path, values) for path, values in DRAWN["cyclic"]],
    }
    (tmp_path / "corpus.json").write_text(json.dumps(DRAWN))
    script = tmp_path / "replay.py"
    script.write_text(REPLAY)
    env = {"MICROPYPATH": os.pathsep.join([".frozen", str(FIRMWARE_DIR), str(TESTS_DIR)])}
    out = run_micropython(script, tmp_path / "corpus.json", heapsize="16m", env=env,
                          timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    got = dict(json.loads(line) for line in out.stdout.strip().splitlines()[-len(DRAWN):])
    for name in expected:
        diffs = [(DRAWN[name][i], e, g) for i, (e, g) in
                 enumerate(zip(expected[name], got[name])) if e != g]
        assert not diffs and len(got[name]) == len(expected[name]), (name, diffs[:5])


REPLAY = """
import json, sys
from binascii import unhexlify
from reader.cards.qrcode import parse_qr
from reader.protocols.iso14443_4 import parse_ats
from reader.terminal import blacklist as bl
from support.parser_outcomes import atr_outcome, cyclic_outcome, outcome, record_outcome

with open(sys.argv[1]) as f:
    corpus = json.load(f)
def in_place(function, data, *args):
    # the firmware hands the ATR and card records over as memoryviews of its buffers: the
    # same outcome as for bytes, else the memoryview's is reported (and differs)
    got = function(data, *args)
    view = function(memoryview(bytearray(data)), *args)
    return got if view == got else "memoryview: " + view

replay = {                      # one line each: [name, outcomes]
    "ats": lambda h: outcome(parse_ats, unhexlify(h)),
    "qr": lambda h: outcome(parse_qr, unhexlify(h)),
    "id": lambda i: outcome(lambda i: "%012X" % bl.key(i), i),
    "atr": lambda d: in_place(atr_outcome, unhexlify(d[0]), d[1], d[2]),
    "record": lambda h: in_place(record_outcome, unhexlify(h)),
    "cyclic": lambda d: cyclic_outcome(d[0], d[1]),
}
for name in replay:
    print(json.dumps([name, [replay[name](drawn) for drawn in corpus.pop(name)]]))
"""
