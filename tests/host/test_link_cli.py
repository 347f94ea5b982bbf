"""`hcterm read` and `hcterm events` on a virtual reader: card fields under the national
names with AN decoded to text (the name as 张伟, not GBK hex), `--raw` for the device form."""

import json
import threading

import pytest

from hcterm import cli
from hcterm.sim.virtualreader import VirtualReader

NAME = "张伟"                                    # the adult sample's XM
NAME_GBK = NAME.encode("gbk").hex().upper()     # D5C5CEB0, as the link carries it
ID_NUMBER = "410105198503154213"


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    flash = tmp_path_factory.mktemp("link-cli") / "flash.img"
    with VirtualReader(flash=flash, card="adult") as vr:
        yield vr


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_read_prints_the_fields_decoded(adult, capsys):
    out = run(capsys, "read", "--port", adult.port, "--timeout", "20")
    rows = dict(line.split(None, 1) for line in out.splitlines())
    assert rows["XM"] == NAME and rows["SFZH"] == ID_NUMBER and rows["CSRQ"] == "19850315"
    fields = json.loads(run(capsys, "read", "--port", adult.port, "--json"))
    assert fields["XM"] == NAME and fields["KH"] == ID_NUMBER and fields["XB"] == "1"
    assert json.loads(run(capsys, "read", "--port", adult.port, "--json", "--raw"))["XB"] == "01"


def test_read_raw_keeps_the_device_form(adult, capsys):
    fields = json.loads(run(capsys, "read", "--port", adult.port, "--json", "--raw"))
    assert fields["XM"] == NAME_GBK and fields["SFZH"] == ID_NUMBER.encode().hex().upper()
    assert f"XM         {NAME_GBK}" in run(capsys, "read", "--port", adult.port, "--raw")


def events_of_a_tap(adult, capsys, *options):
    """What `hcterm events OPTIONS` prints while the adult card is tapped (a second in)."""
    adult.devices.remove()
    tap = threading.Timer(1.0, adult.devices.tap, ("adult",))
    tap.start()
    try:
        return run(capsys, "events", "--port", adult.port, "--for", "4", *options)
    finally:
        tap.cancel()


def test_events_print_the_tap_decoded(adult, capsys):
    out = events_of_a_tap(adult, capsys, "--json")
    taps = [e for e in map(json.loads, out.splitlines()) if e["type"] == "tap"]
    assert taps and taps[-1]["XM"] == NAME and taps[-1]["SFZH"] == ID_NUMBER, out
    out = events_of_a_tap(adult, capsys)
    taps = [line for line in out.splitlines() if line.startswith("tap ")]
    assert taps and f"XM={NAME}," in taps[-1] and f"SFZH={ID_NUMBER}," in taps[-1], out


def test_events_raw_keeps_the_device_form(adult, capsys):
    out = events_of_a_tap(adult, capsys, "--json", "--raw")
    taps = [e for e in map(json.loads, out.splitlines()) if e["type"] == "tap"]
    assert taps and taps[-1]["XM"] == NAME_GBK, out
