"""pytest plumbing: firmware tests (tests/firmware/mptest_*.py) run inside `micropython`.

Each mptest module runs once, in a fresh `micropython -X heapsize=…` process; every
`test_*` function in it becomes a pytest item whose failure shows the MicroPython traceback.
A module may set its heap with a first-lines comment `# heapsize: 96k` (default 128k), and
ask for emulated devices on the sim bus with `# simbus: MODULE:FUNCTION` (a function returning
SimBus keyword arguments; MODULE is imported with tests/ on sys.path, e.g.
`support.emu_benches`, tests/support/emu_benches.py); the bus is then served while it runs.
`# firmware: romfs` imports the firmware from a ROMFS image (mpy-cross, in place, as the
virtual reader does) instead of compiling its source into the heap.

`# boards: sim-pn532-uart sim-rc522` runs the module once per board instead, each run its own
process with MPTEST_BOARD set to the board's name (tests read it as `harness_boards.BOARD`);
items are `mptest_x.py::BOARD::test_y`. In its `# simbus:` header `{board}` stands for the
board's name with `-` as `_` (`# simbus: support.emu_driver_benches:{board}` serves
`sim_rc522()` to the sim-rc522 run). A test decorated `@only_on("sim-rc522", ...)`
(harness_boards.py) is collected for those boards only: on the others it does not exist,
rather than passing. Helpers the tests import by name: tests/firmware/support/README.md.
"""

import importlib
import os
import re
import shutil
import subprocess
import tempfile

import pytest

# The firmware tests, their helpers that run inside micropython with them (the harness, fake
# buses, card peers, the sim bench client: tests/firmware/support/README.md, imported by plain
# name) and MicroPython's module search path for them: tests/support/micropython_path.py.
from support.micropython_path import FIRMWARE_SUPPORT, MICROPYPATH  # noqa: E402

from hcterm.mpy import micropython_command
from hcterm.sim import romimage
from hcterm.sim.bus import SimBus
from hcterm.sim.virtualreader import ROM_HEAP_SLACK, parse_size


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    # pyproject's python_files includes mptest_*.py; such modules are MicroPython code and
    # are never imported by CPython.
    if module_path.name.startswith("mptest_"):
        return MicroPythonModule.from_parent(parent, path=module_path)
    return None


class MicroPythonFailure(Exception):
    pass


TEST = re.compile(r"^((?:@.*\n)*)def (test_\w+)\(", re.M)   # decorator lines, name
ONLY_ON = re.compile(r"^@only_on\((.*)\)$", re.M)
QUOTED = re.compile(r"""["']([^"']+)["']""")


class MicroPythonModule(pytest.File):
    def collect(self):
        # Names come from the source (the harness reports what it ran); a test that did not
        # report is a failure, never a silent pass.
        source = self.path.read_text()
        match = re.search(r"^# heapsize: (\w+)", source, re.M)
        self.heapsize = match.group(1) if match else "128k"
        self.romfs = bool(re.search(r"^# firmware: romfs$", source, re.M))
        match = re.search(r"^# simbus: ([\w.]+):(\{board\}|\w+)", source, re.M)
        self.simbus = match.groups() if match else None
        match = re.search(r"^# boards: (.+)$", source, re.M)
        boards = match.group(1).split() if match else None
        tests = self._tests(source, boards)
        if boards is None:
            if self.simbus and self.simbus[1] == "{board}":
                raise self.CollectError(f"{self.path.name}: `{{board}}` without `# boards:`")
            self.run = MicroPythonRun(self, None, sorted(tests))
            for name in self.run.names:
                yield MicroPythonItem.from_parent(self, name=name)
            return
        for board in boards:
            names = sorted(name for name, only in tests.items() if only is None or board in only)
            yield MicroPythonBoard.from_parent(self, name=board, names=names)

    def _tests(self, source, boards):
        """{test name: the boards of its @only_on(...), or None for every board}."""
        tests = {}
        for decorators, name in TEST.findall(source):
            match = ONLY_ON.search(decorators)
            if match is None:
                tests[name] = None
                continue
            only = QUOTED.findall(match.group(1))
            unknown = set(only) - set(boards or ())
            if not only or unknown:
                raise self.CollectError(
                    f"{self.path.name}::{name}: @only_on({match.group(1)}) names "
                    f"{sorted(unknown) or 'no board'}, not one of `# boards: "
                    f"{' '.join(boards or ())}`")
            tests[name] = set(only)
        return tests


class MicroPythonBoard(pytest.Collector):
    """One board's run of a `# boards:` module."""

    def __init__(self, *, names, **kwargs):
        super().__init__(**kwargs)
        self.heapsize = self.parent.heapsize
        self.run = MicroPythonRun(self.parent, self.name, names)

    def collect(self):
        for name in self.run.names:
            yield MicroPythonItem.from_parent(self, name=name)


class MicroPythonRun:
    """One micropython process running the named tests of a module (for one board)."""

    def __init__(self, module, board, names):
        self.module = module
        self.board = board
        self.names = names
        self._results = None

    def results(self):
        if self._results is None:
            self._results = self._run()
        return self._results

    def _run(self):
        module = self.module
        # MPTEST_TMP: a fresh scratch directory for the module (flash images, files).
        stem = module.path.stem + (f"-{self.board}" if self.board else "")
        scratch = tempfile.mkdtemp(prefix=f"{stem}-")
        env = dict(os.environ, MICROPYPATH=MICROPYPATH, MPTEST_TMP=scratch)
        env.pop("MPTEST_ROMFS", None)
        env.pop("MPTEST_BOARD", None)
        if self.board:
            env["MPTEST_BOARD"] = self.board
        heapsize = module.heapsize
        if module.romfs:
            # as on the virtual reader: the image's bytes come on top of the heap budget
            image = romimage.build()
            env["MPTEST_ROMFS"] = str(image)
            heapsize = parse_size(heapsize) + image.stat().st_size + ROM_HEAP_SLACK
        # the harness runs exactly the tests collected here (per board: the ones for it)
        argv = micropython_command(FIRMWARE_SUPPORT / "harness.py", module.path.stem,
                                   *self.names, heapsize=heapsize)
        bus = None
        if module.simbus:
            name, function = module.simbus
            if function == "{board}":
                function = self.board.replace("-", "_")
            wiring = getattr(importlib.import_module(name), function)()
            bus = SimBus(os.path.join(scratch, "bus"), **wiring).start()
            env["HCTERM_SIM_DIR"] = bus.directory
            self.bus = bus
        try:
            proc = subprocess.run(
                argv, cwd=module.path.parent, env=env, capture_output=True, text=True,
                timeout=180,
            )
        finally:
            if bus is not None:
                bus.close()
            shutil.rmtree(scratch, ignore_errors=True)
        results = {}
        current = None
        lines = []
        for line in proc.stdout.splitlines():
            if line.startswith("@@mptest "):
                _, name, status, _elapsed = line.split()
                results[name] = (status, "\n".join(lines))
                current = name if status == "fail" else None
                lines = []
            elif line == "@@end" and current:
                status, out = results[current]
                results[current] = (status, out + "\n--- traceback (MicroPython) ---\n"
                                    + "\n".join(lines))
                current = None
                lines = []
            elif not line.startswith("@@mptest-collected"):
                lines.append(line)
        results["__process__"] = (proc.returncode, proc.stdout[-4000:] + proc.stderr[-4000:])
        return results


class MicroPythonItem(pytest.Item):
    def runtest(self):
        results = self.parent.run.results()
        if self.name not in results:
            code, tail = results["__process__"]
            raise MicroPythonFailure(
                f"{self.name} did not report: micropython exited {code}\n{tail}"
            )
        status, output = results[self.name]
        if status != "ok":
            raise MicroPythonFailure(output)
        if output:
            print(output)       # what the test printed (pytest -s shows it: a sweep's counts)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, MicroPythonFailure):
            return f"firmware test failed under micropython:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        board = f" {self.parent.name}" if isinstance(self.parent, MicroPythonBoard) else ""
        return (self.path, None,
                f"[micropython -X heapsize={self.parent.heapsize}{board}] {self.name}")
