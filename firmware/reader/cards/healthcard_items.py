"""The Resident Health Card item dictionary (WS/T 543 user card), shared by firmware and host.

One definition of every file and data item of the card (docs/healthcard-app.md):

The tables are fixed-width text rows in bytes constants (`_ITEM_TABLE`, `_FILE_TABLE`,
`_KEY_TABLE`): frozen or imported in place from the firmware image they stay in flash, and the
lookups below read single rows, so the firmware never holds the whole dictionary in RAM.
`ITEMS`, `FILES` and `KEYS` (tuples of the rows) are built on first access, for the host.

`ITEMS`: one tuple per TLV item, in record order within its file:
    (file, tag, length, coding, name, field)
  - file: "DDF1/EF05" … "DF03/EF06"; the item's record number is its position in that file.
  - tag: the TLV tag (int); length: the fixed value length in bytes; coding: AN, CN or B.
  - name: English name; field: the national reader interface's parameter name.

`CYCLIC_FIELDS` (the fixed layouts of the allergy and immunisation records), `encode`,
`build_record`, `encode_cyclic`, `decode_cyclic`, `items_of`, `item_by_tag`, `to_hex` are in
reader.cards.healthcard_records, which imports this module (a tap's read needs none of them).

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
  parse_record(record) / decode_item(item, record) for `tag len value` records
  (the inverse, encode and build_record: reader.cards.healthcard_records)
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

# One row per item, fixed width (62 bytes with the | and the newline): file, tag (hex), length,
# coding, field, name. A bytes constant: imported in place from the firmware image it
# costs no RAM; rows are read on demand (item_by_field, items_of, each_item).
_ITEM_W = const(62)
_ITEM_TABLE = b"""\
DDF1/EF05 01   1 AN KLB       card type                     |
DDF1/EF05 02   4 AN GFBB      specification version         |
DDF1/EF05 03  30 AN FKJGMC    issuer name                   |
DDF1/EF05 04  11 CN FKJGDM    issuer code                   |
DDF1/EF05 05 180 B  FKJGZS    issuer certificate            |
DDF1/EF05 06   4 CN FKSJ      issue date                    |
DDF1/EF05 08  18 AN KH        card number                   |
DDF1/EF05 09   3 AN AQM       security code                 |
DDF1/EF05 0A  10 AN XPXLH     chip serial number            |
DDF1/EF05 39   3 CN YYCSDM    application city code         |
DDF1/EF06 0B  30 AN XM        name                          |
DDF1/EF06 0C   1 B  XB        sex                           |
DDF1/EF06 0D   1 CN MZ        nation                        |
DDF1/EF06 0E   4 CN CSRQ      birth date                    |
DDF1/EF06 0F  18 AN SFZH      ID number                     |
DDF1/EF08 07   4 CN KYXQ      card expiry date              |
DDF1/EF08 10  20 AN BRDH1     phone 1                       |
DDF1/EF08 11  20 AN BRDH2     phone 2                       |
DDF1/EF08 12   1 CN YLFYZFFS1 payment method 1              |
DDF1/EF08 13   1 CN YLFYZFFS2 payment method 2              |
DDF1/EF08 14   1 CN YLFYZFFS3 payment method 3              |
DF01/EF05 15   1 CN DZLB1     address type 1                |
DF01/EF05 16 100 AN DZ1       address 1                     |
DF01/EF05 17   1 CN DZLB2     address type 2                |
DF01/EF05 18 100 AN DZ2       address 2                     |
DF01/EF06 19  30 AN LXRXM1    contact 1 name                |
DF01/EF06 1A   1 CN LXRGX1    contact 1 relation            |
DF01/EF06 1B  20 AN LXRDH1    contact 1 phone               |
DF01/EF06 1C  30 AN LXRXM2    contact 2 name                |
DF01/EF06 1D   1 CN LXRGX2    contact 2 relation            |
DF01/EF06 1E  20 AN LXRDH2    contact 2 phone               |
DF01/EF06 1F  30 AN LXRXM3    contact 3 name                |
DF01/EF06 20   1 CN LXRGX3    contact 3 relation            |
DF01/EF06 21  20 AN LXRDH3    contact 3 phone               |
DF01/EF07 22   1 CN WHCD      education                     |
DF01/EF07 23   1 CN HYZK      marital status                |
DF01/EF07 24   3 AN ZY        occupation                    |
DF01/EF08 25   1 CN ZJLB      document type                 |
DF01/EF08 26  18 AN ZJHM      document number               |
DF01/EF08 27  17 AN JKDABH    health record number          |
DF01/EF08 28  18 AN XNHZH     rural insurance number        |
DF02/EF05 29   1 B  ABOXX     ABO blood type                |
DF02/EF05 2A   1 CN RHXX      Rh blood type                 |
DF02/EF05 2B   1 B  XCBZ      asthma                        |
DF02/EF05 2C   1 B  XZBBZ     heart disease                 |
DF02/EF05 2D   1 B  XNXGBBZ   cardio-cerebrovascular disease|
DF02/EF05 2E   1 B  DXBBZ     epilepsy                      |
DF02/EF05 2F   1 B  NXWLBZ    coagulation disorder          |
DF02/EF05 30   1 B  TNBBZ     diabetes                      |
DF02/EF05 31   1 B  QGYBZ     glaucoma                      |
DF02/EF05 32   1 B  TXBZ      dialysis                      |
DF02/EF05 33   1 B  QGYZBZ    organ transplant              |
DF02/EF05 34   1 B  QGQSBZ    organ missing                 |
DF02/EF05 35   1 B  KZXYZBZ   removable prosthesis          |
DF02/EF05 36   1 B  XZQBQBZ   pacemaker                     |
DF02/EF05 37  40 AN QTYXJSMC  other medical warning         |
DF02/EF06 38   1 B  JSBBZ     psychiatric flag              |
"""

# One row per elementary file (41 bytes): path, kind, records or size, record length,
# read key ("-": free), write key. Index files: write (84D2) needs UK_DF03_1, erase (840C)
# UK_DF03_2.
_FILE_W = const(41)
_FILE_TABLE = b"""\
DDF1/EF05 1   10   0 -        UK_DDF1  |
DDF1/EF06 1    5   0 IRK_DDF1 UK_DDF1  |
DDF1/EF07 4 3072   0 IRK_DDF1 UK_DDF1  |
DDF1/EF08 1    6   0 IRK_DDF1 UK_DDF1  |
DF01/EF05 1    4   0 IRK_DF01 UK_DF01  |
DF01/EF06 1    9   0 IRK_DF01 UK_DF01  |
DF01/EF07 1    3   0 IRK_DF01 UK_DF01  |
DF01/EF08 1    4   0 IRK_DF01 UK_DF01  |
DF02/EF05 1   15   0 IRK_DF02 UK_DF02_1|
DF02/EF06 1    1   0 IRK_DF02 UK_DF02_2|
DF02/EF07 2    3 120 IRK_DF02 UK_DF02_3|
DF02/EF08 2   10  24 IRK_DF02 UK_DF02_3|
DF03/EF05 3    3   1 IRK_DF03 UK_DF03_1|
DF03/EF06 3    5   1 IRK_DF03 UK_DF03_1|
DF03/EE01 4 1893   0 IRK_DF03 UK_DF03_1|
DF03/EE02 4 1893   0 IRK_DF03 UK_DF03_1|
DF03/EE03 4 1893   0 IRK_DF03 UK_DF03_1|
DF03/ED01 4 3267   0 IRK_DF03 UK_DF03_1|
DF03/ED02 4 3267   0 IRK_DF03 UK_DF03_1|
DF03/ED03 4 3267   0 IRK_DF03 UK_DF03_1|
DF03/ED04 4 3267   0 IRK_DF03 UK_DF03_1|
DF03/ED05 4 3267   0 IRK_DF03 UK_DF03_1|
"""

ERASE_KEY_DF03 = "UK_DF03_2"


_KEY_W = const(25)  # row width of _KEY_TABLE (below)
_CODINGS = {b"AN": AN, b"CN": CN, b"B ": B}
_N_ITEMS = const(57)
_N_FILES = const(22)
_N_KEYS = const(15)


def _text(row, a, b):
    return str(row[a:b], "ascii").rstrip()


def _num(t, at, n, base=10):
    """The number written in n characters of table t at `at` (spaces skipped), no allocation."""
    v = 0
    for k in range(at, at + n):
        c = t[k]
        if c != 0x20:
            v = v * base + (c - 0x30 if c <= 0x39 else c - 0x37)
    return v


def _str(t, at, n):
    end = at + n
    while end > at and t[end - 1] == 0x20:
        end -= 1
    return str(t[at:end], "ascii")


def _item(i):
    """Row i of the item table as an ITEMS tuple (file, tag, length, coding, name, field)."""
    t = _ITEM_TABLE
    a = i * _ITEM_W
    c = t[a + 17]
    coding = AN if c == 0x41 else CN if c == 0x43 else B
    return (str(t[a:a + 9], "ascii"), _num(t, a + 10, 2, 16), _num(t, a + 13, 3), coding,
            _str(t, a + 30, 30), _str(t, a + 20, 9))


def _file(i):
    row = memoryview(_FILE_TABLE)[i * _FILE_W:(i + 1) * _FILE_W]
    read_key = _text(row, 21, 29)
    return (str(row[0:9], "ascii"), int(str(row[10:11], "ascii")), int(str(row[12:16], "ascii")),
            int(str(row[17:20], "ascii")), None if read_key == "-" else read_key,
            _text(row, 30, 39))


def _key(i):
    row = memoryview(_KEY_TABLE)[i * _KEY_W:(i + 1) * _KEY_W]
    ref = str(row[21:23], "ascii")
    return (_text(row, 0, 9), int(str(row[10:12], "ascii"), 16),
            int(str(row[13:15], "ascii"), 16), _text(row, 16, 20),
            None if ref == "--" else int(ref, 16))


def _find(table, width, column, text, size):
    """Index of the row whose column starting at `column` holds `text` (padded), or -1."""
    key = text.encode() if isinstance(text, str) else text
    at = column
    while True:
        at = table.find(key, at)
        if at < 0:
            return -1
        row = at // width
        col = at - row * width
        end = col + len(key)
        if col == column and (end == width - 1 or table[row * width + end] in b" |"):
            return row
        at += 1


def item_at(i):
    """Row i of the item table as an ITEMS tuple."""
    return _item(i)


def item_path(i):
    """The file of row i of the item table ("DDF1/EF05"), without making the row's tuple."""
    a = i * _ITEM_W
    return str(_ITEM_TABLE[a:a + 9], "ascii")


def item_rows(entry):
    """Row numbers of a field name ("KH": one row) or of a linear file's items ("DDF1/EF06":
    all its rows, in record order); [] for anything else. Reads the table in place."""
    if not isinstance(entry, str) or not entry or " " in entry or "|" in entry:
        return []
    if len(entry) == 9 and entry[4] == "/":
        rows = []
        key = entry.encode()
        at = _ITEM_TABLE.find(key)
        while at >= 0:
            if at % _ITEM_W == 0:
                rows.append(at // _ITEM_W)
            at = _ITEM_TABLE.find(key, at + 1)
        return rows
    i = _find(_ITEM_TABLE, _ITEM_W, 20, entry, 9)
    return [] if i < 0 else [i]


def first_row(path):
    """Row number of the first item of `path` (its record 1), or -1."""
    rows = item_rows(path)
    return rows[0] if rows else -1


def each_item():
    """The ITEMS tuples one by one, in file and record order (no table kept in RAM)."""
    for i in range(_N_ITEMS):
        yield _item(i)


def each_file():
    for i in range(_N_FILES):
        yield _file(i)


_BUILT = {}


def __getattr__(name):
    # ITEMS, FILES, KEYS as tuples of tuples, built on first use (host tools, tests); the
    # firmware reads rows on demand and never builds them.
    if name not in ("ITEMS", "FILES", "KEYS"):
        raise AttributeError(name)
    if name not in _BUILT:
        rows = each_item() if name == "ITEMS" else each_file() if name == "FILES" else (
            _key(i) for i in range(_N_KEYS))
        _BUILT[name] = tuple(rows)
    return _BUILT[name]


def file_info(path):
    """The FILES tuple of `path` ("DF02/EF07"), or None."""
    if not isinstance(path, str) or len(path) != 9:
        return None
    i = _find(_FILE_TABLE, _FILE_W, 0, path, 9)
    return None if i < 0 else _file(i)


def read_key(path):
    """The read key of file `path` (None: free, or no such file); cheaper than file_info."""
    if not isinstance(path, str) or len(path) != 9:
        return None
    i = _find(_FILE_TABLE, _FILE_W, 0, path, 9)
    if i < 0 or _FILE_TABLE[i * _FILE_W + 21] == 0x2D:       # "-"
        return None
    return _text(memoryview(_FILE_TABLE)[i * _FILE_W:(i + 1) * _FILE_W], 21, 29)


def item_by_field(field):
    """The ITEMS tuple whose interface field name is `field` ("KH"), or None."""
    if not isinstance(field, str) or not field or " " in field or "|" in field:
        return None
    i = _find(_ITEM_TABLE, _ITEM_W, 20, field, 9)
    return None if i < 0 else _item(i)


def key_info(name):
    """The KEYS tuple named `name` ("UK_DF02_3"), or None."""
    if not isinstance(name, str) or not name or " " in name:
        return None
    i = _find(_KEY_TABLE, _KEY_W, 0, name, 9)
    return None if i < 0 else _key(i)


def record_number(path, tag):
    """The record number (1-based) of `tag` in linear file `path`, or 0 when absent."""
    n = 0
    for item in each_item():
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


# Keys of the card and the SAM commands that use them (docs/card-crypto.md, "Keys"):
#   (name, SAM 80DE P1, SAM 80DE P2 = key id, card DF, card key reference = 0082 P2)
# 80DE P1 high nibble: 2 = one diversification level (cardNo8), 4 = two (city8, cardNo8);
# low nibble: 7 = authentication key, 8 = encryption/MAC key (no card key reference: the card
# uses it for secure writes of that DF).
_KEY_TABLE = b"""\
IRK_DDF1  47 31 DDF1 04|
IRK_DF01  47 32 DF01 84|
IRK_DF02  47 33 DF02 84|
IRK_DF03  47 34 DF03 84|
UK_DDF1   27 2A DDF1 05|
UK_DF01   27 2B DF01 85|
UK_DF02_1 47 2C DF02 85|
UK_DF02_2 47 2D DF02 86|
UK_DF02_3 47 2E DF02 87|
UK_DF03_1 47 2F DF03 85|
UK_DF03_2 27 30 DF03 86|
STK_DDF1  28 02 DDF1 --|
STK_DF01  28 03 DF01 --|
STK_DF02  48 04 DF02 --|
STK_DF03  48 05 DF03 --|
"""
