"""Host APDU sessions on the card slot end (issue: raw APDUs silently stopped tap detection):
by power-off, after the setting host_slot_idle_s without an APDU (the SAM slot's too), when a
new host session starts (hello), when the card leaves; `info` says which slots the host holds
and why the last hold ended."""

import subprocess
import sys
import time

import pytest

from hcterm.link import DeviceError, Reader
from hcterm.sim.virtualreader import VirtualReader

SELECT_MF = "00A40000023F00"


@pytest.fixture
def virtual(tmp_path):
    with VirtualReader(flash=tmp_path / "flash.img") as vr:
        yield vr


def next_of(reader, kind, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = reader.next_event(timeout=max(0.1, deadline - time.monotonic()))
        if event and event["type"] == kind:
            return event
    raise AssertionError(f"no {kind} event in {timeout} s")


def hold_the_card(reader, virtual):
    """A tap (reported), then the host powers the card slot and sends an APDU."""
    virtual.devices.tap("adult")
    assert next_of(reader, "tap")["status"] == "ok"
    reader.power_on("card")
    assert reader.apdu("card", SELECT_MF).hex().upper().endswith("9000")
    assert reader.info()["held_by_host"] == ["card"]


def retap(reader, virtual):
    """The card leaves and comes back: the flow polls again, so both are reported."""
    virtual.devices.remove()
    next_of(reader, "removed")
    virtual.devices.tap("adult")
    return next_of(reader, "tap")


def test_power_off_ends_the_hold_and_taps_are_reported_again(virtual):
    with Reader(virtual.port) as reader:
        assert reader.info()["held_by_host"] == []
        hold_the_card(reader, virtual)
        reader.PowerOff(0x01)
        info = reader.info()
        assert info["held_by_host"] == []
        assert info["host_slot_ended"]["slot"] == "card"
        assert info["host_slot_ended"]["why"] == "power-off"
        assert retap(reader, virtual)["status"] == "ok"


def test_an_idle_hold_ends_by_itself(virtual):
    with Reader(virtual.port) as reader:
        with pytest.raises(DeviceError, match="host_slot_idle_s"):
            reader.set_config(host_slot_idle_s=0)
        reader.set_config(host_slot_idle_s=1)
        hold_the_card(reader, virtual)
        ended = next_of(reader, "error")          # the host did not ask: it is told
        assert (ended["status"], ended["reason"], ended["slot"]) == \
            ("ended", "host_slot_ended", "card"), ended
        assert "idle 1 s" in ended["message"]
        info = reader.info()
        assert info["held_by_host"] == []
        assert info["host_slot_ended"]["why"] == "idle 1 s"
        with pytest.raises(DeviceError, match="not powered"):
            reader.apdu("card", SELECT_MF)
        assert retap(reader, virtual)["status"] == "ok"


def test_an_idle_sam_hold_ends_by_itself_and_taps_go_on_meanwhile(virtual):
    with Reader(virtual.port) as reader:
        reader.set_config(host_slot_idle_s=2)
        reader.power_on("sam1")
        assert reader.apdu("sam1", "00A4000002DF01").hex().upper() == "6F048302DF019000"
        info = reader.info()
        assert info["held_by_host"] == ["sam1"], info
        virtual.devices.tap("adult")                 # the flow polls: the SAM is shared
        assert next_of(reader, "tap")["status"] == "ok"
        ended = next_of(reader, "error")
        assert (ended["status"], ended["reason"], ended["slot"]) == \
            ("ended", "host_slot_ended", "sam1"), ended
        assert "idle 2 s" in ended["message"]
        info = reader.info()
        assert info["held_by_host"] == [], info
        assert (info["host_slot_ended"]["slot"], info["host_slot_ended"]["why"]) == \
            ("sam1", "idle 2 s")
        with pytest.raises(DeviceError, match="not powered") as error:
            reader.apdu("sam1", "00A4000002DF01")
        assert error.value.kind == "not-powered"


def test_a_new_host_session_ends_the_hold(virtual):
    with Reader(virtual.port) as reader:
        hold_the_card(reader, virtual)
        reader.hello()                       # a new session name: the host reconnected
        info = reader.info()
        assert info["held_by_host"] == []
        assert info["host_slot_ended"]["why"] == "new host session"
        assert retap(reader, virtual)["status"] == "ok"


def test_a_card_gone_ends_the_hold(virtual):
    with Reader(virtual.port) as reader:
        hold_the_card(reader, virtual)
        virtual.devices.remove()
        with pytest.raises(DeviceError, match="did not answer"):   # a timeout on the sim
            reader.apdu("card", SELECT_MF)
        info = reader.info()
        assert info["held_by_host"] == [], info
        assert info["host_slot_ended"]["why"] == "card lost (timeout)"
        next_of(reader, "removed")
        virtual.devices.tap("adult")
        assert next_of(reader, "tap")["status"] == "ok"


def test_cli_apdu_powers_off_unless_told_to_keep_it(virtual):
    def hcterm(*args):
        return subprocess.run([sys.executable, "-m", "hcterm.cli", *args, "--port",
                               virtual.port], capture_output=True, text=True, timeout=30)

    virtual.devices.tap("adult")
    out = hcterm("apdu", "--slot", "card", SELECT_MF)
    assert (out.returncode, out.stdout) == (0, "6F 04 83 02 3F 00 90 00\n"), out.stderr
    with Reader(virtual.port) as reader:
        assert reader.info()["host_slot_ended"]["why"] == "power-off"
    out = hcterm("apdu", "--keep-powered", "--slot", "card", SELECT_MF)
    assert out.returncode == 0, out.stderr
    out = hcterm("power-off", "--slot", "card")
    assert (out.returncode, out.stdout) == (0, "card: powered off\n"), out.stderr


def test_the_idle_setting_is_checked():
    from reader.terminal import settings

    assert settings.DEFAULTS["host_slot_idle_s"] == 30
    settings.check_one("host_slot_idle_s", 1)
    settings.check_one("host_slot_idle_s", 3600)
    for bad in (0, 3601, True, 1.5, "30"):
        with pytest.raises(ValueError, match="host_slot_idle_s"):
            settings.check_one("host_slot_idle_s", bad)
