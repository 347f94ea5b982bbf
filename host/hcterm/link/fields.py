"""Card fields as the national interface gives them: AN as text, CN as digits, B as hex.

The reader sends AN values (names, addresses, the card number) as upper-case hex of their GBK
bytes (firmware reader.terminal.flow / reader.terminal.card_requests, docs/terminal-flow.md);
the HIS expects text, as the national DLL writes it. `to_national(fields)` decodes every AN
field that is hex of printable GBK text and leaves everything else as it came (CN digits, B
hex, fields that are already text, fields the dictionary does not know). `to_device(fields)` is the
inverse for writes: AN text -> GBK hex. Pure functions, no I/O; the Reader's national
methods, the bridge and the demo all use these.
"""

import binascii

from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr

AN_FIELDS = frozenset(item[5] for item in hi.ITEMS if item[3] == hi.AN) | frozenset(
    field for layout in hr.CYCLIC_FIELDS.values() for (_, field, _, _, coding) in layout
    if coding == hi.AN)





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


def to_national(fields):
    """A dict of card fields from the reader -> the same with AN fields as text."""
    return {key: an_text(value) if key in AN_FIELDS else value for key, value in fields.items()}


def to_device(fields):
    """Fields of a write (AN as text) -> the reader's form (AN as GBK hex). ValueError names
    a field whose text GBK cannot hold."""
    out = {}
    for key, value in fields.items():
        if key in AN_FIELDS and isinstance(value, str):
            try:
                value = value.encode("gbk").hex().upper()
            except UnicodeEncodeError:
                raise ValueError(f"{key}: {value!r} has characters GBK cannot encode") \
                    from None
        out[key] = value
    return out
