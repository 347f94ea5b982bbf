# Electronic health card QR codes: every sample form, garbage with reasons, the UART reader.
from fake_buses import ScriptedUART

from reader.cards.qrcode import (
    BAD_ID,
    BAD_ISSUER,
    BAD_TYPE,
    BAD_VALIDITY,
    EMPTY,
    FIELDS,
    NOT_TEXT,
    TOO_LONG,
    QRCodeError,
    QRScanner,
    expired,
    parse_qr,
)

ID_DOMAIN = "272EB52D0696FD625B6F3E1A830728532779BEB87520CC83948C50A43F439F58"
ID_B = "B143024C8AEB63C9DF702D8DCBCF4FE645BE42DB199516DBDF09A2E86915C0D1"


def test_static_sample_from_the_domain_notes():
    f = parse_qr(ID_DOMAIN + ":1")
    assert f == {"kind": "static", "id": ID_DOMAIN, "type": "1", "validity": "", "issuer": ""}


def test_dynamic_and_expiry():
    f = parse_qr(ID_B + ":1:20991231235959\r\n")
    assert f["kind"] == "dynamic" and f["validity"] == "20991231235959"
    assert not expired(f, "20260101000000")
    assert expired(parse_qr(ID_B + ":1:20200101080000"), "20260101000000")
    assert not expired(parse_qr(ID_B + ":1"), "20260101000000")


def test_regional_forms_and_lowercase_id():
    f = parse_qr(ID_DOMAIN.lower() + ":1::5100A0013")
    assert f["kind"] == "regional" and f["issuer"] == "5100A0013" and f["id"] == ID_DOMAIN
    g = parse_qr(ID_B + ":2:20991231235959:5100A0013")
    assert g["kind"] == "regional" and g["validity"] and g["type"] == "2"
    assert parse_qr(bytes(ID_B + ":1", "utf-8"))["kind"] == "static"


def test_garbage_rejected_with_a_reason():
    cases = (
        ("", EMPTY), ("\r\n", EMPTY),
        ("https://example.org/clinic/menu?table=12", BAD_ID),
        ("6901234567892", FIELDS),
        (ID_DOMAIN[:-1] + ":1", BAD_ID),
        (ID_DOMAIN + "0:1", BAD_ID),
        (ID_DOMAIN[:-1] + "G:1", BAD_ID),
        (ID_DOMAIN + ":", BAD_TYPE), (ID_DOMAIN + ":x", BAD_TYPE), (ID_DOMAIN + ":123", BAD_TYPE),
        (ID_DOMAIN + ":1:2099", BAD_VALIDITY), (ID_DOMAIN + ":1:20991341235959", BAD_VALIDITY),
        (ID_DOMAIN + ":1:20991231245959", BAD_VALIDITY), (ID_DOMAIN + ":1:", BAD_VALIDITY),
        (ID_DOMAIN + ":1::", BAD_ISSUER), (ID_DOMAIN + ":1::51-00", BAD_ISSUER),
        (ID_DOMAIN + ":1::" + "A" * 21, BAD_ISSUER),
        (ID_DOMAIN + ":1:20991231235959:X:Y", FIELDS),
        (b"\xff\xfe:1", NOT_TEXT),
    )
    for text, code in cases:
        try:
            parse_qr(text)
        except QRCodeError as e:
            assert e.code == code, (text, e.code, e.reason)
            assert e.reason
        else:
            raise AssertionError("accepted %r" % (text,))


def test_scanner_collects_lines_cr_lf_crlf_and_split_reads():
    uart = ScriptedUART()
    s = QRScanner(uart)
    assert s.poll() is None and s.idle()
    uart.reply(ID_DOMAIN[:10])
    assert s.poll() is None
    assert not s.idle()                             # half a line: the terminal keeps it
    uart.reply(ID_DOMAIN[10:] + ":1\r\n" + ID_B + ":1\n\r\n")
    assert s.poll() == bytes(ID_DOMAIN + ":1", "utf-8")
    assert not s.idle()                             # the next code is read, not used yet
    assert s.poll() == bytes(ID_B + ":1", "utf-8")
    assert s.poll() is None and s.idle()
    uart.reply(ID_B + ":1::5100A0013\r")
    assert parse_qr(s.read(5))["issuer"] == "5100A0013"


def test_scanner_overlong_line_reported_once_then_recovers():
    uart = ScriptedUART()
    s = QRScanner(uart, max_len=70)
    uart.reply("A" * 100 + "\r" + ID_B + ":1\r")
    try:
        s.poll()
    except QRCodeError as e:
        assert e.code == TOO_LONG
    else:
        raise AssertionError("overflow not reported")
    assert s.poll() == bytes(ID_B + ":1", "utf-8")



def test_scanner_read_times_out():
    s = QRScanner(ScriptedUART())
    assert s.read(10) is None
