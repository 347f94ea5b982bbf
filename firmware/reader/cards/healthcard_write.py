"""Writes to the Resident Health Card (docs/healthcard-app.md, "Writes"), through the PSAM.

    card = HealthCardWriter(channel, psam, ats); card.power_up()
    card.write_item("BRDH1", "13800138000")            # AuthUK + 04DC encrypted and MACed
    card.add_record("DF02/EF07", {"GMWZMC": b"…", "GMFY": b"…"})   # cyclic, plain 00DC
    n = card.write_visit("ED", b"…text…")                # slot choice, 00D6, index flag 84D2
    card.write_photo(jpeg)                               # 2-byte length + JPEG, 00D6 chunks
    card.verify_pin("123456"); card.pin_tries(); card.change_pin(old, new)

Every write first authenticates the file's update key (AuthUK) once per DF visit. Linear
items go as `04 DC rr 04 Lc'` with ENC (80FA 00 00 under the DF's STK key, diversified with a
fresh challenge) and a 4-byte MAC (80FA 05 00, zero IV, over `04 DC rr 04 Lc' | ENC | 80 00..`),
Lc' = 16·ceil((n+3)/16) + 4. Errors: HealthCardError (healthcard_errors.py).
"""

from micropython import const

from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr
from reader.cards.healthcard import HealthCard
from reader.cards.healthcard_errors import INVALID_DATA, HealthCardError, card_sw_error

_CHUNK = const(0x80)
_WORK = const(256)


def choose_slot(used, ages=None):
    """Record slot (1-based) for a new EE/ED record: the first free one (flag FF), else the
    oldest. `used` = the index flags (True = used); `ages` = one sortable value per slot
    (e.g. the admission date the HIS knows), smaller = older. Without ages, the oldest is
    slot 1 (inferred: slots are filled in order). Pure."""
    for i in range(len(used)):
        if not used[i]:
            return i + 1
    if ages is None:
        return 1
    oldest = 0
    for i in range(1, len(used)):
        if ages[i] < ages[oldest]:
            oldest = i
    return oldest + 1


def _zero(view):
    """Clear a memoryview in place: zero the first chunk, then copy it over the rest."""
    n = min(_CHUNK, len(view))
    for i in range(n):
        view[i] = 0
    while n < len(view):
        k = min(n, len(view) - n)
        view[n:n + k] = view[0:k]
        n += k


def _padded(n):
    """Length of n bytes after `80 00..` padding to 16 (none when already a multiple)."""
    return n if n % 16 == 0 else (n // 16 + 1) * 16


class HealthCardWriter(HealthCard):
    def __init__(self, channel, psam, ats, **kw):
        super().__init__(channel, psam, ats, **kw)
        self._work = bytearray(_WORK)
        self._wmv = memoryview(self._work)
        self.in_doubt = None    # the change whose answer is out (see _change)

    def _change(self, n, where):
        """Send a command that changes the card (UPDATE RECORD/BINARY, index flags). While
        its answer is out the change is in doubt: a card torn then keeps the old content or
        the new one, never a mix (a card updates a record, or one command's bytes of a
        binary file, atomically), and only reading it back tells which."""
        self.in_doubt = where
        data = self._ok(n, where)
        self.in_doubt = None
        return data

    # -- linear items: secure write -------------------------------------------------------------
    def write_item(self, field, value):
        """Write one item of a linear file (value as read(): AN bytes/str, CN digits, B bytes)."""
        item = hi.item_by_field(field)
        if item is None:
            raise ValueError("no item %r" % field)
        raw = hr.encode(item[3], value, item[2])
        path = item[0]
        self.authenticate(hi.file_info(path)[5])
        self.select_ef(path)
        self.secure_write(item, hi.record_number(path, item[1]), raw)

    def _stk(self):
        key = hi.key_info("STK_" + self.df)
        return key, (self.city8 if key[1] >> 4 == 4 else None)

    def secure_write(self, item, number, raw):
        """04DC record `number` of the selected EF with `tag len raw`, encrypted and MACed."""
        n = len(raw)
        plain = _padded(n + 3)
        w = self._work
        w[0] = n + 2
        w[1] = item[1]
        w[2] = n
        w[3:3 + n] = raw
        if plain > n + 3:
            w[n + 3] = 0x80
            w[n + 4:plain] = bytes(plain - n - 4)
        key, city8 = self._stk()
        random = self.challenge()
        psam = self.psam
        psam.diversify(key, self.card_no8, city8, random)
        enc = psam.encrypt(self._wmv[0:plain])
        b = self._buf
        lc = plain + 4
        self._put(0x04, 0xDC, number, 0x04, lc)
        b[5:5 + plain] = enc
        # MAC input: 16 zero bytes (IV) | 04 DC rr 04 Lc' | ENC | 80 00..
        m = 16 + _padded(5 + plain + 1)
        w[0:16] = bytes(16)
        w[16:21] = b[0:5]
        w[21:21 + plain] = b[5:5 + plain]
        w[21 + plain] = 0x80
        w[22 + plain:m] = bytes(m - 22 - plain)
        psam.diversify(key, self.card_no8, city8, random)
        b[5 + plain:5 + lc] = psam.mac(self._wmv[0:m])
        self._change(5 + lc, "%s %s secure write" % (item[0], item[5]))

    # -- cyclic records ---------------------------------------------------------------------------
    def add_record(self, path, values):
        """Append an allergy (DF02/EF07) or immunisation (DF02/EF08) record, plain 00DC; it
        becomes record 1. `values`: dict by CYCLIC_FIELDS field name."""
        info = hi.file_info(path)
        fields = hr.CYCLIC_FIELDS[path]
        raw = hr.encode_cyclic(path, [values.get(f[1], "") for f in fields])
        self.authenticate(info[5])
        self.select_ef(path)
        self._put(0x00, 0xDC, 0x00, 0x03, len(raw))
        self._buf[5:5 + len(raw)] = raw
        self._change(5 + len(raw), path + " append")

    # -- DF03 index and records ------------------------------------------------------------------
    def set_index(self, path, number, used):
        """84D2 (used, UK_DF03_1) or 840C (free, UK_DF03_2) of index record `number`."""
        self.authenticate(hi.file_info(path)[5] if used else hi.ERASE_KEY_DF03)
        self.select_ef(path)
        self._put(0x84, 0xD2 if used else 0x0C, number, 0x04, 0x00)
        self._change(5, "%s flag %d" % (path, number))

    def write_binary(self, offset, data):
        """UPDATE BINARY of the selected EF in plain 128-byte chunks (`00D6 offH offL Lc`)."""
        data = memoryview(data)
        done = 0
        while done < len(data):
            n = min(_CHUNK, len(data) - done)
            at = offset + done
            self._put(0x00, 0xD6, at >> 8, at & 0xFF, n)
            self._buf[5:5 + n] = data[done:done + n]
            self._change(5 + n, "%s offset %d" % (self.ef, at))
            done += n

    def write_visit(self, kind, data, signature=None, certificate=None, ages=None):
        """Write an inpatient ("EE") or outpatient ("ED") record into the slot choose_slot()
        picks, then mark it used. Returns the slot number."""
        index = "DF03/EF05" if kind == "EE" else "DF03/EF06"
        flags = self.read_file(index)
        slot = choose_slot(flags, ages)
        path = "DF03/%s%02d" % (kind, slot)
        size = hi.EE_DATA if kind == "EE" else hi.ED_DATA
        if len(data) > size:
            raise ValueError("%s data is %d bytes, at most %d fit" % (kind, len(data), size))
        self.authenticate(hi.file_info(path)[5])
        self.select_ef(path)
        # built in the session's scratch (SCRATCH_SIZE >= 1893), not a new buffer per call
        area = self._scratch_view(size + hi.SIGNATURE_LENGTH + hi.CERTIFICATE_LENGTH)
        _zero(area)
        area[0:len(data)] = data
        if signature is not None:
            area[size:size + hi.SIGNATURE_LENGTH] = signature
        if certificate is not None:
            area[size + hi.SIGNATURE_LENGTH:] = certificate
        self.write_binary(0, area)
        self.set_index(index, slot, True)
        return slot

    def erase_visit(self, kind, slot):
        """Mark record `slot` free (840C, UK_DF03_2)."""
        self.set_index("DF03/EF05" if kind == "EE" else "DF03/EF06", slot, False)

    # -- photo ---------------------------------------------------------------------------------
    def write_photo(self, jpeg):
        """DDF1/EF07: 2-byte big-endian length + the JPEG (at most 3070 bytes)."""
        n = len(jpeg)
        if n > hi.PHOTO_SIZE - 2:
            raise HealthCardError(INVALID_DATA, n, "DDF1/EF07", "photo of %d bytes: at most "
                                  "%d fit" % (n, hi.PHOTO_SIZE - 2))
        self.authenticate(hi.file_info("DDF1/EF07")[5])
        self.select_ef("DDF1/EF07")
        self.write_binary(0, bytes((n >> 8, n & 0xFF)))
        self.write_binary(2, jpeg)

    # -- PIN ----------------------------------------------------------------------------------
    def pin_tries(self):
        """VERIFY without a PIN: the tries left (0 = blocked)."""
        self._put(0x00, 0x20, 0x00, 0x00, 0)
        _data, sw = self._transceive(4, "VERIFY PIN")
        if sw & 0xFFF0 == 0x63C0:
            return sw & 0x0F
        if sw == 0x6983:
            return 0
        raise card_sw_error(sw, "VERIFY PIN")

    def verify_pin(self, digits):
        """VERIFY; raises pin-wrong (with tries_left) or pin-blocked."""
        pin = _pin(digits)
        self._put(0x00, 0x20, 0x00, 0x00, len(pin))
        self._buf[5:5 + len(pin)] = pin
        self._ok(5 + len(pin), "VERIFY PIN")

    def change_pin(self, old, new):
        """805E 0100: old | FF | new."""
        a, b = _pin(old), _pin(new)
        n = len(a) + 1 + len(b)
        self._put(0x80, 0x5E, 0x01, 0x00, n)
        self._buf[5:5 + len(a)] = a
        self._buf[5 + len(a)] = 0xFF
        self._buf[6 + len(a):5 + n] = b
        self._ok(5 + n, "CHANGE PIN")


def _pin(digits):
    if not 4 <= len(digits) <= 12:
        raise ValueError("a PIN has 4 to 12 digits, got %d" % len(digits))
    return hr.encode(hi.CN, digits, (len(digits) + 1) // 2)
