"""What a shared parser makes of one input, as a line of text that must be the same under
CPython and MicroPython: tests/host/test_parser_properties.py draws the inputs with
Hypothesis on CPython, computes these lines there, then replays the inputs under the
`micropython` binary (this module on its path, the firmware's own modules) and compares.

Runs on both sides: plain MicroPython-compatible code, bytes shown as hex, no dict order or
repr of text relied on. A parser's own error is an outcome; any other exception escapes and
fails the test.
"""

import json
from binascii import hexlify, unhexlify

from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr
from reader.cards.qrcode import QRCodeError
from reader.chips.sam_activation import atr_need, choose_fidi, parse_atr
from reader.chips.sam_slot import SAMError
from reader.protocols.iso14443_4 import TCLError
from reader.terminal import blacklist as bl


def outcome(function, value):
    """The ATS, QR code and blacklist key parsers: the value, or the error's class name."""
    try:
        result = function(value)
    except (TCLError, QRCodeError, bl.BlacklistError) as error:
        return "error:" + type(error).__name__
    if isinstance(result, dict):
        return json.dumps(dict(sorted(result.items())))
    return repr(getattr(result, "fsc", result))


def show(value):
    """A decoded value: bytes as b:HEX, text (CN digits) as s:TEXT, tuples item by item."""
    if isinstance(value, tuple):
        return "(" + " ".join(show(v) for v in value) + ")"
    if isinstance(value, (bytes, bytearray)):
        return "b:" + hexlify(value).decode()
    return "s:" + value


def atr_outcome(data, clock_hz, max_baud):
    """parse_atr and atr_need of `data`, and choose_fidi at `clock_hz`/`max_baud` if it
    parses: every field of the ATR, or the SAMError's code and message."""
    need = atr_need(data)
    try:
        atr = parse_atr(data)
    except SAMError as error:
        return "need %d error %d %s" % (need, error.code, error)
    levels = []
    for level in atr.interface:
        levels.append(",".join("%s%02X" % (name, level[name]) for name in ("TA", "TB", "TC",
                                                                            "TD")
                               if name in level))
    fi_i, di_i = choose_fidi(atr, clock_hz, max_baud)
    return "need %d inverse %s levels %s historical %s ta1 %02X fi %d di %d n %d T %s " \
           "specific %s wi %d fidi %d %d" % (
               need, atr.inverse, "/".join(levels), hexlify(atr.historical).decode(), atr.ta1,
               atr.fi, atr.di, atr.n, ",".join(str(t) for t in atr.protocols), atr.specific,
               atr.wi, fi_i, di_i)


def _item_with_tag(tag):
    for item in hi.each_item():
        if item[1] == tag:
            return item
    return hi.item_at(0)            # no item has it: the tag check answers


def record_outcome(data):
    """parse_record of `data`, decode_item with the item of its tag (the first item when no
    item has it), decode_cyclic of both cyclic layouts: values or ValueError messages."""
    try:
        tag, value = hi.parse_record(data)
    except ValueError as error:
        parsed = "error " + str(error)
        item = hi.item_at(0)
    else:
        parsed = "%02X %s" % (tag, show(value))
        item = _item_with_tag(tag)
    try:
        decoded = show(hi.decode_item(item, data))
    except ValueError as error:
        decoded = "error " + str(error)
    cyclic = " ".join(show(hr.decode_cyclic(path, data)) for path in sorted(hr.CYCLIC_FIELDS))
    return "%s | %s %s | %s" % (parsed, item[5], decoded, cyclic)


def cyclic_outcome(path, values):
    """encode_cyclic of `values` (bytes given as hex, digits as text) and the record decoded
    back, or that the values do not fit (ValueError; its text quotes the value)."""
    values = [unhexlify(v[2:]) if v.startswith("b:") else v[2:] for v in values]
    try:
        record = hr.encode_cyclic(path, values)
    except ValueError:
        return "error ValueError"
    return "%s %s" % (hexlify(record).decode(), show(hr.decode_cyclic(path, record)))
