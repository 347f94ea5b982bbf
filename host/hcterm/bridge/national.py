"""Card fields as the national interface gives them: AN as text, CN as digits, B as hex.

The reader sends AN values (names, addresses, the card number) as upper-case hex of their GBK
bytes (firmware reader.terminal / reader.terminal_requests); the HIS expects text, as the
national DLL writes it. `to_national(fields)` decodes every AN field that is hex of printable
GBK text and leaves everything else as it came (CN digits, B hex, fields that are already
text, fields this dictionary does not know). `to_device(fields)` is the inverse for writes:
AN text -> GBK hex. Pure functions, no I/O.

National read functions: `NATIONAL_READS` maps each `iR_…Info` name of hcterm.link_national
to its card file and whether it takes a record number (`recNo`).
"""

import binascii
import inspect

from reader import healthcard_items as hi

from ..link_national import FILE_FIELDS, NationalInterface

AN_FIELDS = frozenset(item[5] for item in hi.ITEMS if item[3] == hi.AN) | frozenset(
    field for layout in hi.CYCLIC_FIELDS.values() for (_, field, _, _, coding) in layout
    if coding == hi.AN)


def _national_reads():
    table = {}
    for name, func in inspect.getmembers(NationalInterface, inspect.isfunction):
        if name.startswith("iR_") and name.endswith("Info"):
            params = [p for p in inspect.signature(func).parameters if p != "self"]
            file = f"{name[3:7]}/{name[7:11]}"
            fields = FILE_FIELDS.get(file) or [f[1] for f in hi.CYCLIC_FIELDS.get(file, ())]
            table[name] = {"file": file, "record": "recNo" in params, "fields": fields}
    return table


NATIONAL_READS = _national_reads()


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
