"""mpy-cross output (the format `hcterm flash` ships) imports on the pinned runtime."""

import os
import subprocess

from hcterm.mpy import FIRMWARE_DIR, micropython_command, mpy_cross_binary


def test_mpy_cross_output_imports_on_the_runtime(tmp_path):
    package = tmp_path / "reader"
    package.mkdir()
    for name in ("__init__.py", "crc.py"):
        subprocess.run([mpy_cross_binary(), "-o", str(package / name.replace(".py", ".mpy")),
                        str(FIRMWARE_DIR / "reader" / name)], check=True, timeout=60)
    assert sorted(p.name for p in package.iterdir()) == ["__init__.mpy", "crc.mpy"]
    script = tmp_path / "check.py"
    script.write_text(
        "import reader.crc as c\n"
        "print(c.__file__, c.crc_a_bytes(b'\\x93\\x70\\x9e\\xf5\\x69\\x0b\\x09').hex())\n")
    # only the .mpy files are on the path: no .py source to fall back on
    env = dict(os.environ, MICROPYPATH=str(tmp_path))
    proc = subprocess.run(micropython_command(script), env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split() == [str(package / "crc.mpy"), "777f"]


def test_mpy_version_matches_the_runtime():
    version = subprocess.run([mpy_cross_binary(), "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    assert "mpy v6.3" in version, version
    code = "import sys; print(sys.implementation._mpy & 0xff)"
    proc = subprocess.run(micropython_command("-c", code), capture_output=True, text=True,
                          timeout=30)
    assert proc.stdout.strip() == "6", proc.stdout + proc.stderr
