"""The card's command sequences (docs/healthcard-app.md, docs/card-crypto.md) replayed byte
for byte against the sample cards and the PSAM.

A small terminal below moves bytes between card and SAM exactly as the contract writes them
(the APDUs are built from the contract's templates, not from the emulator's code).
"""

import json

import pytest

from hcterm.emulator import load_card, samples
from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr

H = bytes.fromhex
ADULT, CHILD, ELDERLY, LOCKED, PIN_BLOCKED, EXPIRED, BLACKLISTED, FAST = samples.paths()
TERMINAL_DATA = H("1122334455667788")
IRK = {"DDF1": (0x31, 0x04), "DF01": (0x32, 0x84), "DF02": (0x33, 0x84), "DF03": (0x34, 0x84)}
# UK key -> (DF, SAM 80DE P1 P2, card 0082 P2), from the contract's AuthUK block.
UK = {
    "UK_DDF1": ("DDF1", 0x27, 0x2A, 0x05), "UK_DF01": ("DF01", 0x27, 0x2B, 0x85),
    "UK_DF02_1": ("DF02", 0x47, 0x2C, 0x85), "UK_DF02_2": ("DF02", 0x47, 0x2D, 0x86),
    "UK_DF02_3": ("DF02", 0x47, 0x2E, 0x87), "UK_DF03_1": ("DF03", 0x47, 0x2F, 0x85),
    "UK_DF03_2": ("DF03", 0x27, 0x30, 0x86),
}
STK = {"DDF1": (0x28, 0x02), "DF01": (0x28, 0x03), "DF02": (0x48, 0x04), "DF03": (0x48, 0x05)}


class Terminal:
    def __init__(self, card, sam):
        self.card, self.sam = card, sam

    def send(self, device, apdu, expect=b"\x90\x00"):
        response = device.process(H(apdu) if isinstance(apdu, str) else apdu)
        if expect is not None:
            assert response[-2:] == (H(expect) if isinstance(expect, str) else expect), (
                apdu if isinstance(apdu, str) else apdu.hex(), response.hex())
        return response[:-2]

    def sam_result(self, apdu, n):
        self.send(self.sam, apdu, bytes((0x61, n)))
        return self.send(self.sam, bytes((0x00, 0xC0, 0x00, 0x00, n)))

    def power_up(self):
        self.sam.reset()
        self.send(self.sam, "00A4000002DF01", "6106")
        self.card.power_on()
        self.card_no8 = self.card.ats[5:13]
        self.send(self.card, "00A4000002DDF1", "6106")
        self.send(self.card, "00A4000002EF05")
        city = self.send(self.card, "00B2390005")
        assert city[:2] == H("3903")
        self.city8 = hi.decode(hi.CN, city[2:])[:2].encode() + b"000000"

    def select(self, *fids):
        for fid in fids:
            r = self.card.process(H("00A4000002" + fid))
            assert r[-2:] in (H("9000"), H("6106")), (fid, r.hex())

    def challenge(self):
        return self.send(self.card, "0084000008")

    def cryptogram(self, p1, p2, random8, data8):
        div = self.card_no8 + (self.city8 if p1 >> 4 == 4 else b"") + random8
        self.send(self.sam, bytes((0x80, 0xDE, p1, p2, len(div))) + div)
        c = self.sam_result(H("80FA000010") + data8 + bytes(8), 0x10)
        return bytes(a ^ b for a, b in zip(c[:8], c[8:]))

    def auth_irk(self, df, expect="9000"):
        sam_p2, card_p2 = IRK[df]
        r = self.challenge()
        x = self.cryptogram(0x47, sam_p2, r, TERMINAL_DATA)
        return self.send(self.card, bytes((0, 0x82, 0, card_p2, 0x11)) + x + TERMINAL_DATA
                         + b"\x01", expect)

    def auth_uk(self, name, expect="9000"):
        _df, p1, sam_p2, card_p2 = UK[name]
        r1, r2 = self.challenge(), self.challenge()
        x = self.cryptogram(p1, sam_p2, r2, r1)
        self.send(self.card, bytes((0, 0x82, 0, card_p2, 0x11)) + x + r1 + b"\x01", expect)

    def secure_write_apdu(self, df, rr, tag, value):
        p1, p2 = STK[df]
        r = self.challenge()
        div = self.card_no8 + (self.city8 if p1 >> 4 == 4 else b"") + r
        plain = bytes((len(value) + 2, tag, len(value))) + value
        if len(plain) % 16:
            plain += b"\x80" + bytes(-(len(plain) + 1) % 16)
        self.send(self.sam, bytes((0x80, 0xDE, p1, p2, len(div))) + div)
        enc = self.sam_result(bytes((0x80, 0xFA, 0, 0, len(plain))) + plain, len(plain))
        lc = 16 * -(-(len(value) + 3) // 16) + 4
        header = bytes((0x04, 0xDC, rr, 0x04, lc))
        mac_in = bytes(16) + header + enc + b"\x80" + bytes(10)
        self.send(self.sam, bytes((0x80, 0xDE, p1, p2, len(div))) + div)
        mac = self.sam_result(bytes((0x80, 0xFA, 0x05, 0x00, len(mac_in))) + mac_in, 4)
        return header + enc + mac

    def read_binary(self, size):
        out = b""
        while len(out) < size:
            n = min(0x80, size - len(out))
            out += self.send(self.card, bytes((0, 0xB0, len(out) >> 8, len(out) & 0xFF, n)))
        return out

    def write_binary(self, data):
        for off in range(0, len(data), 0x80):
            chunk = data[off:off + 0x80]
            self.send(self.card, bytes((0, 0xD6, off >> 8, off & 0xFF, len(chunk))) + chunk)


@pytest.fixture
def term():
    t = Terminal(load_card(ADULT), samples.sam())
    t.power_up()
    return t


def image(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_power_up_exact_bytes(term):
    assert term.card_no8 == H("4101052019031601") == term.card.ats[-8:]
    assert term.city8 == H("3431303030303030")
    term.card.power_on()
    assert term.card.process(H("00A4000002DDF1")) == H("6106")
    assert term.card.process(H("00C0000006")) == H("6F048302DDF19000")
    assert term.card.process(H("00A4000002EF05")) == H("9000")
    assert term.card.process(H("00B2390005")) == H("390341010090 00".replace(" ", ""))


PUBLIC_READS = ["00B2080014", "00B2390005", "00B2010003", "00B2020006", "00B2030020",
                "00B204000D", "00B20500B6", "00B2060006", "00B2090005", "00B20A000C"]


@pytest.mark.parametrize("apdu", PUBLIC_READS)
def test_public_reads_by_tag(term, apdu):
    tag, le = H(apdu)[2], H(apdu)[4]
    response = term.send(term.card, apdu)
    item = hr.item_by_tag("DDF1/EF05", tag)
    assert len(response) == le == item[2] + 2 and response[:2] == bytes((tag, item[2]))
    value = image(ADULT)["files"]["DDF1/EF05"][item[5]]
    decoded = hi.decode_item(item, response)
    if item[3] == hi.AN:
        assert decoded.decode("gbk") == value
    elif item[3] == hi.CN:
        assert decoded == value
    else:
        assert hr.to_hex(decoded) == value
    # the same record by number (P2=04) and with Le=00
    n = hi.record_number("DDF1/EF05", tag)
    assert term.send(term.card, bytes((0, 0xB2, n, 0x04, 0))) == response


def test_card_number_read_exact(term):
    assert term.card.process(H("00B2080014")) == H("0812") + b"410105198503154213" + H("9000")


@pytest.mark.parametrize("df", ["DDF1", "DF01", "DF02", "DF03"])
def test_auth_irk_every_df(term, df):
    if df != "DDF1":
        term.select(df)
    first_ef = {"DDF1": "EF06", "DF01": "EF05", "DF02": "EF05", "DF03": "EF05"}[df]
    term.select(first_ef)
    assert term.card.process(H("00B2010400"))[-2:] == H("6982")
    term.auth_irk(df)
    record = term.send(term.card, "00B2010400")
    assert len(record) >= 1


def test_auth_irk_exact_sam_bytes(term):
    r = term.challenge()
    apdu = H("80DE473118") + term.card_no8 + H("3431303030303030") + r
    assert term.sam.process(apdu) == H("9000")
    assert term.sam.process(H("80FA0000101122334455667788") + bytes(8)) == H("6110")
    c = term.send(term.sam, "00C0000010")
    x = bytes(a ^ b for a, b in zip(c[:8], c[8:]))
    assert term.card.process(H("00820004 11".replace(" ", "")) + x + TERMINAL_DATA
                             + b"\x01") == H("9000")


@pytest.mark.parametrize("name", sorted(UK))
def test_auth_uk_every_key(term, name):
    df = UK[name][0]
    if df != "DDF1":
        term.select(df)
    term.auth_uk(name)
    assert name in term.card._granted


def readback(term, rr):
    return term.send(term.card, bytes((0, 0xB2, rr, 0x04, 0)))


@pytest.mark.parametrize("df, ef, uk, tag, value", [
    ("DDF1", "EF08", "UK_DDF1", 0x11, b"13912345678"),
    ("DDF1", "EF06", "UK_DDF1", 0x0B, "张伟明".encode("gbk")),
    ("DDF1", "EF05", "UK_DDF1", 0x09, b"999"),
    ("DF01", "EF05", "UK_DF01", 0x16, "河南省郑州市二七区大学路40号".encode("gbk")),
    ("DF01", "EF07", "UK_DF01", 0x24, b"301"),
    ("DF02", "EF05", "UK_DF02_1", 0x29, b"\x03"),
    ("DF02", "EF05", "UK_DF02_1", 0x37, "对碘造影剂过敏".encode("gbk")),
    ("DF02", "EF06", "UK_DF02_2", 0x38, b"\x01"),
])
def test_secure_record_write(term, df, ef, uk, tag, value):
    path = f"{df}/{ef}"
    item = hr.item_by_tag(path, tag)
    full = hr.encode(item[3], value, item[2])
    if df != "DDF1":
        term.select(df)
    term.select(ef)
    term.auth_uk(uk)
    rr = hi.record_number(path, tag)
    apdu = term.secure_write_apdu(df, rr, tag, full)
    assert apdu[4] == 16 * -(-(item[2] + 3) // 16) + 4 == len(apdu) - 5
    assert term.card.process(apdu) == H("9000")
    irk = {"DDF1": "DDF1"}.get(df, df)
    term.auth_irk(irk)
    assert readback(term, rr) == bytes((tag, item[2])) + full


def test_secure_write_short_value_is_padded(term):
    term.select("EF08")
    term.auth_uk("UK_DDF1")
    assert term.card.process(term.secure_write_apdu("DDF1", 2, 0x10, b"110")) == H("9000")
    term.auth_irk("DDF1")
    assert readback(term, 2) == H("1014") + b"110" + bytes(17)


def test_cyclic_writes_newest_is_record_one(term):
    term.select("DF02", "EF07")
    term.auth_uk("UK_DF02_3")
    allergens = [f"过敏原{i}".encode("gbk") for i in range(4)]
    for a in allergens:
        rec = hr.encode_cyclic("DF02/EF07", (a, "皮疹".encode("gbk")))
        assert term.card.process(H("00DC000378") + rec) == H("9000")
    term.auth_irk("DF02")
    assert hr.decode_cyclic("DF02/EF07", readback(term, 1))[0] == allergens[3]
    assert hr.decode_cyclic("DF02/EF07", readback(term, 3))[0] == allergens[1]
    assert term.card.process(H("00B2040400")) == H("6A83")  # only 3 slots
    term.select("EF08")
    term.auth_uk("UK_DF02_3")
    vac = hr.encode_cyclic("DF02/EF08", ("流感疫苗".encode("gbk"), "20251020"))
    assert term.card.process(H("00DC000318") + vac) == H("9000")
    term.auth_irk("DF02")
    assert term.send(term.card, "00B2010418") == vac


def test_index_flags_write_and_erase(term):
    term.select("DF03", "EF05")
    assert term.card.process(H("84D2020400")) == H("6982")
    term.auth_uk("UK_DF03_1")
    assert term.card.process(H("84D2020400")) == H("9000")
    assert term.card.process(H("840C020400")) == H("6982")  # erase needs UK_DF03_2
    term.auth_uk("UK_DF03_2")
    term.auth_irk("DF03")
    assert term.send(term.card, "00B2020401") == H("00")
    term.auth_uk("UK_DF03_2")
    assert term.card.process(H("840C020400")) == H("9000")
    term.select("EF06")
    term.auth_uk("UK_DF03_1")
    assert term.card.process(H("84D2050400")) == H("9000")
    assert term.card.process(H("84D2060400")) == H("6A83")
    term.auth_irk("DF03")
    assert term.send(term.card, "00B2050401") == H("00")
    term.select("EF05")
    assert term.send(term.card, "00B2020401") == H("FF")


def test_df03_access_conditions(term):
    """DF03: IRK_DF03 to read, UK_DF03_1 to write a record or set a flag, UK_DF03_2 to erase
    one; each other key (or none) is 6982, and a grant lasts only while DF03 is selected."""
    term.select("DF03", "EE01")
    assert term.card.process(H("00B0000010")) == H("6982")          # no authentication
    assert term.card.process(H("00D6000002") + H("4142")) == H("6982")
    term.auth_irk("DF03")                                             # read right only
    assert term.card.process(H("00B0000002")) == H("00009000")
    assert term.card.process(H("00D6000002") + H("4142")) == H("6982")
    term.auth_uk("UK_DF03_2")                                         # the erase key
    assert term.card.process(H("00D6000002") + H("4142")) == H("6982")
    term.select("EF05")
    assert term.card.process(H("84D2020400")) == H("6982")
    assert term.card.process(H("840C010400")) == H("9000")
    term.auth_uk("UK_DF03_1")
    term.select("EE01")
    assert term.card.process(H("00D6000002") + H("4142")) == H("9000")
    term.select("EF05")
    assert term.card.process(H("84D2010400")) == H("9000")
    term.select("DF02", "DF03", "EF05")                               # grants are forgotten
    assert term.card.process(H("84D2010400")) == H("6982")
    _, p1, sam_p2, card_p2 = UK["UK_DF03_1"]
    r1, _r2 = term.challenge(), term.challenge()
    x = term.cryptogram(p1, sam_p2, r1, r1)         # a wrong cryptogram (R1 for R2): 6300
    assert term.card.process(bytes((0, 0x82, 0, card_p2, 0x11)) + x + r1 + b"\x01") == \
        H("6300")


def test_photo_read_in_chunks_and_rewrite(term):
    term.select("EF07")
    assert term.card.process(H("00B0000002"))[-2:] == H("6982")
    term.auth_irk("DDF1")
    n = int.from_bytes(term.send(term.card, "00B0000002"), "big")
    photo = term.read_binary(n + 2)[2:]
    import base64
    assert photo == base64.b64decode(image(ADULT)["files"]["DDF1/EF07"]["jpeg_base64"])
    assert photo[:2] == H("FFD8") and photo[-2:] == H("FFD9") and n + 2 <= 3072
    new = (len(photo) - 100).to_bytes(2, "big") + photo[:-102] + H("FFD9")
    assert term.card.process(H("00D6000002") + new[:2]) == H("6982")
    term.auth_uk("UK_DDF1")
    term.write_binary(new)
    term.auth_irk("DDF1")
    assert term.read_binary(len(new)) == new


@pytest.mark.parametrize("fid, data_len", [("EE01", 1639), ("EE03", 1639), ("ED01", 3013),
                                           ("ED05", 3013)])
def test_ee_ed_binary_write_and_chunked_read(fid, data_len):
    t = Terminal(load_card(ELDERLY), samples.sam())
    t.power_up()
    t.select("DF03")
    t.send(t.card, "00A4000002" + fid)
    t.auth_uk("UK_DF03_1")
    size = data_len + 64 + 190
    record = ("就诊记录 " + fid).encode("gbk").ljust(data_len, b"\x00")
    sig, cert = bytes(range(64)), bytes(i & 0xFF for i in range(190))
    t.write_binary(record + sig + cert)
    assert t.card.process(bytes((0, 0xD6, size >> 8, size & 0xFF, 1, 0))) == H("6B00")
    t.auth_irk("DF03")
    content = t.read_binary(size)
    assert content[data_len:data_len + 64] == sig and content[data_len + 64:] == cert
    assert content[:data_len] == record
    assert t.card.process(bytes((0, 0xB0, size >> 8, size & 0xFF, 1))) == H("6B00")
    tail = t.card.process(bytes((0, 0xB0, (size - 10) >> 8, (size - 10) & 0xFF, 0x20)))
    assert tail == cert[-10:] + H("6282")


def test_pin_verify_change_and_block(term):
    assert term.card.process(H("0020000000")) == H("63C3")
    assert term.card.process(H("0020000003123456")) == H("9000")
    assert term.card.process(H("805E010007123456FF654321")) == H("9000")
    assert term.card.process(H("0020000003123456")) == H("63C2")
    assert term.card.process(H("0020000003654321")) == H("9000")
    assert term.card.process(H("805E010007111111FF222222")) == H("63C2")
    for sw in ("63C1", "63C0", "6983", "6983"):
        assert term.card.process(H("0020000003000000")) == H(sw)
    assert term.card.process(H("0020000003654321")) == H("6983")
    assert term.card.process(H("805E010007654321FF123456")) == H("6983")


def test_sample_with_blocked_pin():
    card = load_card(PIN_BLOCKED)
    card.process(H("00A4000002DDF1"))
    assert card.process(H("0020000003246810")) == H("6983")


# -- negative paths -----------------------------------------------------------------------

def test_read_without_irk(term):
    for df, ef in (("DDF1", "EF06"), ("DDF1", "EF08"), ("DF01", "EF08"), ("DF02", "EF07"),
                   ("DF03", "EF06")):
        term.select(df, ef)
        assert term.card.process(H("00B2010400")) == H("6982"), (df, ef)


def test_wrong_cryptogram(term):
    term.select("EF06")
    r = term.challenge()
    x = term.cryptogram(0x47, 0x31, r, TERMINAL_DATA)
    bad = bytes((x[0] ^ 1,)) + x[1:]
    assert term.card.process(H("0082000411") + bad + TERMINAL_DATA + b"\x01") == H("6300")
    assert term.card.process(H("00B2010400")) == H("6982")


def test_reused_challenge(term):
    r = term.challenge()
    x = term.cryptogram(0x47, 0x31, r, TERMINAL_DATA)
    apdu = H("0082000411") + x + TERMINAL_DATA + b"\x01"
    assert term.card.process(apdu) == H("9000")
    assert term.card.process(apdu) == H("6984")
    term.challenge()
    assert term.card.process(apdu) == H("6300")  # a new challenge: the old X no longer fits


def test_uk_needs_the_first_challenge_as_data(term):
    _r1, r2 = term.challenge(), term.challenge()
    x = term.cryptogram(0x27, 0x2A, r2, TERMINAL_DATA)
    assert term.card.process(H("0082000511") + x + TERMINAL_DATA + b"\x01") == H("6300")


def test_wrong_mac(term):
    term.select("EF08")
    term.auth_uk("UK_DDF1")
    apdu = bytearray(term.secure_write_apdu("DDF1", 2, 0x10, b"13800000000".ljust(20, b"\0")))
    apdu[-1] ^= 0x55
    assert term.card.process(bytes(apdu)) == H("6988")
    apdu[-1] ^= 0x55
    assert term.card.process(bytes(apdu)) == H("6984")  # the challenge was used up


def test_wrong_key_level(term):
    r = term.challenge()
    # IRK_DDF1 is a two-level key: the SAM refuses a one-level load
    assert term.sam.process(H("80DE273110") + term.card_no8 + r) == H("6A86")
    assert term.sam.process(H("80DE473110") + term.card_no8 + r) == H("6700")
    # the right level with another province's city8: the card refuses the cryptogram
    term.city8 = b"51000000"
    term.auth_irk("DDF1", expect="6300")


def test_write_without_uk(term):
    term.select("EF08")
    apdu = term.secure_write_apdu("DDF1", 2, 0x10, bytes(20))
    assert term.card.process(apdu) == H("6982")
    term.auth_irk("DDF1")
    assert term.card.process(term.secure_write_apdu("DDF1", 2, 0x10, bytes(20))) == H("6982")
    assert term.card.process(H("00DC020418") + bytes(24)) == H("6982")


def test_secure_write_wrong_tag_for_record(term):
    term.select("EF08")
    term.auth_uk("UK_DDF1")
    apdu = term.secure_write_apdu("DDF1", 3, 0x10, bytes(20))  # record 3 holds tag 11
    assert term.card.process(apdu) == H("6A80")


def test_security_state_resets_on_df_change_and_power_off(term):
    term.auth_irk("DDF1")
    term.select("EF06")
    assert term.card.process(H("00B2010400"))[-2:] == H("9000")
    term.select("DF01", "DDF1", "EF06")
    assert term.card.process(H("00B2010400")) == H("6982")
    term.auth_irk("DDF1")
    term.card.power_on()
    term.select("DDF1", "EF06")
    assert term.card.process(H("00B2010400")) == H("6982")


def test_challenge_does_not_survive_df_change(term):
    r = term.challenge()
    x = term.cryptogram(0x47, 0x31, r, TERMINAL_DATA)
    term.select("DF01", "DDF1")
    assert term.card.process(H("0082000411") + x + TERMINAL_DATA + b"\x01") == H("6984")


def test_locked_application_sample():
    t = Terminal(load_card(LOCKED), samples.sam())
    t.sam.reset()
    t.send(t.sam, "00A4000002DF01", "6106")
    t.card_no8 = t.card.ats[5:13]
    assert t.card.process(H("00A4000002DDF1")) == H("6283")
    assert t.card.process(H("00A4000002EF05")) == H("9000")
    assert t.card.process(H("00B2390005")) == H("6985")
    # unblock with the STK_DDF1 MAC, then the card reads again
    r = t.challenge()
    t.send(t.sam, H("80DE280210") + t.card_no8 + r)
    mac = t.sam_result(H("80FA050020") + bytes(16) + H("8418000004800000") + bytes(8), 4)
    assert t.card.process(H("8418000004") + mac) == H("9000")
    assert t.card.process(H("00B2390005"))[-2:] == H("9000")


def application_lock_command(t, ins, good=True):
    r = t.challenge()
    t.send(t.sam, H("80DE280210") + t.card_no8 + r)
    header = bytes((0x84, ins, 0, 0, 4))
    mac = t.sam_result(H("80FA050020") + bytes(16) + header + b"\x80" + bytes(10), 4)
    if not good:
        mac = bytes(4)
    return t.card.process(header + mac)


def test_application_and_card_lock(term, tmp_path):
    assert application_lock_command(term, 0x1E, good=False) == H("6988")
    assert application_lock_command(term, 0x1E) == H("9000")
    assert term.card.process(H("00B2390005")) == H("6985")
    assert term.card.process(H("00A4000002DDF1")) == H("6283")
    term.card.save(tmp_path / "locked.json")
    assert image(tmp_path / "locked.json")["lock"] == {"application": True, "card": False}
    assert application_lock_command(term, 0x18) == H("9000")
    term.select("EF05")
    assert term.card.process(H("00B2390005"))[-2:] == H("9000")
    assert application_lock_command(term, 0x16) == H("9000")
    for apdu in ("00A4000002DDF1", "0084000008", "00B2390005"):
        assert term.card.process(H(apdu)) == H("6A81")


def test_foreign_sam_fails_to_authenticate():
    t = Terminal(load_card(ADULT), samples.foreign_sam())
    t.power_up()
    t.auth_irk("DDF1", expect="6300")
    t.select("EF06")
    assert t.card.process(H("00B2010400")) == H("6982")
    t.auth_uk("UK_DDF1", expect="6300")
