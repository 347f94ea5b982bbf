"""The health card's record codecs beyond a tap's read: values encoded for writes, the cyclic
record layouts (allergies, immunisations), `tag len value` records built, a linear file's items
in order. Part of the item dictionary (reader.cards.healthcard_items finds these names too, and
imports this module on first use): the tap's identity read needs none of it, so it is not in
RAM while a reader only taps.

`CYCLIC_FIELDS`: file -> ((name, field, offset, length, coding), …) of its fixed record layout.
`encode(coding, value, length)`: the inverse of healthcard_items.decode, padded to `length`
(ValueError with a reason). `build_record(tag, value)`, `encode_cyclic(path, values)`,
`decode_cyclic(path, record)`, `items_of(path)`, `item_by_tag(path, tag)`, `to_hex(data)`.
"""

import binascii

from reader.cards import healthcard_items as hi

CYCLIC_FIELDS = {
    "DF02/EF07": (
        ("allergy substance", "GMWZMC", 0, 20, hi.AN),
        ("allergic reaction", "GMFY", 20, 100, hi.AN),
    ),
    "DF02/EF08": (
        ("vaccine", "MYJZMC", 0, 20, hi.AN),
        ("vaccination date", "MYJZSJ", 20, 4, hi.CN),
    ),
}

def items_of(path):
    """The ITEMS tuples of a linear file, in record order (record n = index n-1)."""
    return tuple(item for item in hi.each_item() if item[0] == path)


def item_by_tag(path, tag):
    """The ITEMS tuple with `tag` in `path`, or None."""
    for item in hi.each_item():
        if item[0] == path and item[1] == tag:
            return item
    return None


def encode(coding, value, length):
    """Encode `value` into exactly `length` bytes; ValueError says what is wrong."""
    if coding == hi.CN:
        digits = str(value)
        for ch in digits:
            if ch not in "0123456789":
                raise ValueError(f"CN value {digits!r} has a non-digit {ch!r}")
        if len(digits) > 2 * length:
            raise ValueError(f"CN value {digits!r} is longer than {2 * length} digits")
        digits = digits + "F" * (2 * length - len(digits))
        return binascii.unhexlify(digits)
    if coding == hi.AN or coding == hi.B:
        if isinstance(value, str):
            if coding == hi.B:
                raise ValueError("B value must be bytes, not text")
            value = value.encode()
        if len(value) > length:
            raise ValueError(f"{coding} value is {len(value)} bytes, at most {length} fit")
        return bytes(value) + bytes(length - len(value))
    raise ValueError(f"unknown coding {coding!r}")


def to_hex(data):
    """Upper-case hex text of bytes, as the interface prints B items."""
    return binascii.hexlify(bytes(data)).decode().upper()


def build_record(tag, value):
    """A `tag len value` record."""
    if not 0 <= tag <= 0xFF or len(value) > 0xFF:
        raise ValueError(f"tag {tag!r} or value length {len(value)} out of range")
    return bytes((tag, len(value))) + bytes(value)


def decode_cyclic(path, record):
    """Decode a cyclic record of `path` to a tuple of values, one per CYCLIC_FIELDS entry."""
    fields = CYCLIC_FIELDS[path]
    out = []
    for _name, _field, offset, length, coding in fields:
        out.append(hi.decode(coding, record[offset : offset + length]))
    return tuple(out)


def encode_cyclic(path, values):
    """Build a cyclic record of `path` from a sequence of values in CYCLIC_FIELDS order."""
    fields = CYCLIC_FIELDS[path]
    parts = []
    for i in range(len(fields)):
        parts.append(encode(fields[i][4], values[i], fields[i][3]))
    return b"".join(parts)
