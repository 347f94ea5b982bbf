# heapsize: 128k
# firmware: romfs
# simbus: support.emu_benches:health_card_foreign_sam
# A SAM of another province (Sichuan) in the slot: the Henan card refuses its cryptograms.
import sim_bench_healthcard as bench


def test_foreign_sam_auth_failed():
    card = bench.open_card("adult")
    assert card.read(("KH", "YYCSDM")) == {"KH": b"410105198503154213",
                                           "YYCSDM": "410100"}   # public: no SAM needed
    error = bench.raises("auth-failed", card.read, "identity")
    assert error.code == 0x6300 and error.where == "EXTERNAL AUTHENTICATE IRK_DDF1"
    assert "issuer" in error.message
    assert card.granted == []


def test_foreign_sam_identifies_its_province():
    sam = bench.psam()
    assert sam.terminal_number()[0] == 0x51
