# The shared health card item dictionary and its codecs, under MicroPython.
from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr


def test_every_file_and_item_count():
    counts = {}
    for item in hi.ITEMS:
        counts[item[0]] = counts.get(item[0], 0) + 1
    for path, kind, n, _reclen, _r, _w in hi.FILES:
        if kind == hi.LINEAR:
            assert counts[path] == n, (path, counts[path], n)
    assert len(hi.ITEMS) == 57
    assert len(hi.FILES) == 22


def test_tags_are_unique_and_fields_unique():
    tags = [item[1] for item in hi.ITEMS]
    assert len(set(tags)) == len(tags)
    fields = [item[5] for item in hi.ITEMS]
    assert len(set(fields)) == len(fields)


def test_lookups():
    kh = hi.item_by_field("KH")
    assert kh == ("DDF1/EF05", 0x08, 18, hi.AN, "card number", "KH")
    assert hr.item_by_tag("DDF1/EF05", 0x39)[5] == "YYCSDM"
    assert hi.record_number("DDF1/EF05", 0x08) == 7
    assert hi.record_number("DDF1/EF05", 0x39) == 10
    assert hi.record_number("DDF1/EF05", 0x0B) == 0
    assert hi.file_info("DF03/ED01")[2] == 3013 + 64 + 190
    assert hi.file_info("DF03/EE02")[2] == 1639 + 64 + 190
    assert hi.file_info("DF02/EF07")[1:4] == (hi.CYCLIC, 3, 120)
    assert hi.file_info("DDF1/EF09") is None


def test_cn_codec():
    assert hr.encode(hi.CN, "20130301", 4) == b"\x20\x13\x03\x01"
    assert hr.encode(hi.CN, "410100", 3) == b"\x41\x01\x00"
    assert hr.encode(hi.CN, "1", 1) == b"\x1F"
    assert hr.encode(hi.CN, "", 2) == b"\xFF\xFF"
    assert hi.decode(hi.CN, b"\x1F") == "1"
    assert hi.decode(hi.CN, b"\x20\x13\x03\x01") == "20130301"
    assert hi.decode(hi.CN, b"\x41\x01\x00\xFF\xFF\xFF") == "410100"
    assert hi.decode(hi.CN, b"\x12\x3F") == "123"
    assert hi.decode(hi.CN, b"\xFF") == ""


def test_an_and_b_codecs():
    name = b"\xd5\xc5\xce\xb0"  # GBK bytes stay bytes here
    raw = hr.encode(hi.AN, name, 30)
    assert len(raw) == 30 and raw[:4] == name and raw[4:] == bytes(26)
    assert hi.decode(hi.AN, raw) == name
    assert hr.encode(hi.AN, "V1.0", 4) == b"V1.0"
    assert hi.decode(hi.B, b"\x01\x00") == b"\x01\x00"
    assert hr.encode(hi.B, b"\x02", 1) == b"\x02"
    assert hr.to_hex(b"\x0a\xff") == "0AFF"


def test_encode_errors_say_why():
    cases = (
        (hi.CN, "12a", 2, "non-digit"),
        (hi.CN, "123", 1, "longer than 2 digits"),
        (hi.AN, b"12345", 4, "at most 4"),
        (hi.B, "text", 4, "must be bytes"),
    )
    for coding, value, length, words in cases:
        try:
            hr.encode(coding, value, length)
        except ValueError as error:
            assert words in str(error), str(error)
        else:
            raise AssertionError(f"no error for {value!r}")


def test_tlv_records():
    record = hr.build_record(0x39, b"\x41\x01\x00")
    assert record == b"\x39\x03\x41\x01\x00"
    assert hi.parse_record(record) == (0x39, b"\x41\x01\x00")
    assert hi.decode_item(hr.item_by_tag("DDF1/EF05", 0x39), record) == "410100"
    for bad in (b"\x39", b"\x39\x04\x41\x01\x00"):
        try:
            hi.parse_record(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"accepted {bad!r}")
    try:
        hi.decode_item(hr.item_by_tag("DDF1/EF05", 0x08), record)
    except ValueError as error:
        assert "expected 08" in str(error)
    else:
        raise AssertionError("wrong tag accepted")


def test_cyclic_records():
    record = hr.encode_cyclic("DF02/EF08", (b"BCG", "20200105"))
    assert len(record) == 24
    assert record[20:] == b"\x20\x20\x01\x05"
    assert hr.decode_cyclic("DF02/EF08", record) == (b"BCG", "20200105")
    allergy = hr.encode_cyclic("DF02/EF07", (b"PENICILLIN", b"RASH"))
    assert len(allergy) == 120
    assert hr.decode_cyclic("DF02/EF07", allergy) == (b"PENICILLIN", b"RASH")
