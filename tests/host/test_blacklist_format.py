"""Blacklist format 2 on the host (docs/blacklist-format.md): the doc's test vectors, the
host tools (text and CSV lists, deltas, signing, verifying) and exactness on a larger list.
The same vectors are checked under MicroPython by tests/firmware/mptest_blacklist.py."""

import hashlib
import io
import random
from pathlib import Path

import pytest

from hcterm import blacklist_files as bf
from hcterm.commands.bench_blacklist import _Population
from hcterm.emulator import samples
from hcterm.platform_signing import generate_key, public_key
from reader.terminal import blacklist as bl
from reader.terminal import blacklist_build as bb
from reader.terminal import sm2

DOC = Path(__file__).parents[2] / "docs" / "blacklist-format.md"


def vectors():
    block = DOC.read_text().split("```blacklist-vectors\n", 1)[1].split("```", 1)[0]
    out = {"key": {}}
    for line in block.strip().splitlines():
        name, *values = line.split()
        if name == "key":
            out["key"][values[0]] = values[1]
        else:
            out[name] = values if len(values) > 1 else values[0]
    return out


def sample_list():
    entries = bf.read_list(samples.blacklist_path().read_text(encoding="utf-8"))
    return bf.build_list(entries, 1, issued=1796000000)


def test_the_vectors_of_the_doc():
    v = vectors()
    for id18, key in v["key"].items():
        assert bl.key(id18).to_bytes(6, "big").hex().upper() == key
        assert bf.id_number(int(key, 16)) == id18
    assert [bl.page_offset(p, 4096) for p in range(6)] == [int(x) for x in v["page_offsets"]]
    data = sample_list()
    assert data[:160].hex().upper() == v["statement"]
    assert data[4096:4160].hex().upper() == v["page1"]
    assert data[-6:].hex().upper() == v["index"]
    assert hashlib.sha256(data).hexdigest().upper() == v["file_sha256"]
    signature = bytes.fromhex(v["signature"])
    assert sm2.verify(bytes.fromhex(samples.DEMO_PUBLIC_KEY), data[:160], signature)
    signed = data[:160] + signature + data[224:]
    assert bf.verify(signed, bytes.fromhex(samples.DEMO_PUBLIC_KEY))[0]


def test_text_and_csv_lists_report_every_bad_line_and_merge_duplicates():
    text = "id_number,name\n410702198804302754,a\n410702198804302755,b\n# note\n" \
           "410702198804302754,again\n" + "ab" * 32 + "\n12345\n"
    with pytest.raises(bf.ListError) as error:
        bf.read_list(text, "revoked.csv")
    message = str(error.value)
    assert "revoked.csv:3: '410702198804302755': check character is 5, expected 4" in message
    assert "revoked.csv:7: '12345'" in message and "revoked.csv:2" not in message
    good = bf.read_list("410702198804302754\n410702198804302754\n" + "AB" * 32 + "\n")
    assert (len(good.keys), len(good.ehc), good.duplicates) == (1, 1, 1)


def test_exact_on_a_realistic_list_with_ehc_ids(tmp_path):
    rng = random.Random(7)
    people = _Population(rng)
    keys = sorted(set(people.draw(30000)))
    ehc = sorted({rng.randbytes(32) for _ in range(400)})
    data = bf.build_list(bf.Entries(keys, ehc, 0), 3)
    h = bl.parse_header(data)
    assert h["count"] == len(keys) and h["ehc_count"] == 400 and h["ehc_pages"] == 4
    f = io.BytesIO(data)
    assert list(bb.keys(f, h)) == keys and list(bb.ehc_ids(f, h)) == ehc
    (tmp_path / "list.bin").write_bytes(data)
    store = bl.Blacklist(str(tmp_path / "list.bin"))
    members = set(keys)
    for k in keys[::13]:
        assert store.contains(bf.id_number(k))
    others = [k for k in people.draw(5000) if k not in members]
    assert not any(store.contains(bf.id_number(k)) for k in others)
    assert all(store.contains_ehc(e.hex()) for e in ehc[::7])
    assert not any(store.contains_ehc(rng.randbytes(32).hex()) for _ in range(300))


def test_a_delta_makes_the_same_bytes_as_the_full_list_it_leads_to():
    rng = random.Random(11)
    people = _Population(rng)
    old_keys = sorted(set(people.draw(8000)))
    new_keys = sorted(set(old_keys[200:]) | set(people.draw(300)))
    old = bf.build_list(bf.Entries(old_keys, [], 0), 5, issued=1796000000)
    delta = bf.build_delta(old, bf.Entries(new_keys, [], 0), 6, issued=1796086400)
    full = bf.build_list(bf.Entries(new_keys, [], 0), 6, issued=1796086400)
    h = bl.parse_header(delta)
    assert (h["kind"], h["base_version"], h["count"]) == (2, 5, len(new_keys))
    assert h["body_sha256"] == bl.parse_header(full)["body_sha256"]
    assert h["base_sha256"] == bl.parse_header(old)["body_sha256"]
    # the reader's way: the installed list merged with the delta, three passes a page
    out = io.BytesIO()
    b = bb.Builder(out)
    a, r = h["delta"][0], h["delta"][1]
    src = bb.DeltaSource(io.BytesIO(old), bl.parse_header(old), io.BytesIO(delta),
                         bl.HEADER_SIZE, a, bl.HEADER_SIZE + 6 * a, r)
    b.add_ids(src)
    b.finish()
    assert b.digest == h["body_sha256"] and out.getvalue()[4096:] == full[4096:]
    with pytest.raises(bf.ListError, match="must be above"):
        bf.build_delta(old, bf.Entries(new_keys, [], 0), 5)


def test_sign_and_verify_say_what_is_wrong():
    private, public = generate_key()
    data = bf.build_list(bf.read_list("410702198804302754\n"), 2)
    assert bf.verify(data, public) == (False, "not signed")
    signed = bf.sign(data, private)
    ok, summary = bf.verify(signed, public)
    assert ok and "version 2: 1 ID numbers" in summary
    assert bf.verify(signed, public_key(generate_key()[0]))[1] == \
        "the signature does not verify with this public key"
    broken = bytearray(signed)
    broken[5000] ^= 1
    assert bf.verify(bytes(broken), public) == (False, "the body does not match the signed digest")
    with pytest.raises(bf.ListError, match="too short"):
        bf.header(b"HCBL")
