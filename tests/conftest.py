"""pytest plumbing: firmware tests (tests/firmware/mptest_*.py) run inside `micropython`.

Each mptest module runs once, in a fresh `micropython -X heapsize=…` process; every
`test_*` function in it becomes a pytest item whose failure shows the MicroPython traceback.
A module may set its heap with a first-lines comment `# heapsize: 96k` (default 128k), and
ask for emulated devices on the sim bus with `# simbus: MODULE:FUNCTION` (a function returning
SimBus keyword arguments; MODULE is imported with tests/ on sys.path, e.g.
`support.emu_benches`, tests/support/emu_benches.py); the bus is then served while it runs.
`# firmware: romfs` imports the firmware from a ROMFS image (mpy-cross, in place, as the
virtual reader does) instead of compiling its source into the heap.
"""

import importlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from hcterm.mpy import BOARDS_DIR, FIRMWARE_DIR, micropython_command
from hcterm.sim import romimage
from hcterm.sim.bus import SimBus
from hcterm.sim.virtualreader import ROM_HEAP_SLACK, parse_size

FIRMWARE_TESTS = Path(__file__).parent / "firmware"
# Helpers that run inside micropython with the firmware tests (the harness, fake buses, card
# peers, the sim bench client): tests/firmware/support/README.md. Imported by plain name.
FIRMWARE_SUPPORT = FIRMWARE_TESTS / "support"
# MicroPython's module search path (MICROPYPATH): the firmware tests (the harness imports the
# module under test by name), their helpers, the firmware, the shared sim board HAL.
MICROPYPATH = os.pathsep.join(
    # ".frozen": the port's frozen modules (asyncio), which a set MICROPYPATH would drop
    [".frozen", str(FIRMWARE_TESTS), str(FIRMWARE_SUPPORT), str(FIRMWARE_DIR),
     str(BOARDS_DIR / "sim-common")]
)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    # pyproject's python_files includes mptest_*.py; such modules are MicroPython code and
    # are never imported by CPython.
    if module_path.name.startswith("mptest_"):
        return MicroPythonModule.from_parent(parent, path=module_path)
    return None


class MicroPythonFailure(Exception):
    pass


class MicroPythonModule(pytest.File):
    def collect(self):
        # Names come from the source (the harness reports what it ran); a test that did not
        # report is a failure, never a silent pass.
        source = self.path.read_text()
        names = sorted(set(re.findall(r"^def (test_\w+)\(", source, re.M)))
        match = re.search(r"^# heapsize: (\w+)", source, re.M)
        self.heapsize = match.group(1) if match else "128k"
        self.romfs = bool(re.search(r"^# firmware: romfs$", source, re.M))
        match = re.search(r"^# simbus: ([\w.]+):(\w+)", source, re.M)
        self.simbus = match.groups() if match else None
        self._results = None
        for name in names:
            yield MicroPythonItem.from_parent(self, name=name)

    def results(self):
        if self._results is None:
            self._results = self._run()
        return self._results

    def _run(self):
        # MPTEST_TMP: a fresh scratch directory for the module (flash images, files).
        scratch = tempfile.mkdtemp(prefix=f"{self.path.stem}-")
        env = dict(os.environ, MICROPYPATH=MICROPYPATH, MPTEST_TMP=scratch)
        env.pop("MPTEST_ROMFS", None)
        heapsize = self.heapsize
        if self.romfs:
            # as on the virtual reader: the image's bytes come on top of the heap budget
            image = romimage.build()
            env["MPTEST_ROMFS"] = str(image)
            heapsize = parse_size(heapsize) + image.stat().st_size + ROM_HEAP_SLACK
        argv = micropython_command(FIRMWARE_SUPPORT / "harness.py", self.path.stem,
                                   heapsize=heapsize)
        bus = None
        if self.simbus:
            module, function = self.simbus
            wiring = getattr(importlib.import_module(module), function)()
            bus = SimBus(os.path.join(scratch, "bus"), **wiring).start()
            env["HCTERM_SIM_DIR"] = bus.directory
            self.bus = bus
        try:
            proc = subprocess.run(
                argv, cwd=self.path.parent, env=env, capture_output=True, text=True,
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
        results = self.parent.results()
        if self.name not in results:
            code, tail = results["__process__"]
            raise MicroPythonFailure(
                f"{self.name} did not report: micropython exited {code}\n{tail}"
            )
        status, output = results[self.name]
        if status != "ok":
            raise MicroPythonFailure(output)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, MicroPythonFailure):
            return f"firmware test failed under micropython:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"[micropython -X heapsize={self.parent.heapsize}] {self.name}"
