"""The national reader interface's names on `hcterm.Reader` (the national reader
interface's functions, as the bridge serves them too: docs/bridge.md).

HIS integrators know `OpenDevice` (client.py), `PowerOn(slot)`, `SendAPDU(slot, apdu)`,
`PowerOff(slot)`, `iR_DDF1EF05Info()` … `VerifyPIN(pin)`; here they take the same inputs
(without the device handle) and return what the DLL writes into its output parameters, as a
dict keyed by the national field names (KH, XM, XB, MZ, CSRQ, SFZH, …; the dictionary is
reader.cards.healthcard_items).
Errors raise the Reader's exceptions; a function whose firmware side is not there yet raises
the reader's own NotSupported error. `national_code(error)` gives the national interface's
numeric return code for one (0 for None: success; docs/bridge.md, "Return codes").
"""

from reader import hostlink
from reader.cards import healthcard_items as hi
from reader.cards.healthcard_items import ITEMS
from reader.cards.healthcard_records import CYCLIC_FIELDS

from .errors import DeviceError, LinkTimeout, NotConnected, ReaderError
from .fields import an_text, to_national

# file -> the national field names of its items, in record order
FILE_FIELDS = {}
for _item in ITEMS:
    FILE_FIELDS.setdefault(_item[0], []).append(_item[5])
for _file, _layout in CYCLIC_FIELDS.items():  # allergies, immunisations: one record's fields
    FILE_FIELDS[_file] = [field for (_, field, _, _, _) in _layout]
del _item, _file, _layout
PHOTO_FILE = "DDF1/EF07"   # binary: 2-byte big-endian length, then the JPEG (<= 3072 bytes)
FILE_FIELDS[PHOTO_FILE] = ["ZHAOPIAN"]  # the photo is a binary file, not TLV items
PHOTO_CHUNK = 240          # bytes per read-file request (its hex fits one link answer)
PHOTO_MAX = 3072 - 2       # the JPEG's room in the photo file
# DF03 visit records (binary EE01-EE03 inpatient, ED01-ED05 outpatient): the data area
# (GBK text), then the signature and the certificate (docs/card-image.md). The names are
# this project's: "data" as text when it is GBK text (else hex), the others hex, "" unwritten.
VISIT_FIELDS = ["data", "signature", "certificate"]
VISITS = {"DF03/EE": (3, hi.EE_DATA), "DF03/ED": (5, hi.ED_DATA)}  # records, data bytes
for _visit in VISITS:
    FILE_FIELDS[_visit] = VISIT_FIELDS

# The national interface's return codes (docs/bridge.md, "Return codes"). 0, 101 (parameter)
# and 113 (photo data) are the interface's; the numbers between are this project's own
# assignment (no public list of them was found), kept small.
RET_OK = 0
RET_PARAMETER = 101        # a bad parameter: the request, not the reader or card
RET_NOT_OPEN = 102         # no reader: not opened, unplugged, no such reader
RET_READER = 103           # the reader or its link failed (timeout, chip, slot, firmware)
RET_NO_CARD = 104          # no card in the field / slot not powered / card gone
RET_CARD = 105             # the card answered an error status
RET_AUTH = 106             # PIN or authentication refused
RET_NOT_SUPPORTED = 107    # the reader's firmware or board does not do it
RET_PHOTO = 113            # the photo file's data is not a photo (bad length)
# the negative convention some integrators configure: -1 … -8, in the order above
NEGATIVE = {code: -n for n, code in enumerate(
    (RET_PARAMETER, RET_NOT_OPEN, RET_READER, RET_NO_CARD, RET_CARD, RET_AUTH,
     RET_NOT_SUPPORTED, RET_PHOTO), start=1)}
# host-link error code (docs/host-link.md, "Errors") -> return code
DEVICE_RET = {
    hostlink.BAD_REQUEST: RET_PARAMETER,
    hostlink.UNKNOWN_MESSAGE: RET_NOT_SUPPORTED,
    hostlink.NOT_SUPPORTED: RET_NOT_SUPPORTED,
    hostlink.NO_CARD: RET_NO_CARD,
    hostlink.NO_SLOT: RET_PARAMETER,
    hostlink.DEVICE: RET_READER,
    hostlink.CARD: RET_CARD,
    hostlink.AUTH: RET_AUTH,
    hostlink.CONFIG: RET_READER,
    hostlink.INTERNAL: RET_READER,
}


class PhotoDataError(ReaderError):
    """The photo file's length prefix does not describe a photo (national return code 113)."""


def national_code(error, negative=False):
    """The national return code for `error` (an exception of the Reader, or None: 0).
    `negative`: the -1 … -8 convention instead of 101 … 113. ValueError (a parameter the
    host refused before sending) is 101; any other exception 103."""
    if error is None:
        code = RET_OK
    elif isinstance(error, PhotoDataError):
        code = RET_PHOTO
    elif isinstance(error, DeviceError):
        code = DEVICE_RET.get(error.code, RET_READER)
    elif isinstance(error, NotConnected):
        code = RET_NOT_OPEN
    elif isinstance(error, LinkTimeout):
        code = RET_READER
    elif isinstance(error, (ValueError, TypeError)):
        code = RET_PARAMETER
    else:
        code = RET_READER
    return NEGATIVE.get(code, code) if negative else code


class NationalInterface:
    """Mixin of Reader: the national names over Reader's Pythonic methods."""

    def CloseDevice(self):  # noqa: N802
        self.close()

    def PowerOn(self, slot):  # noqa: N802
        """Power a slot (0x01 user card, 0x11..0x14 SAM1..4, or 'card', 'sam1'…): the ATR
        (SAM) or ATS (contactless card) as hex."""
        answer = self.power_on(slot)
        return answer.get("atr") or answer.get("ats", "")

    def PowerOff(self, slot):  # noqa: N802
        """End the slot's session: the reader releases the card and polls for taps again
        (it also ends it by itself when the card leaves, a new host session starts or no APDU
        came for its setting host_slot_idle_s)."""
        self.power_off(slot)

    def SendAPDU(self, slot, apdu):  # noqa: N802
        """Send a command APDU (hex or bytes): the response with SW1 SW2, as hex."""
        return self.apdu(slot, apdu).hex().upper()

    def _read_file(self, file, record=None):
        """The file's fields under their national names, AN as text (as the DLL gives them)."""
        fields = {"files": [file]}
        if record is not None:
            fields = {"files": [file], "record": record}
        answer = to_national(self.request(hostlink.READ, fields))
        return {name: answer.get(name) for name in FILE_FIELDS[file]}

    def _read_photo(self):
        """The photo file in chunks: {"ZHAOPIAN": hex of the image}, "" when it is empty."""
        head = self.read_file(PHOTO_FILE, 0, 2)
        length = int.from_bytes(head, "big")
        if length > PHOTO_MAX:
            raise PhotoDataError(f"the photo file says {length} bytes, it holds at most "
                                 f"{PHOTO_MAX}: its data is not a photo")
        data = b""
        while len(data) < length:
            data += self.read_file(PHOTO_FILE, 2 + len(data), min(PHOTO_CHUNK, length - len(data)))
        return {"ZHAOPIAN": data.hex().upper()}

    def _read_visit(self, kind, record):
        """DF03/EE0n or ED0n (n = record, from 1) in chunks -> {"data", "signature",
        "certificate"}."""
        count, size = VISITS[kind]
        if not isinstance(record, int) or not 1 <= record <= count:
            raise ValueError(f"recNo: 1..{count} for {kind} records, not {record!r}")
        file = f"{kind}{record:02d}"
        total = size + hi.SIGNATURE_LENGTH + hi.CERTIFICATE_LENGTH
        raw = b""
        while len(raw) < total:
            raw += self.read_file(file, len(raw), min(PHOTO_CHUNK, total - len(raw)))
        data = raw[:size].rstrip(b"\x00")
        signature = raw[size:size + hi.SIGNATURE_LENGTH]
        certificate = raw[size + hi.SIGNATURE_LENGTH:]
        return {"data": an_text(data.hex().upper()),
                "signature": signature.hex().upper() if any(signature) else "",
                "certificate": certificate.hex().upper() if any(certificate) else ""}

    def iR_DDF1EF05Info(self):  # noqa: N802 - KLB GFBB FKJGMC FKJGDM FKJGZS FKSJ KH AQM XPXLH YYCSDM
        return self._read_file("DDF1/EF05")

    def iR_DDF1EF06Info(self):  # noqa: N802 - XM XB MZ CSRQ SFZH
        return self._read_file("DDF1/EF06")

    def iR_DDF1EF07Info(self):  # noqa: N802 - ZHAOPIAN
        return self._read_photo()

    def iR_DDF1EF08Info(self):  # noqa: N802 - KYXQ BRDH1 BRDH2 YLFYZFFS1..3
        return self._read_file("DDF1/EF08")

    def iR_DF01EF05Info(self):  # noqa: N802 - addresses
        return self._read_file("DF01/EF05")

    def iR_DF01EF06Info(self):  # noqa: N802 - contacts
        return self._read_file("DF01/EF06")

    def iR_DF01EF07Info(self):  # noqa: N802
        return self._read_file("DF01/EF07")

    def iR_DF01EF08Info(self):  # noqa: N802
        return self._read_file("DF01/EF08")

    def iR_DF02EF05Info(self):  # noqa: N802
        return self._read_file("DF02/EF05")

    def iR_DF02EF06Info(self):  # noqa: N802
        return self._read_file("DF02/EF06")

    def iR_DF02EF07Info(self, recNo):  # noqa: N802, N803 - a cyclic record
        return self._read_file("DF02/EF07", recNo)

    def iR_DF02EF08Info(self, recNo):  # noqa: N802, N803 - a cyclic record
        return self._read_file("DF02/EF08", recNo)

    def iR_DF03EEInfo(self, recNo):  # noqa: N802, N803 - inpatient record 1..3 (DF03/EE0n)
        return self._read_visit("DF03/EE", recNo)

    def iR_DF03EDInfo(self, recNo):  # noqa: N802, N803 - outpatient record 1..5 (DF03/ED0n)
        return self._read_visit("DF03/ED", recNo)

    def iW_DDF1EF08Info(self, **fields):  # noqa: N802
        return self.write("DDF1/EF08", fields)

    def VerifyPIN(self, pin=None, timeout_s=30):  # noqa: N802
        """Verify the cardholder PIN: {"retries": n} left after a success. `pin` None: the
        cardholder types it on the reader's keypad within `timeout_s` (it never reaches the
        host): {"outcome": ok | wrong | blocked | cancelled | timeout, "retries": n}, each
        outcome an answer, as the national interface gives the retries back in every case."""
        if pin is None:
            return self.verify_pin_on_reader(timeout_s)
        return self.verify_pin(pin)

    def ChangePIN(self, old, new):  # noqa: N802
        return self.change_pin(old, new)
