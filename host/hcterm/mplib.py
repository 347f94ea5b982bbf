"""micropython-lib packages the firmware runs, installed from PyPI into the venv.

The display boards run the micropython-lib SSD1306 driver (PyPI `micropython-ssd1306`), not a
driver of ours. On PyPI it is in the form MicroPython's old `upip` installed: a bare source
tarball holding `ssd1306.py` and no setup.py, which pip cannot install. So this module does
what upip did, for the packages named in MICROPYTHON_LIB: it takes the version pinned in
constraints.txt (pip ignores a pin of a package it is not asked to install), asks PyPI's
Simple API (the index pip reads, PEP 691 JSON) for that release's tarball, checks its
SHA-256 against the one recorded here, and unpacks the module into
`<venv>/lib/micropython/`, where the sim's ROMFS image and `hcterm image build` pick it up
(never copied into the repository). A real board's build freezes the same driver from
micropython-lib (its manifest.py: `require("ssd1306")`).

    python -m hcterm.mplib       # install what is missing (./dev.sh runs it)
"""

import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

from .mpy import REPO

# PyPI name -> (module file in the tarball, SHA-256 of the pinned release's tarball)
MICROPYTHON_LIB = {
    "micropython-ssd1306": (
        "ssd1306.py", "d00cae1ff680e6ae504e258e700f002874b0d924b1a604253b6ea63144b58289"),
}
PYPI = os.environ.get("HCTERM_PYPI_SIMPLE", "https://pypi.org/simple")
_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


class MicropythonLibMissing(RuntimeError):
    """A micropython-lib module is not installed and cannot be fetched."""


def target_dir():
    return Path(sys.prefix) / "lib" / "micropython"


def pinned(name, constraints=REPO / "constraints.txt"):
    for line in Path(constraints).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith(name + "=="):
            return line.split("==", 1)[1]
    raise MicropythonLibMissing(f"{name} has no pin in {constraints}: add `{name}==VERSION`")


def module_path(name):
    """The installed module file of micropython-lib package `name`, installed first if it is
    missing (MicropythonLibMissing says why it cannot be)."""
    filename, _ = MICROPYTHON_LIB[name]
    path = target_dir() / filename
    if not path.exists():
        install(name)
    return path


def install(name):
    filename, sha256 = MICROPYTHON_LIB[name]
    version = pinned(name)
    try:
        request = urllib.request.Request(f"{PYPI}/{name}/", headers=_JSON)
        with urllib.request.urlopen(request, timeout=60) as answer:
            files = json.load(answer)["files"]
        url = next(f["url"] for f in files if f["filename"] == f"{name}-{version}.tar.gz")
        with urllib.request.urlopen(url, timeout=60) as answer:
            data = answer.read()
    except (OSError, ValueError, KeyError, StopIteration) as error:
        raise MicropythonLibMissing(
            f"cannot fetch {name} {version} from PyPI ({error}): the display boards need its "
            f"{filename}; run `python -m hcterm.mplib` where PyPI is reachable") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise MicropythonLibMissing(f"{name} {version} from PyPI has SHA-256 {digest}, not the "
                                    f"recorded {sha256}: refusing it")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.getmember(f"{name}-{version}/{filename}")
        text = tar.extractfile(member).read()
    target = target_dir()
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / (filename + ".tmp")
    tmp.write_bytes(text)
    os.replace(tmp, target / filename)
    return target / filename


def main():
    for name in MICROPYTHON_LIB:
        print(f"{name}: {module_path(name)}")


if __name__ == "__main__":
    main()
