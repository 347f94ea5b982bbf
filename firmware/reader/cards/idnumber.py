"""The 18-character citizen ID number (GB 11643): ISO 7064 MOD 11-2 check character.

check_character(first17) -> the check character ("0"-"9" or "X") of 17 digits.
validate(id_number) -> (True, "valid") or (False, reason), checking in order: length,
digits, birth date (YYYYMMDD at characters 7-14), check character. Lower-case "x" counts as "X".
"""

# MOD 11-2 weights of the 17 digits, days per month: bytes constants read in place
_WEIGHTS = b"\x07\x09\x0a\x05\x08\x04\x02\x01\x06\x03\x07\x09\x0a\x05\x08\x04\x02"
_CHECK_MAP = "10X98765432"
_DIGITS = "0123456789"
_DAYS = b"\x1f\x1d\x1f\x1e\x1f\x1e\x1f\x1f\x1e\x1f\x1e\x1f"   # days per month (Feb: 29)


def check_character(first17):
    """ISO 7064 MOD 11-2 check character of a 17-digit string; ValueError if not 17 digits."""
    if len(first17) != 17:
        raise ValueError(f"need 17 digits, got {len(first17)} characters")
    total = 0
    for i in range(17):
        ch = first17[i]
        if ch not in _DIGITS:
            raise ValueError(f"character {i + 1} ({ch!r}) is not a digit")
        total += (ord(ch) - 48) * _WEIGHTS[i]
    return _CHECK_MAP[total % 11]


def _date_reason(date):
    year = int(date[0:4])
    month = int(date[4:6])
    day = int(date[6:8])
    if year < 1850 or not 1 <= month <= 12 or not 1 <= day <= _DAYS[month - 1]:
        return f"birth date {date} is not a valid date"
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if month == 2 and day == 29 and not leap:
        return f"birth date {date} is not a valid date ({year} is no leap year)"
    return None


def validate(id_number):
    """(True, "valid") or (False, reason) for an 18-character ID number."""
    if not isinstance(id_number, str):
        return False, f"ID number must be text, got {type(id_number).__name__}"
    if len(id_number) != 18:
        return False, f"ID number has {len(id_number)} characters, expected 18"
    for i in range(17):
        if id_number[i] not in _DIGITS:
            return False, f"character {i + 1} ({id_number[i]!r}) is not a digit"
    last = id_number[17].upper()
    if last not in _DIGITS and last != "X":
        return False, f"check character {id_number[17]!r} is neither a digit nor X"
    reason = _date_reason(id_number[6:14])
    if reason:
        return False, reason
    expected = check_character(id_number[:17])
    if last != expected:
        return False, f"check character is {last}, expected {expected}"
    return True, "valid"


def is_valid(id_number):
    """True when validate() accepts `id_number`."""
    return validate(id_number)[0]
