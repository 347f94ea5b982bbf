"""Acceptance (hcterm.flashing.acceptance) on virtual readers: the hardware-in-the-loop suite
`pytest tests/hil` run against a virtual reader's port passes, and fails with a clear
message per check when the reader has no SAM; `hcterm accept` and `hcterm flash --accept`
write the results per check into the manufacturing record; the manual presenter's prompts
time out."""

import json
import os
import subprocess
import sys

import pytest

from hcterm import cli
from hcterm.flashing.acceptance import NAMES, Acceptance
from hcterm.flashing.presenters import ManualPresenter
from hcterm.flashing.record import CSV_NAME, JSONL_NAME
from hcterm.mpy import REPO
from hcterm.sim.virtualreader import VirtualReader


def _hil(vr):
    # -rN: no short summary. Under CI (env CI set) pytest prints it untruncated, repeating each
    # failure's message, so counting a message would depend on the environment.
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rN", "-p", "no:cacheprovider",
                           "tests/hil", "--port", vr.port, "--control", vr.control_path],
                          capture_output=True, text=True, cwd=REPO, timeout=240)


@pytest.fixture
def vr(tmp_path):
    with VirtualReader(control=str(tmp_path / "sim.ctl")) as reader:
        reader.open_reader().close()    # booted
        yield reader


def test_the_hil_suite_passes_against_a_virtual_reader(vr):
    run = _hil(vr)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(NAMES)} passed" in run.stdout


def test_the_hil_suite_says_what_failed_without_a_sam(tmp_path):
    reader = VirtualReader(control=str(tmp_path / "sim.ctl"))
    reader.devices.sam_slot.faults.mute = True       # the slot is empty from power-on
    with reader as vr:
        run = _hil(vr)
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "3 failed, 3 passed" in out, out
    assert "selftest: self-test failed: sam: SAM not answering" in out
    assert "sam: no SAM answers in slot sam1 (SAM slot: no ATR after reset" in out
    assert "tap: the reference card's tap failed (sam: SAM slot: no ATR" in out
    assert out.count("what to do: seat a PSAM in the SAM slot") == 3


def test_accept_records_each_check(vr, tmp_path, capsys):
    argv = ["accept", "--port", vr.port, "--control", vr.control_path, "--records",
            str(tmp_path), "--operator", "bob"]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1:3] for line in lines] == [[name, "ok"] for name in NAMES]
    record = json.loads((tmp_path / JSONL_NAME).read_text())
    assert record["acceptance"] == "ok" and record["operator"] == "bob"
    assert record["acceptance_checks"] == " ".join(f"{n}:ok" for n in NAMES)
    assert record["sam_serial"] and record["unique_id"]
    vr.devices.sam_slot.faults.mute = True         # the SAM gone: the next run fails
    assert cli.main(argv + ["--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["acceptance"] == "failed: sam, tap"
    assert result["reason"].startswith("sam: no SAM answers in slot sam1")
    rows = (tmp_path / CSV_NAME).read_text().splitlines()
    assert rows[0].endswith(",acceptance_checks") and len(rows) == 3
    assert rows[2].endswith("sam:failed tap:failed blacklist:ok feedback:ok")


def test_flash_accept_puts_the_checks_in_the_record(vr, tmp_path, capsys):
    code = cli.main(["flash", "--board", vr.board, "--port", vr.port, "--accept",
                     "--control", vr.control_path, "--records", str(tmp_path), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    assert result["acceptance"] == "ok" and [c["check"] for c in result["checks"]] == list(NAMES)
    record = json.loads((tmp_path / JSONL_NAME).read_text())
    assert record["acceptance"] == "ok" and record["selftest"] == "ok"


def test_flash_accept_needs_a_control_per_port_for_the_virtual_presenter(tmp_path, capsys):
    code = cli.main(["flash", "--board", "sim-pn532-uart", "--port", "/dev/null",
                     "--presenter", "virtual", "--accept", "--records", str(tmp_path)])
    assert code == 2
    assert "one --control PATH per --port" in capsys.readouterr().err


def test_the_manual_presenter_times_out(vr):
    read, write = os.pipe()
    with os.fdopen(read) as answers, open(os.devnull, "w") as prompts:
        presenter = ManualPresenter(vr.port, timeout=1, inp=answers, out=prompts)
        with vr.open_reader() as reader:
            checks = Acceptance(reader, presenter)
            tap = checks.run("tap")                 # nobody places the card
            assert not tap["ok"]
            assert tap["reason"] == "no card was read within 1 s of placing the reference card"
            feedback = checks.run("feedback")       # nobody answers
            assert feedback["reason"] == "no led and no beeper when the host asked"
            os.write(write, b"y\n")
            assert checks.run("feedback")["ok"]
    os.close(write)


def test_a_card_taken_away_during_the_read_fails_the_tap_saying_so(vr):
    from hcterm.flashing.presenters import VirtualPresenter

    with vr.open_reader() as reader:
        vr.devices.field.faults.card_removed_after(4)     # it leaves in the middle
        tap = Acceptance(reader, VirtualPresenter(vr.control_path)).run("tap")
    assert not tap["ok"]
    assert tap["reason"].startswith("the reference card's tap failed (card_removed: the card "
                                    "left the field during the read")
    assert "place it flat on the antenna's mark" in tap["todo"]
