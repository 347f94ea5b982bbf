# heapsize: 128k
# firmware: romfs
# simbus: support.emu_benches:health_card
# Failures of the card layer, each one kind with its status word: locked application, PIN
# blocked, card taken away mid-session, a wrong value refused before it is sent.
import sim_bench_healthcard as bench

from reader.cards.healthcard import check_id_number
from reader.cards.healthcard_write import HealthCardWriter


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


def test_status_word_table_and_actions():
    from reader.cards import healthcard_errors as he

    kinds = {0x6283: he.LOCKED, 0x6A81: he.LOCKED, 0x6982: he.ACCESS_DENIED,
             0x6983: he.PIN_BLOCKED, 0x6300: he.AUTH_FAILED, 0x6984: he.AUTH_FAILED,
             0x6988: he.AUTH_FAILED, 0x6A82: he.NOT_FOUND, 0x6A83: he.NOT_FOUND,
             0x6A88: he.NOT_FOUND, 0x6A86: he.REFUSED, 0x9000: he.REFUSED, 0x6283 ^ 1: he.REFUSED}
    for sw, kind in kinds.items():
        assert he.card_sw_kind(sw) == kind, (hex(sw), he.card_sw_kind(sw), kind)
    error = he.card_sw_error(0x6A82, "DF01/EF05")
    assert error.kind == he.NOT_FOUND and error.message.endswith(
        "(the card does not hold this data)"), error.message
    for kind in (he.COMMUNICATION, he.AUTH_FAILED, he.ACCESS_DENIED, he.LOCKED, he.PIN_BLOCKED,
                 he.PIN_WRONG, he.NOT_FOUND, he.INVALID_DATA, he.SAM, he.REFUSED):
        message = he.HealthCardError(kind, 0, "x", "detail").message
        assert message.startswith("detail (") and "report this error" not in message, message
    assert he.HealthCardError("no-such-kind", 0, "x", "d").message == "d (report this error)"


def test_card_removed_while_the_sam_works():
    sam = bench.psam()
    card = bench.open_card("adult", sam=sam)
    card_tx = card.channel.transceive

    def pulled(apdu):
        if apdu[1] == 0xB2:                 # the KH read, while the SAM runs 80DE
            bench.remove()
        return card_tx(apdu)
    card.channel.transceive = pulled
    error = bench.raises("communication", card.read, "identity")
    assert "tap the card again" in error.message and "KH" in error.where, error.where
    # the SAM's answer was read before the error went on: the next card reads with it
    again = bench.open_card("adult", sam=sam)
    assert again.read("identity")["KH"] == b"410105198503154213"
