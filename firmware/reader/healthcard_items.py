"""The Resident Health Card item dictionary (WS/T 543 user card), shared by firmware and host.

One definition of every file and data item of the card (shared/domain/health-card.md §2):

`ITEMS`: one tuple per TLV item, in record order within its file:
    (file, tag, length, coding, name, field)
  - file: "DDF1/EF05" … "DF03/EF06"; the item's record number is its position in that file.
  - tag: the TLV tag (int); length: the fixed value length in bytes; coding: AN, CN or B.
  - name: English name; field: the national reader interface's parameter name.

`CYCLIC_FIELDS`: the fixed layouts of the cyclic records (allergies, immunisations), whose
records are plain bytes (no TLV): file -> ((name, field, offset, length, coding), …).

`FILES`: one tuple per elementary file:
    (file, kind, records_or_size, record_length, read_key, write_key)
  kind is LINEAR (TLV records), CYCLIC, INDEX (1-byte flags) or BINARY; read_key/write_key
  name the key whose authentication the access table requires (None: free).

Field names: those of DDF1 (KLB … YLFYZFFS3) are the national interface's. The DF01-DF03
names (DZLB1, GMWZMC, MYJZSJ, …) are this project's own, built the same way from the pinyin
initials of the Chinese item names, because no public list of them was found.

Codecs (pure functions, no I/O):
  decode(coding, raw)   AN -> bytes with 00 padding stripped (GBK decoding is the host's job),
                        CN -> str of digits with F padding stripped, B -> bytes unchanged
  encode(coding, value, length) the inverse, padded to `length` (ValueError with a reason)
  build_record(tag, value) / parse_record(record) for `tag len value` records
"""

import binascii

from micropython import const

AN = "AN"
CN = "CN"
B = "B"

LINEAR = const(1)
CYCLIC = const(2)
INDEX = const(3)
BINARY = const(4)

# Index flags in DF03/EF05 (inpatient) and DF03/EF06 (outpatient).
FLAG_USED = const(0x00)
FLAG_FREE = const(0xFF)

# Layout of the DF03 binary record files (EE01-EE03 inpatient, ED01-ED05 outpatient).
EE_DATA = const(1639)
ED_DATA = const(3013)
SIGNATURE_LENGTH = const(64)
CERTIFICATE_LENGTH = const(190)
PHOTO_SIZE = const(3072)

ITEMS = (
    # DDF1/EF05: issuer data, read without authentication (by tag).
    ("DDF1/EF05", 0x01, 1, AN, "card type", "KLB"),
    ("DDF1/EF05", 0x02, 4, AN, "specification version", "GFBB"),
    ("DDF1/EF05", 0x03, 30, AN, "issuer name", "FKJGMC"),
    ("DDF1/EF05", 0x04, 11, CN, "issuer code", "FKJGDM"),
    ("DDF1/EF05", 0x05, 180, B, "issuer certificate", "FKJGZS"),
    ("DDF1/EF05", 0x06, 4, CN, "issue date", "FKSJ"),
    ("DDF1/EF05", 0x08, 18, AN, "card number", "KH"),
    ("DDF1/EF05", 0x09, 3, AN, "security code", "AQM"),
    ("DDF1/EF05", 0x0A, 10, AN, "chip serial number", "XPXLH"),
    ("DDF1/EF05", 0x39, 3, CN, "application city code", "YYCSDM"),
    # DDF1/EF06: cardholder.
    ("DDF1/EF06", 0x0B, 30, AN, "name", "XM"),
    ("DDF1/EF06", 0x0C, 1, B, "sex", "XB"),
    ("DDF1/EF06", 0x0D, 1, CN, "nation", "MZ"),
    ("DDF1/EF06", 0x0E, 4, CN, "birth date", "CSRQ"),
    ("DDF1/EF06", 0x0F, 18, AN, "ID number", "SFZH"),
    # DDF1/EF08.
    ("DDF1/EF08", 0x07, 4, CN, "card expiry date", "KYXQ"),
    ("DDF1/EF08", 0x10, 20, AN, "phone 1", "BRDH1"),
    ("DDF1/EF08", 0x11, 20, AN, "phone 2", "BRDH2"),
    ("DDF1/EF08", 0x12, 1, CN, "payment method 1", "YLFYZFFS1"),
    ("DDF1/EF08", 0x13, 1, CN, "payment method 2", "YLFYZFFS2"),
    ("DDF1/EF08", 0x14, 1, CN, "payment method 3", "YLFYZFFS3"),
    # DF01/EF05: addresses.
    ("DF01/EF05", 0x15, 1, CN, "address type 1", "DZLB1"),
    ("DF01/EF05", 0x16, 100, AN, "address 1", "DZ1"),
    ("DF01/EF05", 0x17, 1, CN, "address type 2", "DZLB2"),
    ("DF01/EF05", 0x18, 100, AN, "address 2", "DZ2"),
    # DF01/EF06: contacts.
    ("DF01/EF06", 0x19, 30, AN, "contact 1 name", "LXRXM1"),
    ("DF01/EF06", 0x1A, 1, CN, "contact 1 relation", "LXRGX1"),
    ("DF01/EF06", 0x1B, 20, AN, "contact 1 phone", "LXRDH1"),
    ("DF01/EF06", 0x1C, 30, AN, "contact 2 name", "LXRXM2"),
    ("DF01/EF06", 0x1D, 1, CN, "contact 2 relation", "LXRGX2"),
    ("DF01/EF06", 0x1E, 20, AN, "contact 2 phone", "LXRDH2"),
    ("DF01/EF06", 0x1F, 30, AN, "contact 3 name", "LXRXM3"),
    ("DF01/EF06", 0x20, 1, CN, "contact 3 relation", "LXRGX3"),
    ("DF01/EF06", 0x21, 20, AN, "contact 3 phone", "LXRDH3"),
    # DF01/EF07.
    ("DF01/EF07", 0x22, 1, CN, "education", "WHCD"),
    ("DF01/EF07", 0x23, 1, CN, "marital status", "HYZK"),
    ("DF01/EF07", 0x24, 3, AN, "occupation", "ZY"),
    # DF01/EF08: documents.
    ("DF01/EF08", 0x25, 1, CN, "document type", "ZJLB"),
    ("DF01/EF08", 0x26, 18, AN, "document number", "ZJHM"),
    ("DF01/EF08", 0x27, 17, AN, "health record number", "JKDABH"),
    ("DF01/EF08", 0x28, 18, AN, "rural insurance number", "XNHZH"),
    # DF02/EF05: clinical basics.
    ("DF02/EF05", 0x29, 1, B, "ABO blood type", "ABOXX"),
    ("DF02/EF05", 0x2A, 1, CN, "Rh blood type", "RHXX"),
    ("DF02/EF05", 0x2B, 1, B, "asthma", "XCBZ"),
    ("DF02/EF05", 0x2C, 1, B, "heart disease", "XZBBZ"),
    ("DF02/EF05", 0x2D, 1, B, "cardio-cerebrovascular disease", "XNXGBBZ"),
    ("DF02/EF05", 0x2E, 1, B, "epilepsy", "DXBBZ"),
    ("DF02/EF05", 0x2F, 1, B, "coagulation disorder", "NXWLBZ"),
    ("DF02/EF05", 0x30, 1, B, "diabetes", "TNBBZ"),
    ("DF02/EF05", 0x31, 1, B, "glaucoma", "QGYBZ"),
    ("DF02/EF05", 0x32, 1, B, "dialysis", "TXBZ"),
    ("DF02/EF05", 0x33, 1, B, "organ transplant", "QGYZBZ"),
    ("DF02/EF05", 0x34, 1, B, "organ missing", "QGQSBZ"),
    ("DF02/EF05", 0x35, 1, B, "removable prosthesis", "KZXYZBZ"),
    ("DF02/EF05", 0x36, 1, B, "pacemaker", "XZQBQBZ"),
    ("DF02/EF05", 0x37, 40, AN, "other medical warning", "QTYXJSMC"),
    # DF02/EF06.
    ("DF02/EF06", 0x38, 1, B, "psychiatric flag", "JSBBZ"),
)

CYCLIC_FIELDS = {
    "DF02/EF07": (
        ("allergy substance", "GMWZMC", 0, 20, AN),
        ("allergic reaction", "GMFY", 20, 100, AN),
    ),
    "DF02/EF08": (
        ("vaccine", "MYJZMC", 0, 20, AN),
        ("vaccination date", "MYJZSJ", 20, 4, CN),
    ),
}

_SIG = SIGNATURE_LENGTH + CERTIFICATE_LENGTH
FILES = (
    ("DDF1/EF05", LINEAR, 10, 0, None, "UK_DDF1"),
    ("DDF1/EF06", LINEAR, 5, 0, "IRK_DDF1", "UK_DDF1"),
    ("DDF1/EF07", BINARY, PHOTO_SIZE, 0, "IRK_DDF1", "UK_DDF1"),
    ("DDF1/EF08", LINEAR, 6, 0, "IRK_DDF1", "UK_DDF1"),
    ("DF01/EF05", LINEAR, 4, 0, "IRK_DF01", "UK_DF01"),
    ("DF01/EF06", LINEAR, 9, 0, "IRK_DF01", "UK_DF01"),
    ("DF01/EF07", LINEAR, 3, 0, "IRK_DF01", "UK_DF01"),
    ("DF01/EF08", LINEAR, 4, 0, "IRK_DF01", "UK_DF01"),
    ("DF02/EF05", LINEAR, 15, 0, "IRK_DF02", "UK_DF02_1"),
    ("DF02/EF06", LINEAR, 1, 0, "IRK_DF02", "UK_DF02_2"),
    ("DF02/EF07", CYCLIC, 3, 120, "IRK_DF02", "UK_DF02_3"),
    ("DF02/EF08", CYCLIC, 10, 24, "IRK_DF02", "UK_DF02_3"),
    # Index files: write (84D2) needs UK_DF03_1, erase (840C) needs UK_DF03_2.
    ("DF03/EF05", INDEX, 3, 1, "IRK_DF03", "UK_DF03_1"),
    ("DF03/EF06", INDEX, 5, 1, "IRK_DF03", "UK_DF03_1"),
    ("DF03/EE01", BINARY, EE_DATA + _SIG, 0, "IRK_DF03", "UK_DF03_1"),
    ("DF03/EE02", BINARY, EE_DATA + _SIG, 0, "IRK_DF03", "UK_DF03_1"),
    ("DF03/EE03", BINARY, EE_DATA + _SIG, 0, "IRK_DF03", "UK_DF03_1"),
    ("DF03/ED01", BINARY, ED_DATA + _SIG, 0, "IRK_DF03", "UK_DF03_1"),
    ("DF03/ED02", BINARY, ED_DATA + _SIG, 0, "IRK_DF03", "UK_DF03_1"),
    ("DF03/ED03", BINARY, ED_DATA + _SIG, 0, "IRK_DF03", "UK_DF03_1"),
    ("DF03/ED04", BINARY, ED_DATA + _SIG, 0, "IRK_DF03", "UK_DF03_1"),
    ("DF03/ED05", BINARY, ED_DATA + _SIG, 0, "IRK_DF03", "UK_DF03_1"),
)

ERASE_KEY_DF03 = "UK_DF03_2"


def file_info(path):
    """The FILES tuple of `path` ("DF02/EF07"), or None."""
    for entry in FILES:
        if entry[0] == path:
            return entry
    return None


def items_of(path):
    """The ITEMS tuples of a linear file, in record order (record n = index n-1)."""
    return tuple(item for item in ITEMS if item[0] == path)


def item_by_tag(path, tag):
    """The ITEMS tuple with `tag` in `path`, or None."""
    for item in ITEMS:
        if item[0] == path and item[1] == tag:
            return item
    return None


def item_by_field(field):
    """The ITEMS tuple whose interface field name is `field` ("KH"), or None."""
    for item in ITEMS:
        if item[5] == field:
            return item
    return None


def record_number(path, tag):
    """The record number (1-based) of `tag` in linear file `path`, or 0 when absent."""
    n = 0
    for item in ITEMS:
        if item[0] == path:
            n += 1
            if item[1] == tag:
                return n
    return 0


def decode(coding, raw):
    """Decode a fixed-length value: AN -> bytes without 00 padding, CN -> digits, B -> bytes."""
    if coding == AN:
        end = len(raw)
        while end and raw[end - 1] == 0:
            end -= 1
        return bytes(raw[:end])
    if coding == CN:
        digits = binascii.hexlify(bytes(raw)).decode().upper()
        end = digits.find("F")
        return digits if end < 0 else digits[:end]
    if coding == B:
        return bytes(raw)
    raise ValueError(f"unknown coding {coding!r}")


def encode(coding, value, length):
    """Encode `value` into exactly `length` bytes; ValueError says what is wrong."""
    if coding == CN:
        digits = str(value)
        for ch in digits:
            if ch not in "0123456789":
                raise ValueError(f"CN value {digits!r} has a non-digit {ch!r}")
        if len(digits) > 2 * length:
            raise ValueError(f"CN value {digits!r} is longer than {2 * length} digits")
        digits = digits + "F" * (2 * length - len(digits))
        return binascii.unhexlify(digits)
    if coding == AN or coding == B:
        if isinstance(value, str):
            if coding == B:
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


def parse_record(record):
    """(tag, value) of a `tag len value` record; ValueError when the length byte is wrong."""
    if len(record) < 2:
        raise ValueError(f"record of {len(record)} bytes is too short for tag and length")
    n = record[1]
    if len(record) != n + 2:
        raise ValueError(f"record says {n} value bytes but carries {len(record) - 2}")
    return record[0], bytes(record[2:])


def decode_item(item, record):
    """Decode a whole TLV record of `item` (an ITEMS tuple) to its value."""
    tag, value = parse_record(record)
    if tag != item[1]:
        raise ValueError(f"record has tag {tag:02X}, expected {item[1]:02X}")
    if len(value) != item[2]:
        raise ValueError(f"tag {tag:02X} has {len(value)} bytes, expected {item[2]}")
    return decode(item[3], value)


def decode_cyclic(path, record):
    """Decode a cyclic record of `path` to a tuple of values, one per CYCLIC_FIELDS entry."""
    fields = CYCLIC_FIELDS[path]
    out = []
    for _name, _field, offset, length, coding in fields:
        out.append(decode(coding, record[offset : offset + length]))
    return tuple(out)


def encode_cyclic(path, values):
    """Build a cyclic record of `path` from a sequence of values in CYCLIC_FIELDS order."""
    fields = CYCLIC_FIELDS[path]
    parts = []
    for i in range(len(fields)):
        parts.append(encode(fields[i][4], values[i], fields[i][3]))
    return b"".join(parts)


# Keys of the card and the SAM commands that use them (shared/domain/health-card.md §3):
#   (name, SAM 80DE P1, SAM 80DE P2 = key id, card DF, card key reference = 0082 P2)
# 80DE P1 high nibble: 2 = one diversification level (cardNo8), 4 = two (city8, cardNo8);
# low nibble: 7 = authentication key, 8 = encryption/MAC key (no card key reference: the card
# uses it for secure writes of that DF).
KEYS = (
    ("IRK_DDF1", 0x47, 0x31, "DDF1", 0x04),
    ("IRK_DF01", 0x47, 0x32, "DF01", 0x84),
    ("IRK_DF02", 0x47, 0x33, "DF02", 0x84),
    ("IRK_DF03", 0x47, 0x34, "DF03", 0x84),
    ("UK_DDF1", 0x27, 0x2A, "DDF1", 0x05),
    ("UK_DF01", 0x27, 0x2B, "DF01", 0x85),
    ("UK_DF02_1", 0x47, 0x2C, "DF02", 0x85),
    ("UK_DF02_2", 0x47, 0x2D, "DF02", 0x86),
    ("UK_DF02_3", 0x47, 0x2E, "DF02", 0x87),
    ("UK_DF03_1", 0x47, 0x2F, "DF03", 0x85),
    ("UK_DF03_2", 0x27, 0x30, "DF03", 0x86),
    ("STK_DDF1", 0x28, 0x02, "DDF1", None),
    ("STK_DF01", 0x28, 0x03, "DF01", None),
    ("STK_DF02", 0x48, 0x04, "DF02", None),
    ("STK_DF03", 0x48, 0x05, "DF03", None),
)


def key_info(name):
    """The KEYS tuple named `name` ("UK_DF02_3"), or None."""
    for entry in KEYS:
        if entry[0] == name:
            return entry
    return None
