"""The handheld on its virtual twin (sim-handheld; docs/handheld.md): the PIN typed on the
reader's keypad (the host gets the outcome only), the battery in info, the self-test and a
low-battery warning, and low-power polling between taps. A board without a keypad says so."""

import asyncio
import json
import subprocess
import sys
import threading
import time

import pytest

from hcterm.link import DeviceError, NotSupported, Reader
from hcterm.sim.virtualreader import VirtualReader
from reader import hostlink

PIN = "123456"          # the sample adult card's PIN, 3 tries (host/hcterm/emulator/samples)


@pytest.fixture(scope="module")
def handheld(tmp_path_factory):
    control = tmp_path_factory.mktemp("handheld") / "sim.ctl"
    with VirtualReader("sim-handheld", control=control) as vr:
        reader = Reader(vr.port, open_timeout=30, timeout=10)
        try:
            assert reader.next_event(timeout=10)["type"] == "selftest"
            yield vr, reader
        finally:
            reader.close()


@pytest.fixture
def tapped(handheld):
    """The adult card on the reader, its tap reported (a fresh image: 3 PIN tries)."""
    vr, reader = handheld
    vr.devices.remove()
    _drain(reader)
    vr.devices.tap("adult")
    event = _next(reader, "tap")
    assert event["status"] == "ok"
    yield vr, reader
    vr.devices.remove()


@pytest.fixture
def empty(handheld):
    """No card on the reader, no event pending."""
    vr, reader = handheld
    vr.devices.remove()
    _drain(reader)
    return vr, reader


def _drain(reader, quiet=0.4):
    return list(reader.events(timeout=quiet))


def _next(reader, kind, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = reader.next_event(timeout=deadline - time.monotonic())
        if event["type"] == kind:
            return event
    raise AssertionError(f"no {kind} event within {timeout} s")


def _type_later(vr, keys, delay=0.8):
    """A cardholder typing `keys` on the keypad once the reader asks (after `delay`)."""
    def run():
        time.sleep(delay)
        vr.handle_control({"op": "press", "keys": keys})
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_info_and_selftest_report_the_keypad_and_the_battery(handheld):
    vr, reader = handheld
    info = reader.info()
    assert info["keypad"] is True
    assert info["battery"] == {"mv": 3900, "percent": 66, "low": False}
    report = reader.selftest()
    assert report["keypad"] == {"ok": True, "present": True}
    assert report["battery"] == {"ok": True, "present": True, "mv": 3900, "percent": 66,
                                 "low": False}


def test_the_right_pin_typed_on_the_keypad(tapped):
    vr, reader = tapped
    shots = []          # the display's glass after each screen the reader sends
    vr.devices.display.watch_frames(lambda display: shots.append(display.image()))
    answer = []
    asking = threading.Thread(target=lambda: answer.append(reader.verify_pin_on_reader(20)))
    asking.start()
    time.sleep(0.8)                 # the reader asks (the card's tries first), then typing:
    # the cardholder's keys through the CLI, as a person drives a running sim
    out = subprocess.run([sys.executable, "-m", "hcterm.cli", "press", PIN + "#",
                          "--control", vr.control_path], capture_output=True, text=True,
                         timeout=30)
    assert (out.returncode, out.stdout.strip()) == (0, "pressed 123456#"), out.stderr
    asking.join(20)
    assert answer == [{"outcome": "ok", "retries": 3}]
    from test_display_screens import expected

    # masked, with the tries left (the screen's text drawn from unifont by the test)
    assert expected(["请输入密码", "******", "剩余3次", "确认#  取消*"]) in shots
    assert expected(["请输入密码", PIN, "剩余3次", "确认#  取消*"]) not in shots   # never plain


def test_a_wrong_pin_costs_a_try_and_the_last_one_blocks_the_card(tapped):
    vr, reader = tapped
    for left in (2, 1):
        _type_later(vr, "9999#")
        assert reader.verify_pin_on_reader(20) == {"outcome": "wrong", "retries": left}
    _type_later(vr, "1B2C99999#")                   # edits: B deletes, C clears
    assert reader.verify_pin_on_reader(20) == {"outcome": "wrong", "retries": 0}
    # no tries left: blocked at once, nothing to type
    assert reader.verify_pin_on_reader(20) == {"outcome": "blocked", "retries": 0}


def test_cancel_too_few_digits_and_timeout(tapped):
    vr, reader = tapped
    _type_later(vr, "12#*")                         # # with 2 digits is not accepted
    assert reader.verify_pin_on_reader(20) == {"outcome": "cancelled", "retries": 3}
    started = time.monotonic()
    assert reader.verify_pin_on_reader(5) == {"outcome": "timeout", "retries": 3}
    assert 5 <= time.monotonic() - started < 8


def test_the_card_taken_away_during_the_entry(tapped):
    vr, reader = tapped
    threading.Timer(1.0, vr.devices.remove).start()
    with pytest.raises(DeviceError, match="left the reader during the PIN entry") as caught:
        reader.verify_pin_on_reader(20)
    assert caught.value.code == hostlink.NO_CARD


def test_no_card_no_entry(empty):
    _vr, reader = empty
    with pytest.raises(DeviceError, match="no card in the field") as caught:
        reader.verify_pin_on_reader(20)
    assert caught.value.code == hostlink.NO_CARD


def test_low_battery_warning_and_recovery(empty):
    vr, reader = empty
    try:
        out = subprocess.run([sys.executable, "-m", "hcterm.cli", "battery", "--mv", "3400",
                              "--control", vr.control_path], capture_output=True, text=True,
                             timeout=30)
        assert (out.returncode, out.stdout.strip()) == (0, "battery at 3400 mV"), out.stderr
        event = _next(reader, "error", timeout=5)
        assert (event["status"], event["reason"], event["mv"], event["percent"]) == (
            "warning", "low_battery", 3400, 11)
        assert "charge the handheld" in event["message"]
        assert reader.info()["battery"]["low"] is True
        vr.handle_control({"op": "battery", "mv": 3550})  # within the hysteresis: still low
        time.sleep(1.5)
        vr.handle_control({"op": "battery", "mv": 4000})
        event = _next(reader, "error", timeout=5)
        assert (event["status"], event["reason"], event["mv"]) == ("recovered",
                                                                   "low_battery", 4000)
    finally:
        vr.handle_control({"op": "battery", "mv": 3900})


def test_low_power_polling_by_default_and_always_on_when_off(empty):
    vr, reader = empty
    vr.handle_control({"op": "status", "reset": True})
    time.sleep(2)
    dozing = vr.handle_control({"op": "status"})["radio"]
    assert 2 <= dozing["polls_per_s"] <= 6, dozing           # detect_ms 250
    assert dozing["radio_on_fraction"] < 0.05, dozing
    reader.set_config(power_save="off")
    try:
        time.sleep(0.3)
        vr.handle_control({"op": "status", "reset": True})
        time.sleep(1)
        awake = vr.handle_control({"op": "status"})["radio"]
        assert awake["polls_per_s"] > 15 and awake["radio_on_fraction"] > 0.9, awake
    finally:
        reader.set_config(power_save="auto")
    # a card put down while dozing is found within detect_ms + a poll
    vr.devices.tap("adult")
    started = time.monotonic()
    assert _next(reader, "tap")["status"] == "ok"
    assert time.monotonic() - started < 2.0
    vr.devices.remove()


def test_a_reader_without_keypad_or_battery_says_so():
    with VirtualReader("sim-pn532-uart") as vr:
        with Reader(vr.port, open_timeout=30, timeout=10) as reader:
            info = reader.info()
            assert info["keypad"] is False and info["battery"] is None
            report = reader.selftest()
            assert report["keypad"] == {"ok": True, "present": False}
            assert report["battery"] == {"ok": True, "present": False}
            with pytest.raises(NotSupported, match="has no keypad") as caught:
                reader.verify_pin_on_reader(10)
            assert caught.value.kind == "no-keypad"
            with pytest.raises(ValueError, match="this board has no keypad"):
                vr.handle_control({"op": "press", "keys": "1"})


def test_the_bridge_asks_for_the_pin_on_the_reader(tmp_path):
    """POST /api/readers/{id}/pin {"on_reader": true}: national VerifyPIN typed on the keypad;
    the HIS gets the outcome and the retries, never the PIN."""
    from hcterm.bridge.readers import CONNECTED
    from tests.host.test_bridge import AUTH, Bridge, run

    with VirtualReader("sim-handheld", port_link=str(tmp_path / "usb0")) as vr:
        async def scenario():
            async with Bridge([vr.port]) as b:
                await b.wait_state("r1", CONNECTED)
                vr.devices.tap("adult")
                await asyncio.sleep(1.0)                 # the flow reads the tap
                _type_later(vr, "9999#", delay=1.5)
                status, body = await b.post("/api/readers/r1/pin",
                                            {"on_reader": True, "timeout_s": 20},
                                            headers=AUTH)
                assert (status, body["outcome"], body["retries"]) == (200, "wrong", 2), body
                assert "9999" not in json.dumps(body)

        run(scenario())


def test_bench_power_small_run():
    """`hcterm bench power` on the handheld, small: always-on against low-power in one run."""
    out = subprocess.run([sys.executable, "-m", "hcterm.cli", "bench", "power", "--json",
                          "--boards", "sim-handheld", "--taps", "2", "--idle-s", "1"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    figures = result["per_board"]["sim-handheld"]
    assert figures["always_on"]["idle"]["radio_on_fraction"] > 0.9
    assert figures["duty_cycle"] == figures["low_power"]["idle"]["radio_on_fraction"] < 0.05
    assert figures["low_power"]["idle_dozes"] >= 2 and figures["always_on"]["idle_dozes"] == 0
    assert -100 < figures["added_tap_latency"]["median_ms"] < 400
