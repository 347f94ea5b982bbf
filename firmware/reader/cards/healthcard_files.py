"""Whole-file reads of the health card (the photo, cyclic records, index flags, EE/ED
records, a linear file's items): functions of a card session (reader.cards.healthcard.HealthCard
and its writer), imported when a read asks for a file. A tap's identity read reads items
only and never loads this module.
"""

from micropython import const

from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr
from reader.cards.healthcard_errors import INVALID_DATA, HealthCardError, card_sw_error

_CHUNK = const(0x80)


def read_file(card, path):
    if path == "DF03/EE" or path == "DF03/ED":
        return read_visits(card, path[5:7])
    info = hi.file_info(path)
    kind = info[1]
    if kind == hi.LINEAR:
        return {it[5]: card.read_item(it) for it in hr.items_of(path)}
    if path != "DDF1/EF05":
        card.authenticate(info[4])
    card.select_ef(path)
    if kind == hi.CYCLIC:
        return _read_cyclic(card, path, info)
    if kind == hi.INDEX:
        return _read_index(card, path, info[2])
    if path == "DDF1/EF07":
        return _read_photo(card)
    return _read_visit_file(card, path, info[2])


def _read_record(card, number, path):
    """READ RECORD by number in the selected EF -> data, or None for 6A83 (absent)."""
    card._put(0x00, 0xB2, number, 0x04, 0x00)
    data, sw = card._transceive(5, path, number)
    if sw == 0x6A83:
        return None
    if sw != 0x9000:
        raise card_sw_error(sw, "%s record %d" % (path, number))
    return data


def _read_cyclic(card, path, info):
    fields = hr.CYCLIC_FIELDS[path]
    records = []
    for n in range(1, info[2] + 1):
        raw = _read_record(card, n, path)
        if raw is None:
            break
        if len(raw) != info[3]:
            raise HealthCardError(INVALID_DATA, len(raw), "%s record %d" % (path, n),
                                  "%d bytes, expected %d" % (len(raw), info[3]))
        values = hr.decode_cyclic(path, raw)
        records.append({fields[i][1]: values[i] for i in range(len(fields))})
    return records


def _read_index(card, path, count):
    flags = []
    for n in range(1, count + 1):
        raw = _read_record(card, n, path)
        if raw is None or len(raw) != 1 or raw[0] not in (hi.FLAG_USED, hi.FLAG_FREE):
            raise HealthCardError(INVALID_DATA, 0, "%s record %d" % (path, n),
                                  "index flag %r is neither 00 nor FF" % (
                                      None if raw is None else bytes(raw)))
        flags.append(raw[0] == hi.FLAG_USED)
    return flags


def read_binary(card, offset, out):
    """READ BINARY of the selected EF from `offset` into `out` (any writable buffer),
    in chunks of at most 128 bytes (`00B0 offH offL Le`)."""
    total = len(out)
    done = 0
    while done < total:
        n = min(_CHUNK, total - done)
        at = offset + done
        card._put(0x00, 0xB0, at >> 8, at & 0xFF, n)
        data = card._ok(5, card.ef, at)
        if len(data) != n:
            raise HealthCardError(INVALID_DATA, len(data), "%s offset %d" % (card.ef, at),
                                  "%d bytes read, %d asked" % (len(data), n))
        out[done:done + n] = data
        done += n
    return out


def _read_photo(card):
    """DDF1/EF07: 2-byte big-endian length, then the JPEG -> bytes (b"": none)."""
    head = read_binary(card, 0, card._scratch_view(2))
    n = (head[0] << 8) | head[1]
    if n > hi.PHOTO_SIZE - 2:
        raise HealthCardError(INVALID_DATA, n, "DDF1/EF07", "photo length %d is more "
                              "than %d" % (n, hi.PHOTO_SIZE - 2))
    return bytes(read_binary(card, 2, card._scratch_view(n)))


def _read_visit_file(card, path, size):
    """EE0n/ED0n -> {"data", "signature", "certificate"} as bytes: data without its 00
    padding, signature/certificate None when never written."""
    raw = read_binary(card, 0, card._scratch_view(size))
    data_size = size - hi.SIGNATURE_LENGTH - hi.CERTIFICATE_LENGTH
    end = data_size
    while end and raw[end - 1] == 0:
        end -= 1
    sig_end = data_size + hi.SIGNATURE_LENGTH
    return {"data": bytes(raw[0:end]), "signature": _or_none(raw[data_size:sig_end]),
            "certificate": _or_none(raw[sig_end:size])}


def read_visits(card, kind):
    """Every used inpatient ("EE") or outpatient ("ED") record -> {number: record}."""
    index = "DF03/EF05" if kind == "EE" else "DF03/EF06"
    flags = read_file(card, index)
    out = {}
    for i in range(len(flags)):
        if flags[i]:
            out[i + 1] = read_file(card, "DF03/%s%02d" % (kind, i + 1))
    return out


def _or_none(mv):
    for b in mv:
        if b:
            return bytes(mv)
    return None
