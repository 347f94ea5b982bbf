"""Card images: the JSON files that describe one emulated health card (docs/card-image.md).

`CardData` is the card's memory (every file of `reader.cards.healthcard_items.FILES`, raw bytes);
`data_from_image` builds it from a parsed image, `image_from_data` writes it back in human
terms. Items are looked up in the shared dictionary `reader.cards.healthcard_items`, never copied.
"""

import base64
import json
import os

from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr

FORMAT = "hcterm-card-image/1"

# 1-byte B items shown as booleans (flag set = 01).
FLAG_FIELDS = frozenset(
    ("XCBZ", "XZBBZ", "XNXGBBZ", "DXBBZ", "NXWLBZ", "TNBBZ", "QGYBZ", "TXBZ", "QGYZBZ",
     "QGQSBZ", "KZXYZBZ", "XZQBQBZ", "JSBBZ")
)
# Coded B items shown as words: sex (GB/T 2261.1) and ABO blood type.
WORD_FIELDS = {
    "XB": {"unknown": 0, "male": 1, "female": 2, "unspecified": 9},
    "ABOXX": {"A": 1, "B": 2, "O": 3, "AB": 4, "unknown": 5},
}


class ImageError(ValueError):
    """A card image that cannot be loaded: says which entry and why."""


class CardData:
    """Raw contents of every file, plus the non-file state of the card.

    linear[path]: list of raw item values (fixed length, record order);
    cyclic[path]: list of raw records, newest first; index[path]: bytearray of flags;
    binary[path]: bytearray of the whole file.
    """

    def __init__(self):
        self.linear = {}
        self.cyclic = {}
        self.index = {}
        self.binary = {}
        self.uid = b""
        self.ats = b""
        self.keys = {}
        self.pin = "123456"
        self.pin_tries_left = 3
        self.pin_max_tries = 3
        self.application_locked = False
        self.card_locked = False
        self.description = ""


def _hex(text, where):
    try:
        return bytes.fromhex(text)
    except (TypeError, ValueError) as error:
        raise ImageError(f"{where}: not hex ({error})") from None


def item_value_to_raw(item, value):
    """Human JSON value of an ITEMS entry -> its raw fixed-length bytes."""
    _path, _tag, length, coding, _name, field = item
    where = f"{item[0]} {field}"
    if isinstance(value, dict) and "hex" in value:
        raw = _hex(value["hex"], where)
        if len(raw) != length:
            raise ImageError(f"{where}: hex value has {len(raw)} bytes, expected {length}")
        return raw
    if value is None:
        return hr.encode(coding, b"" if coding != hi.CN else "", length)
    try:
        if field in FLAG_FIELDS:
            if not isinstance(value, bool):
                raise ImageError(f"{where}: flag must be true or false, got {value!r}")
            return bytes((1 if value else 0,))
        if field in WORD_FIELDS:
            if value not in WORD_FIELDS[field]:
                raise ImageError(f"{where}: {value!r} is not one of {list(WORD_FIELDS[field])}")
            return bytes((WORD_FIELDS[field][value],))
        if coding == hi.AN:
            return hr.encode(coding, value.encode("gbk"), length)
        if coding == hi.CN:
            return hr.encode(coding, value, length)
        return hr.encode(coding, _hex(value, where), length)
    except (ValueError, AttributeError, UnicodeEncodeError) as error:
        if isinstance(error, ImageError):
            raise
        raise ImageError(f"{where}: {error}") from None


def item_raw_to_value(item, raw):
    """Raw bytes of an ITEMS entry -> its human JSON value (inverse of item_value_to_raw)."""
    coding, field = item[3], item[5]
    if field in FLAG_FIELDS and raw in (b"\x00", b"\x01"):
        return raw == b"\x01"
    if field in WORD_FIELDS:
        for word, code in WORD_FIELDS[field].items():
            if raw == bytes((code,)):
                return word
        return {"hex": raw.hex().upper()}
    if coding == hi.AN:
        try:
            return hi.decode(coding, raw).decode("gbk")
        except UnicodeDecodeError:
            return {"hex": raw.hex().upper()}
    if coding == hi.CN:
        digits = hi.decode(coding, raw)
        if not digits.isdigit() and digits != "":
            return {"hex": raw.hex().upper()}
        if hr.encode(coding, digits, len(raw)) != raw:
            return {"hex": raw.hex().upper()}
        return digits
    return raw.hex().upper()


def _cyclic_to_raw(path, entry):
    fields = hr.CYCLIC_FIELDS[path]
    if isinstance(entry, dict) and "hex" in entry:
        return _hex(entry["hex"], path)
    values = []
    for _name, field, _offset, _length, coding in fields:
        value = entry.get(field)
        if value is None:
            value = "" if coding == hi.CN else b""
        elif coding == hi.AN:
            value = value.encode("gbk")
        values.append(value)
    try:
        return hr.encode_cyclic(path, values)
    except ValueError as error:
        raise ImageError(f"{path}: {error}") from None


def _cyclic_to_value(path, raw):
    out = {}
    for _name, field, offset, length, coding in hr.CYCLIC_FIELDS[path]:
        part = raw[offset : offset + length]
        try:
            out[field] = hi.decode(coding, part).decode("gbk") if coding == hi.AN else (
                hi.decode(coding, part))
        except UnicodeDecodeError:
            return {"hex": raw.hex().upper()}
    return out


def _binary_record_to_raw(path, entry, size):
    raw = bytearray(size)
    if entry is None:
        return raw
    data_len = size - hi.SIGNATURE_LENGTH - hi.CERTIFICATE_LENGTH
    if "hex" in entry:
        data = _hex(entry["hex"], path)
    else:
        data = entry.get("text", "").encode("gbk")
    if len(data) > data_len:
        raise ImageError(f"{path}: data is {len(data)} bytes, at most {data_len} fit")
    raw[: len(data)] = data
    for key, offset, length in (("signature", data_len, hi.SIGNATURE_LENGTH),
                                ("certificate", data_len + hi.SIGNATURE_LENGTH,
                                 hi.CERTIFICATE_LENGTH)):
        if entry.get(key):
            part = _hex(entry[key], f"{path} {key}")
            if len(part) != length:
                raise ImageError(f"{path} {key}: {len(part)} bytes, expected {length}")
            raw[offset : offset + length] = part
    return raw


def _binary_record_to_value(raw):
    if not any(raw):
        return None
    data_len = len(raw) - hi.SIGNATURE_LENGTH - hi.CERTIFICATE_LENGTH
    data = bytes(raw[:data_len]).rstrip(b"\x00")
    sig = bytes(raw[data_len : data_len + hi.SIGNATURE_LENGTH])
    cert = bytes(raw[data_len + hi.SIGNATURE_LENGTH :])
    try:
        out = {"text": data.decode("gbk")}
    except UnicodeDecodeError:
        out = {"hex": data.hex().upper()}
    out["signature"] = sig.hex().upper() if any(sig) else None
    out["certificate"] = cert.hex().upper() if any(cert) else None
    return out


def _photo_to_raw(entry):
    raw = bytearray(hi.PHOTO_SIZE)
    if entry is None:
        return raw
    if "raw_base64" in entry:
        data = base64.b64decode(entry["raw_base64"])
        if len(data) != hi.PHOTO_SIZE:
            raise ImageError(f"DDF1/EF07: raw photo file is {len(data)} bytes, expected 3072")
        return bytearray(data)
    jpeg = base64.b64decode(entry["jpeg_base64"])
    if len(jpeg) + 2 > hi.PHOTO_SIZE:
        raise ImageError(f"DDF1/EF07: photo of {len(jpeg)} bytes + 2 exceeds 3072")
    raw[0:2] = len(jpeg).to_bytes(2, "big")
    raw[2 : 2 + len(jpeg)] = jpeg
    return raw


def _photo_to_value(raw):
    if not any(raw):
        return None
    n = int.from_bytes(raw[0:2], "big")
    if 0 < n <= hi.PHOTO_SIZE - 2 and not any(raw[2 + n :]):
        return {"jpeg_base64": base64.b64encode(bytes(raw[2 : 2 + n])).decode()}
    return {"raw_base64": base64.b64encode(bytes(raw)).decode()}


def data_from_image(image):
    """Build CardData from a parsed image (dict); ImageError names any bad entry."""
    if not isinstance(image, dict):
        raise ImageError(f"the image is a JSON {type(image).__name__}, not an object with "
                         f'"format": "{FORMAT}" (docs/card-image.md)')
    try:
        return _data_from_image(image)
    except ImageError:
        raise
    except KeyError as error:
        raise ImageError(f"{error.args[0]} is missing (docs/card-image.md)") from None
    except (TypeError, AttributeError, ValueError, IndexError) as error:
        raise ImageError(f"an entry has the wrong type or form ({error}): compare with a "
                         "sample image (docs/card-image.md)") from None


def _data_from_image(image):
    if image.get("format") != FORMAT:
        raise ImageError(f"format is {image.get('format')!r}, expected {FORMAT!r}")
    data = CardData()
    data.description = image.get("description", "")
    data.uid = _hex(image["uid"], "uid")
    if len(data.uid) not in (4, 7, 10) or data.uid[0] == 0x88:
        raise ImageError("uid: 4, 7 or 10 bytes (ISO 14443-3 single, double, triple size), "
                         "not starting with the cascade tag 88")
    data.ats = _hex(image["ats"], "ats")
    if len(data.ats) < 13 or data.ats[0] != len(data.ats):
        raise ImageError("ats: needs TL = its length and at least 13 bytes (cardNo8 = ats[5:13])")
    for entry in hi.KEYS:
        if entry[0] not in image.get("keys", {}):
            raise ImageError(f"keys: {entry[0]} is missing")
        key = _hex(image["keys"][entry[0]], f"keys {entry[0]}")
        if len(key) != 16:
            raise ImageError(f"keys {entry[0]}: {len(key)} bytes, expected 16")
        data.keys[entry[0]] = key
    pin = image.get("pin", {})
    data.pin = pin.get("value", data.pin)
    data.pin_max_tries = pin.get("max_tries", data.pin_max_tries)
    data.pin_tries_left = pin.get("tries_left", data.pin_max_tries)
    lock = image.get("lock", {})
    data.application_locked = bool(lock.get("application", False))
    data.card_locked = bool(lock.get("card", False))
    files = image.get("files", {})
    for path, kind, count, _reclen, _r, _w in hi.FILES:
        entry = files.get(path)
        if kind == hi.LINEAR:
            entry = entry or {}
            unknown = set(entry) - {item[5] for item in hr.items_of(path)}
            if unknown:
                raise ImageError(f"{path}: unknown fields {sorted(unknown)}")
            data.linear[path] = [item_value_to_raw(item, entry.get(item[5]))
                                 for item in hr.items_of(path)]
        elif kind == hi.CYCLIC:
            entries = entry or []
            if len(entries) > count:
                raise ImageError(f"{path}: {len(entries)} records, the file holds {count}")
            data.cyclic[path] = [_cyclic_to_raw(path, e) for e in entries]
        elif kind == hi.INDEX:
            flags = entry or [False] * count
            if len(flags) != count:
                raise ImageError(f"{path}: {len(flags)} flags, expected {count}")
            data.index[path] = bytearray(hi.FLAG_USED if f else hi.FLAG_FREE for f in flags)
        elif path == "DDF1/EF07":
            data.binary[path] = _photo_to_raw(entry)
        else:
            data.binary[path] = _binary_record_to_raw(path, entry, count)
    return data


def image_from_data(data):
    """The human JSON image (dict) of CardData."""
    files = {}
    for path, kind, _count, _reclen, _r, _w in hi.FILES:
        if kind == hi.LINEAR:
            files[path] = {item[5]: item_raw_to_value(item, raw)
                           for item, raw in zip(hr.items_of(path), data.linear[path])}
        elif kind == hi.CYCLIC:
            files[path] = [_cyclic_to_value(path, raw) for raw in data.cyclic[path]]
        elif kind == hi.INDEX:
            files[path] = [flag == hi.FLAG_USED for flag in data.index[path]]
        elif path == "DDF1/EF07":
            files[path] = _photo_to_value(data.binary[path])
        else:
            files[path] = _binary_record_to_value(data.binary[path])
    return {
        "format": FORMAT,
        "description": data.description,
        "uid": data.uid.hex().upper(),
        "ats": data.ats.hex().upper(),
        "pin": {"value": data.pin, "tries_left": data.pin_tries_left,
                "max_tries": data.pin_max_tries},
        "lock": {"application": data.application_locked, "card": data.card_locked},
        "keys": {name: key.hex().upper() for name, key in data.keys.items()},
        "files": files,
    }


MAX_IMAGE_BYTES = 256 * 1024   # a card image is a few KB (the photo 4 KB of base64)


def read_image(path):
    """The parsed JSON of the card image at `path`: a regular file of at most
    MAX_IMAGE_BYTES; ImageError (or OSError) otherwise, never more read than that."""
    if os.path.exists(path) and not os.path.isfile(path):   # a device, a FIFO, a folder
        raise ImageError(f"{path} is not a regular file: give a card JSON image")
    with open(path, "rb") as f:
        raw = f.read(MAX_IMAGE_BYTES + 1)
    if len(raw) > MAX_IMAGE_BYTES:
        raise ImageError(f"{path} is over {MAX_IMAGE_BYTES // 1024} KiB: a card image is a few "
                         "KB of JSON")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ImageError(f"{path} is not UTF-8 text") from None
    except RecursionError:
        raise ImageError(f"{path} is JSON nested too deep to be a card image") from None
    except ValueError as error:
        raise ImageError(f"{path} is not JSON ({error})") from None


def write_image(image, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(image, f, ensure_ascii=False, indent=1)
        f.write("\n")
