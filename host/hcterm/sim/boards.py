"""The boards in boards/: real ones (board.py for `machine`) and sim ones (`sim-…`, with a
wiring.json naming the emulated device on each of their buses)."""

import json

from ..mpy import BOARDS_DIR

COMMON = "sim-common"


class BoardNotFound(LookupError):
    pass


def names():
    return sorted(p.parent.name for p in BOARDS_DIR.glob("*/board.py"))


def sim_names():
    return [n for n in names() if n.startswith("sim-")]


def describe(name):
    """-> dict with `name`, `sim` (bool), `description`, and for sim boards `uarts`/`spis`."""
    folder = BOARDS_DIR / name
    if not (folder / "board.py").exists():
        raise BoardNotFound(
            f"no board named {name!r}: choose one of {', '.join(names())} "
            f"(`hcterm sim --list-boards`)")
    info = {"name": name, "sim": name.startswith("sim-"), "description": ""}
    wiring = folder / "wiring.json"
    if wiring.exists():
        info.update(json.loads(wiring.read_text()))
    else:
        readme = folder / "README.md"
        if readme.exists():
            info["description"] = readme.read_text().splitlines()[0].lstrip("# ")
    return info
