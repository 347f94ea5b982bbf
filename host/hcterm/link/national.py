"""The national reader interface's names on `hcterm.Reader` (the national reader
interface's functions, as the bridge serves them too: docs/bridge.md).

HIS integrators know `OpenDevice` (client.py), `PowerOn(slot)`, `SendAPDU(slot, apdu)`,
`PowerOff(slot)`, `iR_DDF1EF05Info()` … `VerifyPIN(pin)`; here they take the same inputs
(without the device handle) and return what the DLL writes into its output parameters, as a
dict keyed by the national field names (KH, XM, XB, MZ, CSRQ, SFZH, …; the dictionary is
reader.cards.healthcard_items).
Errors raise the Reader's exceptions; a function whose firmware side is not there yet raises
the reader's own NotSupported error. `national_code(error)` gives the national interface's
numeric return code for one (0 for None: success; retcodes.py, docs/bridge.md, "Return
codes").
"""

from reader import hostlink
from reader.cards.healthcard_items import ITEMS
from reader.cards.healthcard_records import CYCLIC_FIELDS

from .errors import ReaderError
from .fields import to_national
from .national_visits import VISIT_FILE_FIELDS, VisitRecords
from .retcodes import PhotoData, national_code  # noqa: F401 - the national names' codes

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
FILE_FIELDS.update(VISIT_FILE_FIELDS)       # DF03: visit records and index flags


class PhotoDataError(ReaderError, PhotoData):
    """The photo file's length prefix does not describe a photo (national return code 113)."""


class NationalInterface(VisitRecords):
    """Mixin of Reader: the national names over Reader's Pythonic methods (the DF03 visit
    records' in national_visits.VisitRecords)."""

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
