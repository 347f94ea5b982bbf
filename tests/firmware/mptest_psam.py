# heapsize: 128k
# firmware: romfs
# simbus: support.emu_benches:health_card_pin_sam
# The PSAM application over the SAM slot's T=0 channel against the emulated PSAM that wants
# its PIN (123456): files, PIN, diversification, the cryptogram a card accepts.
import sim_bench_healthcard as bench

from reader.cards import healthcard_items as hi
from reader.cards.healthcard_errors import HealthCardError

SAM_JSON = "../../host/hcterm/emulator/samples/sam-henan-pin.json"


def _sample():
    import json
    with open(SAM_JSON) as f:
        image = json.load(f)
    return image["files"]


def test_files_match_the_sam_image():
    files = _sample()
    sam = bench.psam()
    info = sam.info()
    assert info["serial"] == bench.unhexlify(files["0015"]["serial"])
    assert info["version"] == files["0015"]["version"]
    assert info["key_card_type"] == files["0015"]["key_card_type"]
    assert sam.terminal_number() == bench.unhexlify(files["0016"]["terminal_number"])
    key = sam.key_info()
    a = files["DF01/001A"]
    assert key["key_index"] == a["key_index"]
    assert key["issuer_id"] == bench.unhexlify(a["issuer_id"])
    assert key["receiver_id"] == bench.unhexlify(a["receiver_id"])
    assert key["start_date"] == a["start_date"] and key["expiry_date"] == a["expiry_date"]
    assert sam.issuer_certificate() == bench.unhexlify(files["DF01/001B"])
    assert sam.sam_certificate() == bench.unhexlify(files["DF01/001C"])


def test_keys_need_the_pin_and_a_wrong_pin_counts_down():
    sam = bench.psam()
    key = hi.key_info("IRK_DDF1")
    try:
        sam.diversify(key, bytes(8), b"41000000", bytes(8))
    except HealthCardError as error:
        assert error.kind == "sam" and error.code == 0x6982, error
    else:
        raise AssertionError("80DE without PIN accepted")
    error = bench.raises("pin-wrong", sam.verify_pin, "000000")
    assert error.code & 0xFFF0 == 0x63C0 and error.tries_left == error.code & 0x0F
    sam.verify_pin("123456")
    sam.diversify(key, bytes(8), b"41000000", bytes(8))
    assert len(sam.encrypt(bytes(16))) == 16


def test_wrong_key_level_is_refused():
    sam = bench.psam()
    sam.verify_pin("123456")
    bad = ("IRK_DDF1", 0x27, 0x31, "DDF1", 0x04)           # one level for a two-level key
    error = bench.raises("sam", sam.diversify, bad, bytes(8), None, bytes(8))
    assert error.code == 0x6A86


def test_card_accepts_the_cryptogram_after_verify():
    sam = bench.psam()
    sam.verify_pin("123456")
    card = bench.open_card("adult", sam=sam)
    got = card.read("identity")
    assert got["SFZH"] == b"410105198503154213" and card.granted == ["IRK_DDF1"]
