"""The RAM rule (reader/__init__.py, docs/architecture.md "RAM rules"): no resident object
holds a reader module or class that is no longer the one in sys.modules. Checked inside the
virtual reader's firmware process (tests/firmware/support/stale_refs.py, sent through
mpremote at the REPL) at the moment that broke it before: a blacklist update sent in chunks
with a tap between the chunks, which lets the card application and the blacklist code go
while the update waits for its next chunk (an update now keeps its state on the flash, none
in RAM: this proves it stays so)."""

import subprocess
import sys
from pathlib import Path

from hcterm import blacklist_files as bf
from hcterm.commands.demo import provision_demo_key, signed_list
from hcterm.emulator import samples
from hcterm.link import Reader
from hcterm.sim.virtualreader import VirtualReader

CHECKER = Path(__file__).parents[1] / "firmware" / "support" / "stale_refs.py"
# room for the checker itself (a set of everything it walked) beside the firmware
CHECK_HEAP = "256k"


def _exec(port, code):
    out = subprocess.run([sys.executable, "-m", "mpremote", "resume", "connect", str(port),
                          "exec", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _stale(port, planting=""):
    """The checker's findings (after running `planting` at the REPL first)."""
    out = _exec(port, planting + CHECKER.read_text() + "\nreport()\n")
    assert "@@done" in out, out
    return [line[6:] for line in out.splitlines() if line.startswith("STALE ")]


def _tap_and_remove(vr, reader, kind):
    path = next(p for p in samples.paths() if f"-{kind}-" in p.name)
    vr.devices.tap(path)
    assert _next(reader, "tap")["status"] in ("ok", "refused")
    vr.devices.remove()
    _next(reader, "removed")


def _next(reader, kind):
    while True:
        event = reader.next_event(timeout=10)
        if event.get("type") == kind:
            return event


def test_a_tap_between_two_chunks_of_a_blacklist_update_leaves_no_stale_copy(tmp_path):
    with VirtualReader(flash=tmp_path / "flash.img", heapsize=CHECK_HEAP) as vr:
        reader = Reader(vr.port, open_timeout=30, timeout=10)
        try:
            provision_demo_key(reader)
            data = signed_list(version=9)
            first = reader.blacklist_update({"begin": bf._b64(data[:224])})
            reader.blacklist_update({"update": first["update"], "at": 0,
                                     "data": bf._b64(data[4096:4096 + bf.CHUNK])})
            _tap_and_remove(vr, reader, "adult")      # the card application comes and goes
            reader.handoff()
            assert _stale(vr.port) == []
            reader.take_back()
            status = bf.push(reader, data)            # resumes after the first chunk
            assert (status["version"], status["count"]) == (9, 4), status
            _tap_and_remove(vr, reader, "adult")
            reader.handoff()
            assert _stale(vr.port) == []
        finally:
            reader.close()


def test_the_checker_finds_a_stale_module_and_a_stale_class(tmp_path):
    planting = (
        "import reader, reader.main as m\n"
        "from reader.cards import idnumber as old_module\n"
        "from reader.terminal.blacklist import Blacklist as OldClass\n"
        "reader.let_go('cards.idnumber', 'terminal.blacklist')\n"
        "import reader.terminal.blacklist\n"
        "m._state['session'].planted = [old_module, OldClass]\n")
    with VirtualReader(flash=tmp_path / "flash.img", heapsize=CHECK_HEAP) as vr:
        reader = Reader(vr.port, open_timeout=30, timeout=10)
        try:
            reader.info()
            reader.handoff()
            found = _stale(vr.port, planting)
        finally:
            reader.close()
    assert any("planted[0]: module reader.cards.idnumber" in f for f in found), found
    assert any("planted[1]: class reader.terminal.blacklist.Blacklist" in f for f in found), \
        found
