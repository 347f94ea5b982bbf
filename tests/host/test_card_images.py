"""Sample card images: every item of every sample read through APDUs, decoded with the shared
dictionary (reader.cards.healthcard_items) and compared with the JSON image; image round trips."""

import base64
import json
import re

import pytest

from hcterm.emulator import cardcrypto as cc
from hcterm.emulator import load_card, samples
from hcterm.emulator.cardimage import ImageError, data_from_image
from reader.cards import healthcard_items as hi
from reader.cards import healthcard_records as hr
from reader.cards.idnumber import validate

H = bytes.fromhex
SEX = {"male": 1, "female": 2}
ABO = {"A": 1, "B": 2, "O": 3, "AB": 4, "unknown": 5}
FLAGS = {"XCBZ", "XZBBZ", "XNXGBBZ", "DXBBZ", "NXWLBZ", "TNBBZ", "QGYBZ", "TXBZ", "QGYZBZ",
         "QGQSBZ", "KZXYZBZ", "XZQBQBZ", "JSBBZ"}
IRK = {"DDF1": (0x31, 0x04), "DF01": (0x32, 0x84), "DF02": (0x33, 0x84), "DF03": (0x34, 0x84)}


def image(path):
    return json.loads(path.read_text(encoding="utf-8"))


def ok(device, apdu):
    r = device.process(apdu if isinstance(apdu, bytes) else H(apdu))
    assert r[-2:] == H("9000"), ((apdu if isinstance(apdu, str) else apdu.hex()), r.hex())
    return r[:-2]


class Reader:
    """Reads a whole card through APDUs: AuthIRK per DF via the sample SAM."""

    def __init__(self, card):
        self.card, self.sam = card, samples.sam()
        self.sam.process(H("00A4000002DF01"))
        self.card_no8 = card.ats[5:13]
        card.process(H("00A4000002DDF1"))
        ok(card, "00A4000002EF05")
        self.city8 = hi.decode(hi.CN, ok(card, "00B2390005")[2:])[:2].encode() + b"000000"

    def auth(self, df):
        sam_p2, ref = IRK[df]
        r = ok(self.card, "0084000008")
        ok(self.sam, H(f"80DE47{sam_p2:02X}18") + self.card_no8 + self.city8 + r)
        self.sam.process(H("80FA0000101122334455667788") + bytes(8))
        c = ok(self.sam, "00C0000010")
        ok(self.card, bytes((0, 0x82, 0, ref, 0x11)) + cc.fold(c) + H("1122334455667788")
           + b"\x01")

    def enter(self, df):
        if df != "DDF1":
            self.card.process(H("00A4000002" + df))
        self.auth(df)

    def records(self, ef):
        ok(self.card, "00A4000002" + ef)
        out, n = [], 1
        while True:
            r = self.card.process(bytes((0, 0xB2, n, 0x04, 0)))
            if r[-2:] == H("6A83"):
                return out
            assert r[-2:] == H("9000"), r.hex()
            out.append(r[:-2])
            n += 1

    def binary(self, ef, size):
        ok(self.card, "00A4000002" + ef)
        out = b""
        while len(out) < size:
            n = min(0x80, size - len(out))
            out += ok(self.card, bytes((0, 0xB0, len(out) >> 8, len(out) & 0xFF, n)))
        return out


def unlock(card):
    """Application unblock (8418 + STK_DDF1 MAC) for the locked sample."""
    sam = samples.sam()
    sam.process(H("00A4000002DF01"))
    card.process(H("00A4000002DDF1"))
    r = ok(card, "0084000008")
    ok(sam, H("80DE280210") + card.ats[5:13] + r)
    sam.process(H("80FA050020") + bytes(16) + H("8418000004800000") + bytes(8))
    ok(card, H("8418000004") + ok(sam, "00C0000004"))


def expected_raw(item, value):
    field, coding = item[5], item[3]
    if field in FLAGS:
        return bytes((1 if value else 0,))
    if field == "XB":
        return bytes((SEX[value],))
    if field == "ABOXX":
        return bytes((ABO[value],))
    if coding == hi.AN:
        return value.encode("gbk")
    if coding == hi.CN:
        return value
    return H(value)


def check_item(item, record, value):
    decoded = hi.decode_item(item, record)
    want = expected_raw(item, value)
    if item[3] == hi.B and item[5] not in FLAGS | {"XB", "ABOXX"}:
        assert hr.to_hex(decoded) == value.upper()
    elif item[3] == hi.B:
        assert record[2:] == want, item[5]
    else:
        assert decoded == want, (item[5], decoded, want)


@pytest.mark.parametrize("path", samples.paths(), ids=lambda p: p.stem)
def test_every_item_of_every_sample_matches_its_image(path):
    img = image(path)["files"]
    card = load_card(path)
    if image(path)["lock"]["application"]:
        unlock(card)
    reader = Reader(card)
    checked = 0
    for df in ("DDF1", "DF01", "DF02", "DF03"):
        reader.enter(df)
        for fpath, kind, count, reclen, _r, _w in hi.FILES:
            if not fpath.startswith(df + "/"):
                continue
            ef = fpath.split("/")[1]
            if kind == hi.LINEAR:
                records = reader.records(ef)
                assert len(records) == count
                for item, record in zip(hr.items_of(fpath), records):
                    check_item(item, record, img[fpath][item[5]])
                    checked += 1
            elif kind == hi.CYCLIC:
                records = reader.records(ef)
                assert len(records) == len(img[fpath])
                for record, entry in zip(records, img[fpath]):
                    assert len(record) == reclen
                    values = hr.decode_cyclic(fpath, record)
                    for (_n, field, _o, _l, coding), v in zip(hr.CYCLIC_FIELDS[fpath], values):
                        assert v == (entry[field].encode("gbk") if coding == hi.AN
                                     else entry[field])
                        checked += 1
            elif kind == hi.INDEX:
                flags = reader.records(ef)
                assert [f == b"\x00" for f in flags] == img[fpath]
                checked += 1
            elif fpath == "DDF1/EF07":
                raw = reader.binary(ef, count)
                if img[fpath] is None:
                    assert not any(raw)
                else:
                    jpeg = base64.b64decode(img[fpath]["jpeg_base64"])
                    assert raw[:2] == len(jpeg).to_bytes(2, "big") and raw[2:2 + len(jpeg)] == jpeg
                checked += 1
            else:
                raw = reader.binary(ef, count)
                entry = img[fpath]
                if entry is None:
                    assert not any(raw)
                else:
                    data = raw[:count - 254].rstrip(b"\x00")
                    assert data.decode("gbk") == entry["text"]
                    sig = raw[count - 254:count - 190]
                    assert sig == (H(entry["signature"]) if entry["signature"] else bytes(64))
                checked += 1
    assert checked == 57 + 2 + 9 + len(img["DF02/EF07"]) * 2 + len(img["DF02/EF08"]) * 2


def test_samples_are_the_ones_the_issue_asks_for():
    paths = samples.paths()
    assert len(paths) == 8 and "adult" in paths[0].stem
    imgs = [image(p) for p in paths]
    adult, child, elderly = imgs[0]["files"], imgs[1]["files"], imgs[2]["files"]
    assert adult["DDF1/EF07"] and all(v for k, v in adult["DF01/EF05"].items())
    assert all(adult["DF01/EF06"].values()) and all(adult["DF01/EF07"].values())
    assert len(child["DF02/EF08"]) >= 5
    assert elderly["DF02/EF07"] and any(elderly["DF03/EF05"]) and any(elderly["DF03/EF06"])
    assert imgs[3]["lock"]["application"]
    assert imgs[4]["pin"]["tries_left"] == 0
    assert imgs[5]["files"]["DDF1/EF08"]["KYXQ"] < "20260101"
    blacklist = [ln.strip() for ln in samples.blacklist_path().read_text().splitlines()
                 if ln.strip() and not ln.startswith("#")]
    assert imgs[6]["files"]["DDF1/EF05"]["KH"] in blacklist
    assert all(validate(x)[0] for x in blacklist)
    assert not any(img["files"]["DDF1/EF05"]["KH"] in blacklist for img in imgs[:6] + imgs[7:])
    # issue 15: a card whose ATS TA(1) offers 212/424/848 kbit/s each way; the others 106 only
    assert [H(img["ats"])[2] for img in imgs] == [0x80] * 7 + [0x77]


@pytest.mark.parametrize("path", samples.paths(), ids=lambda p: p.stem)
def test_sample_identity_is_consistent(path):
    img = image(path)
    ef05, ef06 = img["files"]["DDF1/EF05"], img["files"]["DDF1/EF06"]
    assert validate(ef05["KH"]) == (True, "valid")
    assert ef05["KH"] == ef06["SFZH"] and ef06["CSRQ"] == ef06["SFZH"][6:14]
    assert ef06["XB"] == ("male" if int(ef06["SFZH"][16]) % 2 else "female")
    assert re.fullmatch(r"41\d{4}", ef05["YYCSDM"])
    assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", ef06["XM"])


@pytest.mark.parametrize("path", samples.paths(), ids=lambda p: p.stem)
def test_ats_uid_and_keys(path):
    img = image(path)
    ats = H(img["ats"])
    assert ats[0] == len(ats) and ats[1] == 0x78 and ats[1] & 0x0F == 8  # FSCI 8: 256 bytes
    assert len(H(img["uid"])) in (4, 7)
    card_no8 = ats[5:13]
    city8 = img["files"]["DDF1/EF05"]["YYCSDM"][:2].encode() + b"000000"
    masters = samples.sam().master_keys
    for name, p1, _id, _df, _ref in hi.KEYS:
        want = cc.card_key(masters[name], card_no8, city8 if p1 >> 4 == 4 else None)
        assert H(img["keys"][name]) == want, name


def test_photo_is_a_small_jpeg():
    jpeg = base64.b64decode(image(samples.paths()[0])["files"]["DDF1/EF07"]["jpeg_base64"])
    assert jpeg[:3] == H("FFD8FF") and jpeg[-2:] == H("FFD9") and len(jpeg) + 2 <= 3072
    assert b"JFIF" in jpeg[:20]


@pytest.mark.parametrize("path", samples.paths(), ids=lambda p: p.stem)
def test_save_round_trips_unchanged(path, tmp_path):
    card = load_card(path)
    card.save(tmp_path / "copy.json")
    assert image(tmp_path / "copy.json") == image(path)


def test_writes_are_saved_back(tmp_path):
    card = load_card(samples.paths()[1])
    sam = samples.sam()
    sam.process(H("00A4000002DF01"))
    card.process(H("00A4000002DDF1"))
    card.process(H("00A4000002DF02"))
    ok(card, "00A4000002EF08")
    r1, r2 = ok(card, "0084000008"), ok(card, "0084000008")
    ok(sam, H("80DE472E18") + card.ats[5:13] + b"41000000" + r2)
    sam.process(H("80FA000010") + r1 + bytes(8))
    ok(card, H("0082008711") + cc.fold(ok(sam, "00C0000010")) + r1 + b"\x01")
    vaccine = hr.encode_cyclic("DF02/EF08", ("水痘疫苗".encode("gbk"), "20251103"))
    ok(card, H("00DC000318") + vaccine)
    assert card.process(H("0020000003999999")) == H("63C2")
    card.save(tmp_path / "after.json")
    saved = image(tmp_path / "after.json")
    assert saved["files"]["DF02/EF08"][0] == {"MYJZMC": "水痘疫苗", "MYJZSJ": "20251103"}
    assert len(saved["files"]["DF02/EF08"]) == 9
    assert saved["pin"]["tries_left"] == 2
    again = load_card(tmp_path / "after.json")
    assert again.data.cyclic["DF02/EF08"][0] == card.data.cyclic["DF02/EF08"][0]


@pytest.mark.parametrize("change, words", [
    (lambda i: i.update(format="other"), "format"),
    (lambda i: i["keys"].pop("UK_DF01"), "UK_DF01 is missing"),
    (lambda i: i["files"]["DDF1/EF06"].update(XM="张" * 16), "DDF1/EF06 XM"),
    (lambda i: i["files"]["DDF1/EF06"].update(XB="man"), "not one of"),
    (lambda i: i["files"]["DDF1/EF08"].update(KYXQ="2039-03-16"), "non-digit"),
    (lambda i: i["files"]["DF02/EF05"].update(TNBBZ="yes"), "true or false"),
    (lambda i: i["files"]["DDF1/EF06"].update(AGE=3), "unknown fields"),
    (lambda i: i.update(ats="0578807002"), "ats"),
])
def test_bad_images_say_what_is_wrong(change, words):
    img = image(samples.paths()[0])
    change(img)
    with pytest.raises(ImageError, match=words):
        data_from_image(img)
