# ISO 7064 MOD 11-2 check character of the citizen ID number, under MicroPython.
from reader.cards.idnumber import check_character, is_valid, validate

# The GB 11643 example number and two checked by hand with the weights 7 9 10 5 8 4 2 1 6 3 7 9
# 10 5 8 4 2 and the map 10X98765432.
GOOD = ("11010519491231002X", "440524188001010014", "410105198503154213")


def test_check_character_of_known_numbers():
    for number in GOOD:
        assert check_character(number[:17]) == number[17], number


def test_check_character_sum_by_hand():
    # 1*7+1*9+0+1*5+0+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0+0+2*2 = 167; 167 % 11 = 2 -> X
    assert check_character("11010519491231002") == "X"


def test_validate_accepts_good_numbers_and_lower_x():
    for number in GOOD:
        assert validate(number) == (True, "valid"), number
    assert is_valid("11010519491231002x")


def test_validate_reasons():
    assert validate("1101051949123100") == (False, "ID number has 16 characters, expected 18")
    ok, reason = validate("11010519491231002Y")
    assert not ok and reason == "check character 'Y' is neither a digit nor X", reason
    ok, reason = validate("11010519491231A02X")
    assert not ok and reason == "character 15 ('A') is not a digit", reason
    ok, reason = validate("110105194912310021")
    assert not ok and reason == "check character is 1, expected X", reason
    ok, reason = validate("110105194913310021")
    assert not ok and reason.startswith("birth date 19491331 is not a valid date"), reason
    ok, reason = validate("110105190102290021")
    assert not ok and "no leap year" in reason, reason
    assert validate(12345)[0] is False


def test_every_single_digit_error_is_caught():
    number = GOOD[2]
    for i in range(17):
        for d in "0123456789":
            if d == number[i]:
                continue
            bad = number[:i] + d + number[i + 1:]
            ok, _ = validate(bad)
            assert not ok, bad


def test_check_character_rejects_bad_input():
    for bad in ("1234", "1101051949123100A"):
        try:
            check_character(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"no ValueError for {bad!r}")
