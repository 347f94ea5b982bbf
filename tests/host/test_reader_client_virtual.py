"""hcterm.Reader end to end on the virtual reader: the real firmware's link server on the
MicroPython unix port, its USB port a pty (or behind a TCP proxy that can be unplugged)."""

import json
import subprocess
import sys
import time

import pytest

from hcterm.link import DeviceError, NotConnected, Reader
from hcterm.link.fuzz import LineNoise, PortProxy
from hcterm.sim.virtualreader import VirtualReader, wait_for_line
from reader import hostlink
from reader.terminal import settings as config

SAM_ATR = "3B1A1348435053414D00002301"
ADULT_ATS = "0D788070024101052019031601"


def mpremote(port, *args):
    proc = subprocess.run([sys.executable, "-m", "mpremote", "resume", "connect", str(port),
                           *args], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


@pytest.fixture
def virtual(tmp_path):
    with VirtualReader(flash=tmp_path / "flash.img") as vr:
        yield vr


def test_info_selftest_event_feedback_and_round_trip(virtual):
    with Reader(virtual.port) as reader:
        event = reader.next_event(timeout=10)
        assert event["type"] == "selftest" and event["ok"] is True
        assert event["board"] == "sim-pn532-uart" and event["sam"]["atr"] == SAM_ATR
        info = reader.info()
        assert (info["firmware"], info["board"], info["protocol"]) == \
            ("0.1.0", "sim-pn532-uart", 1)
        assert info["slots"] == ["card", "sam1"] and info["max_payload"] == 1024
        assert reader.selftest() == {k: v for k, v in event.items() if k != "type"}
        start = time.perf_counter()
        for _ in range(20):
            reader.info()
        round_trip = (time.perf_counter() - start) / 20
        assert round_trip < 0.05, round_trip
        assert info["feedback"] == {"beeper": True, "led": True, "display": False}
        done = reader.feedback(beep={"ms": 20, "count": 2}, led=True)
        assert done == {"beep": 2, "led": True}
        # the fixed reader has no display: asked to show text, it says so (and does nothing)
        with pytest.raises(DeviceError) as refused:
            reader.feedback(led=False, display="请刷卡")
        assert refused.value.code == hostlink.NOT_SUPPORTED
        assert "board sim-pn532-uart has no display" in str(refused.value)
    records = [(r["kind"], r.get("name"), r.get("value", r.get("text")))
               for r in virtual.bus.records if r["t"] > 0]
    assert not [r for r in records if r[0] == "display"]
    assert records[-5:] == [("pin", "led", 1),
                            ("pin", "beeper", 1), ("pin", "beeper", 0),
                            ("pin", "beeper", 1), ("pin", "beeper", 0)]


def test_national_names_on_the_card_and_the_sam(virtual):
    with Reader(virtual.port) as reader:
        assert reader.PowerOn(0x11) == SAM_ATR
        assert reader.SendAPDU(0x11, "00A4000002 3F00") == "6F0483023F009000"
        with pytest.raises(DeviceError, match="no card in the field") as error:
            reader.PowerOn(0x01)
        assert error.value.name == "no-card"
        virtual.devices.tap("adult")
        assert reader.PowerOn(0x01) == ADULT_ATS
        assert reader.SendAPDU(0x01, bytes.fromhex("00A40000023F00")) == "6F0483023F009000"
        with pytest.raises(DeviceError, match="no slot sam2"):
            reader.PowerOn(0x12)
        reader.power_off("card")
        # the national functions give AN as text (the link carries GBK hex), CN digits, B hex,
        # XB as GB/T 2261.1's one digit and MZ as GB 3304's two
        assert reader.iR_DDF1EF06Info() == {
            "XM": "张伟", "XB": "1", "MZ": "01", "CSRQ": "19850315",
            "SFZH": "410105198503154213"}
        photo = bytes.fromhex(reader.iR_DDF1EF07Info()["ZHAOPIAN"])
        assert photo[:3] == b"\xff\xd8\xff" and photo[-2:] == b"\xff\xd9"  # the whole JPEG
        assert reader.VerifyPIN("123456") == {"retries": 3}
        with pytest.raises(DeviceError, match="PIN") as error:
            reader.VerifyPIN("000000")
        assert error.value.name == "auth"
        assert reader.VerifyPIN("123456") == {"retries": 3}


def test_config_survives_a_restart_with_the_same_flash(tmp_path):
    image = tmp_path / "flash.img"
    with VirtualReader(flash=image) as vr, Reader(vr.port) as reader:
        assert reader.config() == config.DEFAULTS
        reader.set_config(terminal_id="ER-07", department="急诊", beeper=False)
        with pytest.raises(DeviceError, match="unknown setting 'volume'"):
            reader.set_config(volume=3)
    with VirtualReader(flash=image) as vr, Reader(vr.port) as reader:
        assert reader.config() == dict(config.DEFAULTS, terminal_id="ER-07",
                                       department="急诊", beeper=False)
        assert reader.feedback(beep=1)["muted"] == "beeper is off in the configuration"


def test_repl_handoff_mpremote_then_take_back(virtual):
    reader = Reader(virtual.port)
    try:
        assert reader.handoff() == "import reader.main as m;m.resume()"
        with pytest.raises(NotConnected, match="handed to the REPL"):
            reader.info()
        listing = mpremote(virtual.port, "ls", ":")
        assert "boot_count" in listing
        reader.take_back()
        assert reader.info()["board"] == "sim-pn532-uart"
        # twice: the second hand-off leaves the raw REPL, where mpremote works as well
        reader.handoff()
        assert "boot_count" in mpremote(virtual.port, "ls", ":")
        reader.take_back()
        reader.set_config(terminal_id="AFTER-REPL")
        assert reader.config()["terminal_id"] == "AFTER-REPL"
    finally:
        reader.close()
    assert virtual.running()


def test_ctrl_c_from_mpremote_stops_the_link_and_take_back_restarts_it(virtual):
    wait_for_line(virtual.port, "SELFTEST ")
    time.sleep(0.3)
    out = mpremote(virtual.port, "exec", "import reader.main; print('at the REPL')")
    assert out.strip() == "at the REPL"
    reader = Reader(virtual.port, connect=False)
    reader.take_back()
    assert reader.info()["firmware"] == "0.1.0"
    reader.close()


def test_unplug_and_replug_reconnects(virtual):
    proxy = PortProxy(virtual.port)
    try:
        with Reader(proxy.url, timeout=5) as reader:
            assert reader.info()["board"] == "sim-pn532-uart"
            proxy.unplug()
            time.sleep(0.5)
            assert not reader.connected
            with pytest.raises(NotConnected, match="gone"):
                reader.request(0x01, timeout=0.5)
            proxy.replug()
            assert reader.info()["board"] == "sim-pn532-uart"
            assert reader.stats["reconnects"] >= 1
    finally:
        proxy.close()


def test_requests_through_a_noisy_line_are_never_lost(virtual):
    proxy = PortProxy(virtual.port)
    try:
        with Reader(proxy.url, timeout=15) as reader:  # retries back off to 1.6 s
            proxy.noise = noise = LineNoise(rate=0.2, seed=9)
            for n in range(25):
                reader.set_config(terminal_id=f"N{n}")
                assert reader.config()["terminal_id"] == f"N{n}"
            assert noise.events > 5
            proxy.noise = None
            link = reader.info()["link"]
            assert link["crc_errors"] + link["bad_frames"] + link["duplicates"] > 0, link
    finally:
        proxy.close()


def test_cli_info_and_apdu(virtual):
    def hcterm(*args):
        return subprocess.run([sys.executable, "-m", "hcterm.cli", *args],
                              capture_output=True, text=True, timeout=30)

    out = hcterm("info", "--port", virtual.port)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("reader sim-pn532-uart: firmware 0.1.0, link protocol 1")
    out = hcterm("apdu", "--port", virtual.port, "--slot", "sam1", "00 A4 00 00 02 3F 00")
    assert (out.returncode, out.stdout) == (0, "6F 04 83 02 3F 00 90 00\n"), out.stderr
    out = hcterm("read", "--port", virtual.port, "--json")
    assert out.returncode == 1
    assert "no card in the field" in out.stderr
    virtual.devices.tap("adult")
    out = hcterm("read", "--port", virtual.port, "--json")
    assert out.returncode == 0, out.stderr
    fields = json.loads(out.stdout)            # the national form: AN decoded to text
    assert (fields["KH"], fields["CSRQ"], fields["KYXQ"]) == \
        ("410105198503154213", "19850315", "20390316")
    out = hcterm("read", "--port", virtual.port, "--json", "--raw")
    fields = json.loads(out.stdout)            # the device form: AN as GBK hex
    assert fields["KH"] == b"410105198503154213".hex().upper(), fields


def test_a_new_client_takes_back_a_reader_left_at_the_repl(virtual):
    """`mpremote resume connect PORT ls` (a README example) leaves the reader at the REPL; the
    next client that opens the port recognises the prompt, takes the port back and says so."""
    first = Reader(virtual.port)
    try:
        first.handoff()
    finally:
        first.close()
    assert "boot_count" in mpremote(virtual.port, "ls", ":")
    with Reader(virtual.port, open_timeout=10, timeout=2) as again:
        assert again.taken_back and "MicroPython REPL" in again.taken_back
        assert again.info()["board"] == "sim-pn532-uart"
    with Reader(virtual.port) as third:           # serving the link again: nothing to take
        assert third.taken_back is None
