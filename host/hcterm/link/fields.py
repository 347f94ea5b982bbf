"""Card fields as the national interface gives them: AN as text, CN as digits, B as hex,
and the coded identity items as their national standards write them.

The reader sends AN values (names, addresses, the card number) as upper-case hex of their GBK
bytes (firmware reader.terminal.flow / reader.terminal.card_requests, docs/terminal-flow.md);
the HIS expects text, as the national DLL writes it. `to_national(fields)` decodes every AN
field that is hex of printable GBK text and leaves everything else as it came (CN digits, B
hex, fields that are already text, fields the dictionary does not know), except two codes:
XB (sex, a 1-byte B item: `01` on the card) becomes GB/T 2261.1's one-digit code ("0"
unknown, "1" male, "2" female, "9" unspecified), and MZ (nation, CN) GB 3304's two-digit
code ("01" Han … "56"; a lone digit gets its leading zero). `to_device(fields)` is the
inverse for writes: AN text -> GBK hex, XB "1" -> "01", MZ two digits. Pure functions, no
I/O; the Reader's national methods, the bridge and the demo all use these.
"""

import binascii

from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr

AN_FIELDS = frozenset(item[5] for item in hi.ITEMS if item[3] == hi.AN) | frozenset(
    field for layout in hr.CYCLIC_FIELDS.values() for (_, field, _, _, coding) in layout
    if coding == hi.AN)

# XB: the card's B byte (hex, as the reader sends it) <-> GB/T 2261.1's one-digit code
SEX_CODES = {"00": "0", "01": "1", "02": "2", "09": "9"}
SEX_DEVICE = {code: byte for byte, code in SEX_CODES.items()}

def _printable(text):
    return all(ch.isprintable() for ch in text)


def an_text(value):
    """Hex of GBK bytes -> text, when it is that; otherwise the value unchanged."""
    if not isinstance(value, str) or not value or len(value) % 2:
        return value
    try:
        raw = binascii.unhexlify(value)
    except (binascii.Error, ValueError):
        return value
    try:
        text = raw.rstrip(b"\x00").decode("gbk")
    except UnicodeDecodeError:
        return value
    return text if _printable(text) else value


def _nation(value):
    """MZ: CN digits -> GB 3304's two-digit code ("1" -> "01"); anything else unchanged."""
    if isinstance(value, str) and len(value) == 1 and value.isdigit():
        return "0" + value
    return value


def _national_value(key, value):
    if key in AN_FIELDS:
        return an_text(value)
    if key == "XB" and isinstance(value, str):
        return SEX_CODES.get(value.upper(), value)
    if key == "MZ":
        return _nation(value)
    return value


def to_national(fields):
    """A dict of card fields from the reader -> the same with AN fields as text, XB as
    GB/T 2261.1's one-digit code and MZ as GB 3304's two digits. Values already in national
    form (XB "1") and values that are no known code stay as they came."""
    return {key: _national_value(key, value) for key, value in fields.items()}


def to_device(fields):
    """Fields of a write (AN as text) -> the reader's form (AN as GBK hex). ValueError names
    a field whose text GBK cannot hold. XB in national form ("1") -> the card's byte ("01"),
    MZ "1" -> "01"; values in the device form already stay."""
    out = {}
    for key, value in fields.items():
        if key == "XB" and isinstance(value, str):
            value = SEX_DEVICE.get(value, value)
        elif key == "MZ":
            value = _nation(value)
        if key in AN_FIELDS and isinstance(value, str):
            try:
                value = value.encode("gbk").hex().upper()
            except UnicodeEncodeError:
                raise ValueError(f"{key}: {value!r} has characters GBK cannot encode") \
                    from None
        out[key] = value
    return out
