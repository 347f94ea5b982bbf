# heapsize: 128k
# firmware: romfs
# simbus: support.emu_benches:health_card
# The health card application reading the sample cards through the real emulated PN532,
# card and SAM (sim bus): every item against the sample JSON, cyclic records, DF03 records,
# the APDU count of the identity profile (its time and allocation:
# mptest_healthcard_identity.py).
import gc
import hashlib
from binascii import hexlify

import sim_bench_healthcard as bench

from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr
from reader.cards.healthcard import plan

IDENTITY = ("KH", "XM", "XB", "MZ", "CSRQ", "SFZH", "KYXQ")


def test_identity_profile_of_the_adult():
    texts = bench.gbk("adult")
    card = bench.open_card("adult")
    assert card.card_no8 == b"\x41\x01\x05\x20\x19\x03\x16\x01"
    assert card.city_code == "410100" and card.city8 == b"41000000"
    got = card.read("identity")
    assert sorted(got) == sorted(IDENTITY)
    assert got["KH"] == b"410105198503154213" and got["SFZH"] == got["KH"]
    assert got["XM"] == texts["XM"] == b"\xd5\xc5\xce\xb0"      # 张伟 in GBK
    assert got["XB"] == b"\x01" and bench.sample_file("adult", "DDF1/EF06")["XB"] == "male"
    assert got["MZ"] == "01" and got["CSRQ"] == "19850315" and got["KYXQ"] == "20390316"
    # power-up 3, KH by tag 1, AuthIRK DDF1 2 (0084, 0082), EF06 1 + 5, EF08 1 + 1
    assert card.apdus == 14, card.apdus


def _compare_linear(card, name, paths, texts):
    got = card.read(paths)
    n = 0
    for path in paths:
        entry = bench.sample_file(name, path)
        for item in hr.items_of(path):
            want = bench.expected(item, entry, texts)
            assert got[item[5]] == want, (item[5], got[item[5]], want)
            n += 1
    return n


def test_every_item_of_the_adult():
    texts = bench.gbk("adult")
    card = bench.open_card("adult")
    n = 0
    for group in (("DDF1/EF05", "DDF1/EF06", "DDF1/EF08"),
                  ("DF01/EF05", "DF01/EF06", "DF01/EF07", "DF01/EF08"),
                  ("DF02/EF05", "DF02/EF06")):
        n += _compare_linear(card, "adult", group, texts)
        gc.collect()
    assert n == len(hi.ITEMS), n


def test_adult_photo_cyclic_and_records():
    texts = bench.gbk("adult")
    card = bench.open_card("adult")
    got = card.read(("DF02/EF07", "DF02/EF08", "DF03/EF05", "DF03/EF06", "DF03/EE", "DF03/ED"))
    assert got["DF02/EF07"] == [] and got["DF02/EF08"] == []
    assert got["DF03/EF05"] == bench.sample_file("adult", "DF03/EF05") == [False] * 3
    assert got["DF03/EF06"] == bench.sample_file("adult", "DF03/EF06")
    assert got["DF03/EE"] == {} and sorted(got["DF03/ED"]) == [1]
    ed = got["DF03/ED"][1]
    assert bytes(ed["data"]) == texts["DF03/ED01"]
    entry = bench.sample_file("adult", "DF03/ED01")
    for part in ("signature", "certificate"):
        want = entry[part]
        assert (ed[part] is None) if want is None else (bytes(ed[part]) == bench.unhexlify(want))
    got = ed = entry = texts = None
    gc.collect()
    photo = card.read(("DDF1/EF07",))["DDF1/EF07"]
    assert photo[0:2] == b"\xff\xd8"                                   # a JPEG
    want = bench.photo("adult")               # length and SHA-256 of the sample's JPEG
    assert len(photo) == want["length"] and len(photo) > 1000
    assert hexlify(hashlib.sha256(photo).digest()).decode() == want["sha256"]


def test_a_profile_across_dfs_selects_and_authenticates_each_once():
    card = bench.open_card("adult")
    steps = []
    auth = card.authenticate

    def counting(name, work=None):
        if name not in card.granted:
            steps.append(name)
        auth(name, work)
    card.authenticate = counting
    got = card.read(("DF03/EF06", "DF02/EF08", "LXRDH1", "ZJHM", "DF01/EF07", "XM", "KH",
                     "DF02/EF06", "KYXQ", "DF03/EF05"))
    assert steps == ["IRK_DDF1", "IRK_DF01", "IRK_DF02", "IRK_DF03"], steps
    assert got["KH"] == b"410105198503154213" and got["ZJHM"] == got["KH"]
    assert len(got) == 12 and got["HYZK"] == "20"
    # selects: DDF1 EF05 (power-up), EF06, EF08, DF01 EF06 EF07 EF08, DF02 EF06 EF08,
    # DF03 EF05 EF06 = 14; reads KH, XM, KYXQ, LXRDH1, 3 of EF07, ZJHM, JSBBZ, 1 of the empty
    # EF08 (6A83 ends it), 3 + 5 index flags = 18; 4 x (0084 + 0082) = 8; the city code 1
    assert card.apdus == 14 + 18 + 8 + 1, card.apdus


def test_plan_groups_by_file_and_record():
    steps = plan(("KYXQ", "KH", "SFZH", "XM"))
    assert [(s[0], s[1], s[3]) for s in steps] == [
        ("DDF1/EF05", 7, "KH"), ("DDF1/EF06", 1, "XM"), ("DDF1/EF06", 5, "SFZH"),
        ("DDF1/EF08", 1, "KYXQ")]
    try:
        plan(("NOPE",))
    except ValueError as error:
        assert "NOPE" in str(error)
    else:
        raise AssertionError("unknown entry accepted")


def test_child_immunisations():
    texts = bench.gbk("child")
    card = bench.open_card("child")
    got = card.read(("XM", "CSRQ", "DF02/EF08", "DF02/EF07"))
    assert got["XM"] == texts["XM"]
    assert got["CSRQ"] == bench.sample_file("child", "DDF1/EF06")["CSRQ"]
    records = got["DF02/EF08"]
    want = bench.sample_file("child", "DF02/EF08")
    assert len(records) == 8 == len(want)
    for rec, w, gbk in zip(records, want, texts["DF02/EF08"]):
        assert rec["MYJZSJ"] == w["MYJZSJ"], rec
        assert rec["MYJZMC"] == bench.unhexlify(gbk["MYJZMC"]), rec
    assert records[0]["MYJZSJ"] == "20200210"                   # newest first = record 1
    assert got["DF02/EF07"] == []


def test_elderly_allergies_and_flags():
    texts = bench.gbk("elderly")
    card = bench.open_card("elderly")
    got = card.read("clinical")
    allergies = got["DF02/EF07"]
    assert len(allergies) == 2
    for rec, gbk in zip(allergies, texts["DF02/EF07"]):
        assert rec["GMWZMC"] == bench.unhexlify(gbk["GMWZMC"])
        assert rec["GMFY"] == bench.unhexlify(gbk["GMFY"])
    flags = bench.sample_file("elderly", "DF02/EF05")
    for field in ("XZBBZ", "XNXGBBZ", "TNBBZ", "XCBZ"):
        assert got[field] == (b"\x01" if flags[field] else b"\x00"), field
    assert got["XZBBZ"] == b"\x01" and got["XCBZ"] == b"\x00"
    assert got["ABOXX"] == b"\x02" and got["QTYXJSMC"] == texts["QTYXJSMC"]


def test_elderly_inpatient_and_outpatient_records():
    texts = bench.gbk("elderly")
    card = bench.open_card("elderly")
    records = card.read("records")
    assert records["DF03/EF05"] == [True, False, False]
    assert records["DF03/EF06"] == [True, True, False, False, False]
    assert sorted(records["DF03/EE"]) == [1] and sorted(records["DF03/ED"]) == [1, 2]
    ee = records["DF03/EE"][1]
    assert bytes(ee["data"]) == texts["DF03/EE01"]
    entry = bench.sample_file("elderly", "DF03/EE01")
    assert bytes(ee["certificate"]) == bench.unhexlify(entry["certificate"])
    assert bytes(ee["signature"]) == bench.unhexlify(entry["signature"])
    ed2 = records["DF03/ED"][2]
    assert bytes(ed2["data"]) == texts["DF03/ED02"]
    assert ed2["signature"] is None and ed2["certificate"] is None


def _logged(card):
    """Log the card's APDUs ("card B2") and the SAM's ("sam DE" when answered, "begin DE"
    when sent to run while the card works) in the order they go."""
    log = []
    card_tx, sam = card.channel.transceive, card.psam.channel
    sam_tx, sam_begin = sam.transceive, sam.begin

    def on_card(apdu):
        log.append("card %02X" % apdu[1])
        return card_tx(apdu)

    def on_sam(apdu):
        log.append("sam %02X" % apdu[1])
        return sam_tx(apdu)

    def on_begin(apdu):
        log.append("begin %02X" % apdu[1])
        return sam_begin(apdu)
    card.channel.transceive, sam.transceive, sam.begin = on_card, on_sam, on_begin
    return log


def test_identity_runs_the_sam_while_the_card_reads_kh_and_selects_ef06():
    card = bench.open_card("adult")
    log = _logged(card)
    got = card.read("identity")
    assert got["KH"] == b"410105198503154213" and len(got) == 7
    # GET CHALLENGE right after power-up; 80DE runs while the card reads KH (B2), 80FA while
    # it selects EF06 (A4); then EXTERNAL AUTHENTICATE and the protected reads
    assert log[0:8] == ["card 84", "begin DE", "card B2", "sam DE", "begin FA", "card A4",
                        "sam FA", "card 82"], log
    assert log[8:] == ["card B2"] * 5 + ["card A4", "card B2"], log


def test_a_profile_without_public_reads_overlaps_the_select_only():
    card = bench.open_card("adult")
    log = _logged(card)
    got = card.read(("XM", "KYXQ"))
    assert sorted(got) == ["KYXQ", "XM"] and len(got["KYXQ"]) == 8, got
    assert log == ["card 84", "begin DE", "card A4", "sam DE", "begin FA", "sam FA",
                   "card 82", "card B2", "card A4", "card B2"], log
