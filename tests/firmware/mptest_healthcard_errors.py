# heapsize: 128k
# firmware: romfs
# simbus: simbeds:health_card
# Failures of the card layer, each one kind with its status word: locked application, PIN
# blocked, card taken away mid-session, a wrong value refused before it is sent.
import mptest_healthcard_bench as bench

from reader.healthcard import check_id_number
from reader.healthcard_write import HealthCardWriter


def test_locked_card_fails_at_power_up_with_a_clear_error():
    error = bench.raises("locked", bench.open_card, "locked")
    assert error.code == 0x6283 and error.where == "SELECT DDF1"
    assert "locked" in error.message and "issuing office" in error.message


def test_pin_blocked_card():
    card = bench.open_card("pin-blocked", HealthCardWriter)
    assert card.pin_tries() == 0
    error = bench.raises("pin-blocked", card.verify_pin, "246810")
    assert error.code == 0x6983 and error.tries_left == 0
    got = card.read("identity")                     # reading needs no PIN
    assert len(got["KH"]) == 18


def test_card_removed_mid_session():
    card = bench.open_card("adult")
    card.read(("KH",))
    bench.remove()
    error = bench.raises("communication", card.read, "identity")
    assert "tap the card again" in error.message


def test_id_number_check_character_is_verified():
    assert check_id_number(b"410105198503154213", "KH") == "410105198503154213"
    error = bench.raises("invalid-data", check_id_number, b"410105198503154214", "KH")
    assert "check character" in error.message and error.where == "KH"


def test_write_value_too_long_is_refused_before_any_apdu():
    card = bench.open_card("adult", HealthCardWriter)
    sent = card.apdus
    try:
        card.write_item("BRDH1", "1" * 21)
    except ValueError as error:
        assert "20" in str(error)
    else:
        raise AssertionError("accepted 21 bytes for a 20-byte item")
    assert card.apdus == sent
