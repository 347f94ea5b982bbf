"""The DF03 functions (visit records) end to end: Reader -> host link -> firmware (the
transient reader.terminal.card_visits) -> emulated card, which checks every key. The card
APDUs are recorded at the emulated card and compared byte for byte; the error paths (no card,
a SAM of another issuer, a free slot, bad recNo) give the national return codes."""

import os

import pytest

from hcterm.emulator import samples
from hcterm.link import DeviceError, Reader
from hcterm.link.national_visits import RecordInvalidError, record_date
from hcterm.link.retcodes import failure_code, national_code
from hcterm.sim.virtualreader import VirtualReader

POWER_UP = [("00A4000002DDF1", "6106"), ("00C0000006", "6F048302DDF19000"),
            ("00A4000002EF05", "9000"), ("00B2390005", "39034102009000")]
SELECT_DF03 = [("00A4000002DF03", "6106"), ("00C0000006", "6F048302DF039000")]


@pytest.fixture(scope="module")
def virtual(tmp_path_factory):
    with VirtualReader(flash=tmp_path_factory.mktemp("df03") / "flash.img") as vr:
        yield vr


@pytest.fixture
def reader(virtual):
    virtual.devices.tap("elderly")      # EE01 used, EE02-03 free; ED01-02 used, ED03-05 free
    with Reader(virtual.port) as r:
        yield r


def recorded(virtual, fn, *args):
    """Call fn(*args) and return (its result, the card's APDUs: [(command hex, response hex)])."""
    card = virtual.devices.card
    log = []
    process = card.process

    def record(apdu):
        response = process(apdu)
        log.append((bytes(apdu).hex().upper(), response.hex().upper()))
        return response

    card.process = record
    try:
        return fn(*args), log
    finally:
        card.process = process


def auth_uk(log, at, ref):
    """The AuthUK at log[at:]: two challenges, then 0082 00 <ref> 11 | X | R1 | 01 (X from
    the SAM; the card's 9000 says it is right). Returns the index after it."""
    (c1, r1), (c2, r2), (ext, sw) = log[at:at + 3]
    assert (c1, c2) == ("0084000008", "0084000008") and r1[16:] == r2[16:] == "9000"
    assert ext.startswith(f"008200{ref}11") and len(ext) == 10 + 34
    assert ext[26:42] == r1[:16] and ext.endswith("01") and sw == "9000", (ext, r1)
    return at + 3


def test_index_flags_read_write_erase_byte_exact(virtual, reader):
    assert reader.iR_DF03EF05Info(1) == {"flag": "00"}
    assert reader.iR_DF03EF05Info(2) == {"flag": "FF"}
    assert [reader.iR_DF03EF06Info(n)["flag"] for n in range(1, 6)] == \
        ["00", "00", "FF", "FF", "FF"]
    answer, log = recorded(virtual, reader.iW_DF03EF05Info, 2)
    assert answer == {}
    assert log[:6] == POWER_UP + SELECT_DF03
    at = auth_uk(log, 6, "85")                       # UK_DF03_1
    assert log[at:] == [("00A4000002EF05", "9000"), ("84D2020400", "9000")]
    assert reader.iR_DF03EF05Info(2) == {"flag": "00"}
    answer, log = recorded(virtual, reader.iErase_DF03EF06Info, 2)
    at = auth_uk(log, 6, "86")                       # UK_DF03_2
    assert log[at:] == [("00A4000002EF06", "9000"), ("840C020400", "9000")]
    assert reader.iR_DF03EF06Info(2) == {"flag": "FF"}


def test_record_write_read_and_the_slot_rule(virtual, reader):
    assert reader.iReader_GetLastEEIndex() == {"index": 2}     # first free
    assert reader.iReader_GetLastEDIndex() == {"index": 3}
    text = "入院日期:20260105;科室:心内科"
    signature, certificate = "A5" * 64, "3C" * 190
    answer, log = recorded(virtual, reader.iW_DF03EEInfo, 2, text, signature, certificate)
    assert answer == {}
    # 1893 bytes in 5 requests of <= 448 bytes: each powers up, AuthUK, then 00D6 chunks of
    # <= 128 (128, 128, 128, 64 four times, then 101)
    whole = text.encode("gbk").ljust(1639, b"\0") + bytes.fromhex(signature + certificate)
    writes = [(c, r) for c, r in log if c.startswith("00D6")]
    assert len(writes) == 4 * 4 + 1 and all(r == "9000" for _, r in writes)
    at = 0
    for command, _ in writes:
        offset = int(command[4:8], 16)
        assert offset == at and int(command[8:10], 16) == len(command) // 2 - 5
        assert bytes.fromhex(command[10:]) == whole[at:at + len(command) // 2 - 5]
        at += len(command) // 2 - 5
    assert at == len(whole)
    first = log.index(writes[0])
    assert log[:6] == POWER_UP + SELECT_DF03
    assert auth_uk(log, 6, "85") == first - 1 and log[first - 1] == ("00A4000002EE02", "9000")
    # written but its flag still FF: not a valid record (112); the flag makes it one
    with pytest.raises(RecordInvalidError, match="EE02 is not a valid record") as error:
        reader.iR_DF03EEInfo(2)
    assert national_code(error.value, failure_code("iR_DF03EEInfo")) == 112
    reader.iW_DF03EF05Info(2)
    assert reader.iR_DF03EEInfo(2) == {"data": text, "signature": signature.upper(),
                                       "certificate": certificate.upper()}
    # every slot used: the oldest date goes (EE01 20240312, EE02 20260105, EE03 20250301)
    reader.iW_DF03EEInfo(3, "入院日期:20250301", "", "")
    reader.iW_DF03EF05Info(3)
    assert reader.iReader_GetLastEEIndex() == {"index": 1}
    assert reader.iR_DF03EEInfo(3)["signature"] == ""
    reader.iErase_DF03EF05Info(2)
    assert reader.iReader_GetLastEEIndex() == {"index": 2}


def test_record_date_and_parameters(reader):
    assert record_date("入院日期:20240312;出院日期:20240320".encode("gbk")) == "20240312"
    assert record_date(b"no date 20241399 here") == ""
    for call, args in ((reader.iR_DF03EF05Info, (4,)), (reader.iW_DF03EF06Info, (6,)),
                       (reader.iErase_DF03EF05Info, (0,)), (reader.iR_DF03EDInfo, (True,)),
                       (reader.iW_DF03EEInfo, (1, "x" * 1640)),
                       (reader.iW_DF03EDInfo, (1, "x", "AB"))):
        with pytest.raises(ValueError) as error:
            call(*args)
        assert national_code(error.value) == 101
    # the reader checks what it is sent too: a file that is not an index, data off the file
    with pytest.raises(DeviceError, match="an index file") as error:
        reader.visit_flag("DF03/EE01", 1, True)
    assert national_code(error.value, 110) == 101
    with pytest.raises(DeviceError, match="inside the 1893 bytes"):
        reader.write_file("DF03/EE01", 1890, b"1234")


def test_no_card_and_free_slot_codes(virtual, reader):
    virtual.devices.remove()
    for name, args, code in (("iW_DF03EF05Info", (1,), 104), ("iErase_DF03EF06Info", (1,), 104),
                             ("iW_DF03EDInfo", (1, "x"), 104), ("iR_DF03EF06Info", (1,), 104)):
        with pytest.raises(DeviceError) as error:
            getattr(reader, name)(*args)
        assert error.value.name == "no-card"
        assert national_code(error.value, failure_code(name)) == code
        assert national_code(error.value, failure_code(name), negative=True) == -2


def test_a_sam_of_another_issuer_is_refused(tmp_path):
    """The Sichuan SAM's AuthUK cryptogram: the Henan card answers 6300 at 0082; nothing is
    written; code 106 (internal authentication failed), -7 in the negative convention."""
    with VirtualReader(flash=tmp_path / "flash.img", sam=samples.foreign_sam()) as vr:
        vr.devices.tap("elderly")
        with Reader(vr.port) as reader:
            _, log = recorded(vr, _refused, reader)
            assert log[-1][0].startswith("0082008511") and log[-1][1] == "6300", log
            assert not any(c.startswith(("84D2", "840C", "00D6")) for c, _ in log)
            assert vr.devices.card.data.index["DF03/EF05"][1] == 0xFF     # still free


def _refused(reader):
    with pytest.raises(DeviceError, match="6300") as error:
        reader.iW_DF03EF05Info(2)
    assert (error.value.name, error.value.kind) == ("auth", "auth-failed")
    assert national_code(error.value, failure_code("iW_DF03EF05Info")) == 106
    assert national_code(error.value, 110, negative=True) == -7


def test_bridge_serves_the_df03_functions(virtual):
    """The national routes: writes and erases need the token; every answer carries "ret"."""
    import asyncio

    import aiohttp
    from support.host_bridge_wait import reader_connected

    from hcterm.bridge.app import create_app, start_site
    from hcterm.bridge.logs import bridge_logger

    virtual.devices.tap("elderly")
    auth = {"Authorization": "Bearer df03-token"}

    async def scenario():
        app = create_app([virtual.port], "df03-token", log=bridge_logger(open(os.devnull, "w")))
        runner, url = await start_site(app)
        try:
            async with aiohttp.ClientSession() as http:
                await reader_connected(http, url)

                async def call(method, name, body=None, headers=None):
                    async with http.request(method, f"{url}/api/readers/r1/{name}", json=body,
                                            headers=headers) as r:
                        return r.status, await r.json()

                assert await call("GET", "iReader_GetLastEDIndex") == \
                    (200, {"reader": "r1", "ret": 0, "index": 3})
                status, body = await call("POST", "iW_DF03EDInfo", {"recNo": 3, "data": "x"})
                assert (status, body["error"], body["ret"]) == (401, "unauthorized", 109)
                status, body = await call("POST", "iW_DF03EDInfo",
                                          {"recNo": 3, "data": "就诊日期:20261201",
                                           "signature": "11" * 64}, auth)
                assert (status, body) == (200, {"reader": "r1", "ret": 0}), body
                status, body = await call("GET", "iR_DF03EDInfo?recNo=3")
                assert (status, body["error"], body["ret"]) == (404, "record-invalid", 112)
                assert await call("POST", "iW_DF03EF06Info", {"recNo": 3}, auth) == \
                    (200, {"reader": "r1", "ret": 0})
                status, body = await call("GET", "iR_DF03EDInfo?recNo=3")
                assert (body["data"], body["signature"], body["certificate"], body["ret"]) == \
                    ("就诊日期:20261201", "11" * 64, "", 0), body
                assert (await call("GET", "iR_DF03EF06Info?recNo=3"))[1]["flag"] == "00"
                assert await call("POST", "iErase_DF03EF06Info", {"recNo": 3}, auth) == \
                    (200, {"reader": "r1", "ret": 0})
                status, body = await call("POST", "iW_DF03EF05Info", {"recNo": 4}, auth)
                assert (status, body["ret"]) == (400, 101) and "1..3" in body["message"], body
                status, body = await call("POST", "iW_DF03EEInfo",
                                          {"recNo": 1, "data": "x", "signature": "12"}, auth)
                assert (status, body["ret"]) == (400, 101) and "signature" in body["message"]
                virtual.devices.remove()
                status, body = await call("POST", "iErase_DF03EF05Info", {"recNo": 1}, auth)
                assert (status, body["name"], body["ret"]) == (409, "no-card", 104), body
        finally:
            await runner.cleanup()

    asyncio.run(asyncio.wait_for(scenario(), 45))


def test_a_mute_sam_is_105(tmp_path):
    from hcterm.emulator.samslot import SamFaults

    vr = VirtualReader(flash=tmp_path / "flash.img")
    vr.devices.sam_slot.faults = SamFaults(mute=True)     # no ATR, no answer
    with vr:
        vr.devices.tap("elderly")
        with Reader(vr.port) as reader:
            with pytest.raises(DeviceError, match="the SAM does not answer") as error:
                reader.iW_DF03EF05Info(1)
            assert error.value.kind == "sam"
            assert national_code(error.value, failure_code("iW_DF03EF05Info")) == 105
