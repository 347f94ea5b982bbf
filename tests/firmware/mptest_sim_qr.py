# simbus: support.emu_driver_benches:sim_pn532_spi
# The QR scanner's line reader and parser on the sim-pn532-spi board through
# reader.terminal.devices:
# every code of host/hcterm/emulator/qr_samples.json as it arrives through the emulated QR
# module's UART (9600 8N1, CR suffix), and garbage on the line.
import json
import time

from sim_bench_drivers import ROOT, Bench, load_board

from reader.cards import qrcode
from reader.cards.qrcode import QRCodeError, expired, parse_qr
from reader.terminal import devices as hardware

board = load_board("sim-pn532-spi")
bench = Bench()
qr = hardware.open_qr_scanner(board)

with open(ROOT + "/host/hcterm/emulator/qr_samples.json") as f:
    SAMPLES = json.load(f)["samples"]
FORMS = {"health-static": "static", "health-dynamic": "dynamic", "health-regional": "regional"}
# what the parser must say about the codes that are not health codes
REJECTED = {"health-malformed": qrcode.BAD_ID, "url": qrcode.BAD_ID,
            "product-ean13": qrcode.FIELDS}


def scan(data):
    bench("scanhex", "".join("%02X" % b for b in data))
    return qr.read(1000)


def rejection(code):
    try:
        parse_qr(code)
    except QRCodeError as error:
        return error
    raise AssertionError("%r was accepted" % code)


def test_every_sample_arrives_intact_through_the_uart():
    assert len(SAMPLES) == 7
    for sample in SAMPLES:
        assert scan(sample["text"].encode()) == sample["text"].encode(), sample["name"]


def test_health_codes_parse_to_the_sample_fields():
    seen = set()
    for sample in SAMPLES:
        if sample["kind"] not in FORMS:
            continue
        fields = parse_qr(scan(sample["text"].encode()))
        assert fields["kind"] == FORMS[sample["kind"]], sample["name"]
        for key, value in sample["fields"].items():
            assert fields[key] == value, (sample["name"], key, fields[key])
        seen.add(sample["name"])
    assert seen == {"static", "dynamic-valid", "dynamic-expired", "regional"}, seen


def test_dynamic_codes_expiry():
    now = "20240601120000"
    by_name = {s["name"]: parse_qr(scan(s["text"].encode())) for s in SAMPLES
               if s["kind"] == "health-dynamic"}
    assert expired(by_name["dynamic-expired"], now)
    assert not expired(by_name["dynamic-valid"], now)


def test_non_health_codes_are_rejected_with_a_reason():
    for sample in SAMPLES:
        if sample["kind"] in FORMS:
            continue
        error = rejection(scan(sample["text"].encode()))
        assert error.code == REJECTED[sample["name"]], (sample["name"], error.reason)
        assert error.reason


def test_garbage_bytes_are_rejected_and_the_next_code_reads():
    error = rejection(scan(b"\xff\xfe\x80\x00\x9c"))
    assert error.code == qrcode.NOT_TEXT, error.reason
    error = rejection(scan(b"\x1b[0m\x07 noise"))
    assert error.code == qrcode.FIELDS, error.reason
    good = SAMPLES[0]["text"].encode()
    assert parse_qr(scan(good))["id"] == SAMPLES[0]["fields"]["id"]


def test_an_overlong_line_is_dropped_once_then_codes_read_again():
    bench("scanhex", "41" * 600)                     # 600 x 'A' + CR: longer than the line (256)
    error = None
    start = time.ticks_ms()
    # 601 bytes at the module's rate take ~0.6 s; a loaded machine (the whole suite on 2
    # cores) can take several times that: poll up to 10 s
    while time.ticks_diff(time.ticks_ms(), start) < 10000:
        try:
            if qr.read(20) is not None:
                break
        except QRCodeError as e:
            error = e
            break
    assert error is not None and error.code == qrcode.TOO_LONG, error
    good = SAMPLES[1]["text"].encode()
    assert scan(good) == good


def test_empty_lines_are_skipped():
    bench("scanhex", "")                             # the module sends just its CR suffix
    good = SAMPLES[3]["text"].encode()
    assert scan(good) == good
