# heapsize: 96k
# firmware: romfs
# The offline blacklist store (reader.terminal.blacklist, docs in its module): packed form, text
# lists, streamed writer with order checks, binary-search lookups on the file, status.
import os

from reader.terminal import blacklist as bl

TMP = os.getenv("MPTEST_TMP")
SAMPLE = ("# comment\n410702198804302754\n\n410105199001011233  # withdrawn\n"
          "410102197508084564\n41022219830225667X\n")


def test_pack_keeps_numeric_order_and_round_trips():
    ids = ["41022219830225667X", "410102197508084564", "410105199001011233",
           "410702198804302754"]
    packed = [bl.pack(i) for i in ids]
    assert all(len(p) == 8 for p in packed)
    assert sorted(packed) == [bl.pack(i) for i in sorted(ids)]
    assert [bl.unpack(p) for p in packed] == ids
    assert bl.pack(b"41022219830225667x") == bl.pack("41022219830225667X")


def test_bad_id_is_refused_with_its_line():
    try:
        bl.parse_text(["410702198804302754", "410702198804302755"])
    except bl.BlacklistError as error:
        assert "line 2" in str(error) and "check character" in str(error), str(error)
    else:
        raise AssertionError("a wrong check character was accepted")


def test_replace_text_then_lookups_by_binary_search():
    path = TMP + "/bl.bin"
    store = bl.Blacklist(path)
    assert store.status() == {"installed": False, "version": 0, "count": 0}
    assert not store.contains("410702198804302754")
    assert store.replace_text(SAMPLE.split("\n"), 7) == {"installed": True, "version": 7,
                                                         "count": 4}
    for id18 in ("410702198804302754", "41022219830225667X", "410102197508084564"):
        assert store.contains(id18), id18
    assert not store.contains("410105198503154213")
    with open(path, "rb") as f:
        raw = f.read()
    assert raw[0:4] == b"HCBL" and len(raw) == 16 + 4 * 8
    assert raw == bl.build(SAMPLE.split("\n"), 7)
    again = bl.Blacklist(path)
    assert again.status()["version"] == 7 and again.contains("410702198804302754")


def test_writer_refuses_unsorted_input_and_keeps_the_old_list():
    path = TMP + "/bl2.bin"
    store = bl.Blacklist(path)
    store.replace_text(["410702198804302754"], 1)
    w = bl.Writer(path, 2)
    w.add_id("410702198804302754")
    try:
        w.add_id("410102197508084564")
    except bl.BlacklistError as error:
        assert "not above" in str(error)
    else:
        raise AssertionError("unsorted entry accepted")
    w.abort()
    store.reload()
    assert store.status() == {"installed": True, "version": 1, "count": 1}


def test_many_entries_streamed_in_order_then_looked_up():
    path = TMP + "/bl3.bin"
    from reader.cards.idnumber import check_character
    w = bl.Writer(path, 3)
    for n in range(2000):
        first = "41010519%02d0101%03d" % (50 + n // 1000, n % 1000)
        w.add_id(first + check_character(first))
    w.commit()
    store = bl.Blacklist(path)
    assert store.status() == {"installed": True, "version": 3, "count": 2000}
    for n in range(0, 2000, 97):
        first = "41010519%02d0101%03d" % (50 + n // 1000, n % 1000)
        assert store.contains(first + check_character(first)), first
    assert not store.contains("410105198503154213")
