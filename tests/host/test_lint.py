"""Static checks of the tree: ruff (the `invoke lint` task), and a MicroPython rule ruff
does not know."""

import re
import shutil
import subprocess

import pytest

from hcterm.mpy import BOARDS_DIR, FIRMWARE_DIR, REPO


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(REPO / ".venv" / "bin"))
    if ruff is None:
        pytest.fail("ruff is not installed: pip install -e '.[dev]'")
    proc = subprocess.run([ruff, "check", "host", "firmware", "boards", "tests", "tasks.py"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_firmware_raises_without_exception_chaining():
    # MicroPython prints "Warning: exception chaining not supported" for `raise X from e`,
    # on the reader's USB port; `from None` is silent.
    chained = re.compile(r"\bfrom\s+(?!None\b)\w+\s*$")
    found = []
    for folder in (FIRMWARE_DIR, BOARDS_DIR):
        for path in folder.rglob("*.py"):
            lines = path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines, 1):
                code = line.split("#")[0]
                if ("raise" in code or code.strip().startswith("from ")) and \
                        chained.search(code) and "import" not in code:
                    found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_warning_is_real_on_the_runtime():
    from hcterm.mpy import micropython_command

    code = ("try:\n try:\n  raise ValueError(1)\n except ValueError as e:\n"
            "  raise KeyError(2) from e\nexcept KeyError:\n pass\n")
    out = subprocess.run(micropython_command("-c", code), capture_output=True, text=True,
                         timeout=30)
    assert "exception chaining not supported" in out.stdout + out.stderr
