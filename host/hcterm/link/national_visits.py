"""The national interface's DF03 functions (visit records) on `hcterm.Reader`: a mixin of
national.NationalInterface.

    flags  iR_DF03EF05Info(recNo) / EF06 -> {"flag": "00" used | "FF" free}
           iW_DF03EF05Info(recNo) / EF06   mark record recNo used (84D2, UK_DF03_1)
           iErase_DF03EF05Info(recNo) / EF06   mark it free (840C, UK_DF03_2)
    records  iR_DF03EEInfo(recNo) / EDInfo -> {"data", "signature", "certificate"}
             iW_DF03EEInfo(recNo, data, signature, certificate) / EDInfo   (00D6, UK_DF03_1)
    slots  iReader_GetLastEEIndex() / EDIndex -> {"index": the slot the next record goes in}

EE01-EE03 are inpatient records (index DF03/EF05), ED01-ED05 outpatient (DF03/EF06); a record
is the data area (GBK text; 1639 / 3013 bytes), a 64-byte signature and a 190-byte
certificate. The output names are this project's: "data" as text when it is GBK text (else
hex), signature and certificate as hex, "" when unwritten. A record read of a slot whose flag
is FF raises RecordInvalidError (national return code 112). Writing a record does not set its
flag: the HIS writes the record, then its flag, as with the DLL.
"""

import re

from reader import hostlink
from reader.cards import healthcard_items as hi
from reader.cards.healthcard_write import choose_slot

from .errors import ReaderError
from .fields import an_text
from .retcodes import RecordInvalid

# kind -> (index file, records, data bytes)
VISITS = {"EE": ("DF03/EF05", 3, hi.EE_DATA), "ED": ("DF03/EF06", 5, hi.ED_DATA)}
VISIT_FIELDS = ["data", "signature", "certificate"]
VISIT_FILE_FIELDS = {"DF03/EE": VISIT_FIELDS, "DF03/ED": VISIT_FIELDS,
                     "DF03/EF05": ["flag"], "DF03/EF06": ["flag"]}
READ_CHUNK = 240           # bytes per read-file request (its hex fits one link answer)
WRITE_CHUNK = 448          # bytes per write-file request (its hex fits one link request)
DATE_HEAD = 64             # bytes of a record's data searched for its date (slot choice)
_DATE = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")


class RecordInvalidError(ReaderError, RecordInvalid):
    """A visit record whose index flag is FF (free): no record there (return code 112)."""


def _check(kind, record):
    count = VISITS[kind][1]
    if isinstance(record, bool) or not isinstance(record, int) or not 1 <= record <= count:
        raise ValueError(f"recNo: 1..{count} for DF03/{kind} records, not {record!r}")
    return record


def _hex(value, size, name):
    raw = bytes.fromhex(value) if isinstance(value, str) else bytes(value or b"")
    if raw and len(raw) != size:
        raise ValueError(f"{name}: {size} bytes (hex), not {len(raw)}")
    return raw.ljust(size, b"\x00")


def record_date(data):
    """The first date (YYYYMMDD) in a record's data, or "" (slot choice: the oldest goes)."""
    found = _DATE.search(data.decode("gbk", "replace"))
    return found.group(0) if found else ""


class VisitRecords:
    """The DF03 functions over Reader's requests (read, read-file, write-file, visit-flag)."""

    def index_flags(self, kind):
        """The index of DF03/EE ("EE") or ED: one bool per slot, True = used."""
        index = VISITS[kind][0]
        return list(self.request(hostlink.READ, {"files": [index]})[index])

    def _flag(self, kind, record):
        used = self.index_flags(kind)[_check(kind, record) - 1]
        return {"flag": "00" if used else "FF"}

    def _set_flag(self, kind, record, used):
        self.visit_flag(VISITS[kind][0], _check(kind, record), used)
        return {}

    def _read_visit(self, kind, record):
        index, _count, size = VISITS[kind]
        if not self.index_flags(kind)[_check(kind, record) - 1]:
            raise RecordInvalidError(
                f"DF03/{kind}{record:02d} is not a valid record: its flag in {index} is FF "
                f"(free); read a slot whose flag is 00 (iR_DF03{index[5:]}Info)")
        file = f"DF03/{kind}{record:02d}"
        total = size + hi.SIGNATURE_LENGTH + hi.CERTIFICATE_LENGTH
        raw = b""
        while len(raw) < total:
            raw += self.read_file(file, len(raw), min(READ_CHUNK, total - len(raw)))
        data = raw[:size].rstrip(b"\x00")
        signature = raw[size:size + hi.SIGNATURE_LENGTH]
        certificate = raw[size + hi.SIGNATURE_LENGTH:]
        return {"data": an_text(data.hex().upper()),
                "signature": signature.hex().upper() if any(signature) else "",
                "certificate": certificate.hex().upper() if any(certificate) else ""}

    def _write_visit(self, kind, record, data, signature, certificate):
        size = VISITS[kind][2]
        raw = data.encode("gbk") if isinstance(data, str) else bytes(data)
        if len(raw) > size:
            raise ValueError(f"data: {len(raw)} bytes, a DF03/{kind} record holds {size}")
        whole = (raw.ljust(size, b"\x00") + _hex(signature, hi.SIGNATURE_LENGTH, "signature")
                 + _hex(certificate, hi.CERTIFICATE_LENGTH, "certificate"))
        file = f"DF03/{kind}{_check(kind, record):02d}"
        for at in range(0, len(whole), WRITE_CHUNK):
            self.write_file(file, at, whole[at:at + WRITE_CHUNK])
        return {}

    def _last_index(self, kind):
        """The slot a new record goes in: the first free one, else the one whose data has
        the oldest date (a record without a date counts as oldest; ties: the lowest slot)."""
        used = self.index_flags(kind)
        ages = None
        if all(used):
            ages = [record_date(self.read_file(f"DF03/{kind}{n:02d}", 0, DATE_HEAD))
                    for n in range(1, len(used) + 1)]
        return {"index": choose_slot(used, ages)}

    def iR_DF03EF05Info(self, recNo):  # noqa: N802, N803 - inpatient index flag 1..3
        return self._flag("EE", recNo)

    def iR_DF03EF06Info(self, recNo):  # noqa: N802, N803 - outpatient index flag 1..5
        return self._flag("ED", recNo)

    def iW_DF03EF05Info(self, recNo):  # noqa: N802, N803
        return self._set_flag("EE", recNo, True)

    def iW_DF03EF06Info(self, recNo):  # noqa: N802, N803
        return self._set_flag("ED", recNo, True)

    def iErase_DF03EF05Info(self, recNo):  # noqa: N802, N803
        return self._set_flag("EE", recNo, False)

    def iErase_DF03EF06Info(self, recNo):  # noqa: N802, N803
        return self._set_flag("ED", recNo, False)

    def iR_DF03EEInfo(self, recNo):  # noqa: N802, N803 - inpatient record 1..3 (DF03/EE0n)
        return self._read_visit("EE", recNo)

    def iR_DF03EDInfo(self, recNo):  # noqa: N802, N803 - outpatient record 1..5 (DF03/ED0n)
        return self._read_visit("ED", recNo)

    def iW_DF03EEInfo(self, recNo, data, signature="", certificate=""):  # noqa: N802, N803
        return self._write_visit("EE", recNo, data, signature, certificate)

    def iW_DF03EDInfo(self, recNo, data, signature="", certificate=""):  # noqa: N802, N803
        return self._write_visit("ED", recNo, data, signature, certificate)

    def iReader_GetLastEEIndex(self):  # noqa: N802
        return self._last_index("EE")

    def iReader_GetLastEDIndex(self):  # noqa: N802
        return self._last_index("ED")
