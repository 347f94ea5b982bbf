# heapsize: 128k
# firmware: romfs
# simbus: support.emu_benches:health_card
# Writes through the SAM against the real emulated card (which checks every cryptogram and
# MAC): secure record writes read back, cyclic records, DF03 slots and flags, photo, PIN.
import sim_bench_healthcard as bench

from reader.cards.healthcard import HealthCard
from reader.cards.healthcard_write import HealthCardWriter, choose_slot


def writer(name):
    return bench.open_card(name, HealthCardWriter)


def test_secure_write_then_read_back_in_a_new_session():
    card = writer("adult")
    card.write_item("BRDH1", "13912345678")                 # DDF1, one-level UK and STK
    card.write_item("QTYXJSMC", b"\xc7\xe0\xc3\xb9\xcb\xd8")  # DF02, two-level keys
    card.write_item("HYZK", "10")                           # DF01, CN
    assert card.read(("BRDH1", "QTYXJSMC", "HYZK")) == {
        "BRDH1": b"13912345678", "QTYXJSMC": b"\xc7\xe0\xc3\xb9\xcb\xd8", "HYZK": "10"}
    channel, ats = bench.activate()                         # same card, new session
    fresh = HealthCard(channel, bench.psam(), ats)
    got = fresh.read(("BRDH1", "QTYXJSMC", "HYZK", "BRDH2"))
    assert got["BRDH1"] == b"13912345678" and got["HYZK"] == "10"
    assert got["QTYXJSMC"] == b"\xc7\xe0\xc3\xb9\xcb\xd8" and got["BRDH2"] == b"037165432198"


def test_secure_write_of_a_long_item_and_the_public_file():
    card = writer("adult")
    address = b"\xba\xd3\xc4\xcf" + b"1" * 96                 # 100 bytes: Lc' = 116
    card.write_item("DZ1", address)
    card.write_item("AQM", "999")                           # DDF1/EF05: UK_DDF1 + STK_DDF1
    assert card.read(("DZ1", "AQM")) == {"DZ1": address, "AQM": b"999"}


def test_add_allergy_becomes_record_one():
    card = writer("elderly")
    card.add_record("DF02/EF07", {"GMWZMC": b"ASPIRIN", "GMFY": b"RASH"})
    records = card.read(("DF02/EF07",))["DF02/EF07"]
    assert len(records) == 3
    assert records[0] == {"GMWZMC": b"ASPIRIN", "GMFY": b"RASH"}
    card.add_record("DF02/EF07", {"GMWZMC": b"LATEX", "GMFY": b"ITCH"})
    records = card.read(("DF02/EF07",))["DF02/EF07"]
    assert len(records) == 3 and records[0]["GMWZMC"] == b"LATEX"   # 3 records at most
    assert records[1]["GMWZMC"] == b"ASPIRIN"


def test_add_immunisation():
    card = writer("child")
    card.add_record("DF02/EF08", {"MYJZMC": b"HepA-1", "MYJZSJ": "20210301"})
    records = card.read(("DF02/EF08",))["DF02/EF08"]
    assert len(records) == 9 and records[0] == {"MYJZMC": b"HepA-1", "MYJZSJ": "20210301"}


def test_choose_slot_first_free_else_oldest():
    assert choose_slot([True, False, False]) == 2
    assert choose_slot([False, True, True]) == 1
    assert choose_slot([True, True, True]) == 1
    assert choose_slot([True, True, True], ages=["20240312", "20230101", "20250101"]) == 2


def test_write_visit_takes_the_first_free_slot_and_sets_its_flag():
    card = writer("elderly")
    slot = card.write_visit("EE", b"ADMISSION 20250601", signature=bytes(range(64)))
    assert slot == 2
    got = card.read(("DF03/EF05", "DF03/EE02"))
    assert got["DF03/EF05"] == [True, True, False]
    assert got["DF03/EE02"]["data"] == b"ADMISSION 20250601"
    assert got["DF03/EE02"]["signature"] == bytes(range(64))
    assert got["DF03/EE02"]["certificate"] is None


def test_erase_visit_frees_its_flag():
    card = writer("elderly")
    card.erase_visit("ED", 2)
    assert card.read(("DF03/EF06",))["DF03/EF06"] == [True, False, False, False, False]
    assert sorted(card.read(("DF03/ED",))["DF03/ED"]) == [1]


def test_photo_write_then_read():
    card = writer("adult")
    jpeg = b"\xff\xd8" + bytes(range(256)) * 2 + b"\xff\xd9"
    card.write_photo(jpeg)
    assert card.read(("DDF1/EF07",))["DDF1/EF07"] == jpeg


def test_wrong_pin_decrements_tries_and_the_right_one_restores_them():
    card = writer("adult")
    assert card.pin_tries() == 3
    error = bench.raises("pin-wrong", card.verify_pin, "000000")
    assert error.code == 0x63C2 and error.tries_left == 2
    assert card.pin_tries() == 2
    card.verify_pin("123456")
    assert card.pin_tries() == 3


def test_change_pin():
    card = writer("adult")
    card.change_pin("123456", "654321")
    bench.raises("pin-wrong", card.verify_pin, "123456")
    card.verify_pin("654321")
    error = bench.raises("pin-wrong", card.change_pin, "111111", "222222")
    assert error.tries_left == 2
