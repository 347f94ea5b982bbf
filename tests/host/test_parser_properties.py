"""Property-based tests (Hypothesis) of the shared parsers, on CPython: the host link codec,
the ATS parser, the QR code parser, blacklist keys and lists. Each parser takes any bytes and
either returns its value or raises its own error, never anything else; round trips hold.
The examples Hypothesis drew are then replayed under MicroPython (the firmware's own
modules), which must give the same outcome for each."""

import datetime
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hcterm import blacklist_files as bf
from hcterm.mpy import FIRMWARE_DIR, run_micropython
from reader import hostlink
from reader.cards.qrcode import QRCodeError, parse_qr
from reader.protocols.iso14443_4 import TCLError, parse_ats
from reader.terminal import blacklist as bl

FAST = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
DRAWN = {"ats": [], "qr": [], "id": []}         # replayed under MicroPython at the end


def _outcome(function, value):
    try:
        result = function(value)
    except (TCLError, QRCodeError, bl.BlacklistError) as error:
        return "error:" + type(error).__name__
    if isinstance(result, dict):
        return json.dumps(result, sort_keys=True)
    return repr(getattr(result, "fsc", result))


@FAST
@given(st.binary(max_size=40))
def test_ats_parser_returns_an_ats_or_its_error(data):
    DRAWN["ats"].append(data.hex())
    _outcome(parse_ats, data)


@FAST
@given(st.one_of(st.binary(max_size=120), st.builds(
    lambda h, rest: (h + rest).encode(), st.text("0123456789ABCDEFabcdef", min_size=60,
                                                 max_size=70), st.text(max_size=40))))
def test_qr_parser_returns_fields_or_its_error(data):
    DRAWN["qr"].append(data.hex())
    _outcome(parse_qr, data)


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


def test_the_drawn_examples_give_the_same_outcome_under_micropython(tmp_path):
    assert all(DRAWN.values()), "the property tests above draw the corpus"
    expected = {
        "ats": [_outcome(parse_ats, bytes.fromhex(h)) for h in DRAWN["ats"]],
        "qr": [_outcome(parse_qr, bytes.fromhex(h)) for h in DRAWN["qr"]],
        "id": [_outcome(lambda i: "%012X" % bl.key(i), i) for i in DRAWN["id"]],
    }
    (tmp_path / "corpus.json").write_text(json.dumps(DRAWN))
    script = tmp_path / "replay.py"
    script.write_text(REPLAY)
    env = {"MICROPYPATH": os.pathsep.join([".frozen", str(FIRMWARE_DIR)])}
    out = run_micropython(script, tmp_path / "corpus.json", heapsize="4m", env=env,
                          timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    for name in expected:
        diffs = [(DRAWN[name][i], e, g) for i, (e, g) in
                 enumerate(zip(expected[name], got[name])) if e != g]
        assert not diffs and len(got[name]) == len(expected[name]), (name, diffs[:5])


REPLAY = """
import json, sys
from binascii import unhexlify
from reader.cards.qrcode import QRCodeError, parse_qr
from reader.protocols.iso14443_4 import TCLError, parse_ats
from reader.terminal import blacklist as bl

def outcome(function, value):
    try:
        result = function(value)
    except (TCLError, QRCodeError, bl.BlacklistError) as error:
        return "error:" + type(error).__name__
    if isinstance(result, dict):
        return json.dumps(dict(sorted(result.items()))).replace('", "', '", "')
    return repr(getattr(result, "fsc", result))

with open(sys.argv[1]) as f:
    corpus = json.load(f)
print(json.dumps({
    "ats": [outcome(parse_ats, unhexlify(h)) for h in corpus["ats"]],
    "qr": [outcome(parse_qr, unhexlify(h)) for h in corpus["qr"]],
    "id": [outcome(lambda i: "%012X" % bl.key(i), i) for i in corpus["id"]],
}))
"""
