"""invoke tasks: `invoke --list`. Each wraps an hcterm or pytest command (run inside the
project's environment, e.g. after `./dev.sh shell`)."""

from invoke import task


@task(help={"k": "only tests matching this expression", "firmware": "only firmware tests"})
def test(c, k=None, firmware=False):
    """Run the test suite (firmware tests execute under the micropython binary)."""
    target = "tests/firmware" if firmware else "tests"
    c.run(f"python -m pytest -q {target}" + (f" -k {k!r}" if k else ""), pty=True)


@task(help={"board": "sim board", "card": "card on the antenna", "flash": "flash image"})
def sim(c, board="sim-pn532-uart", card=None, flash=None):
    """Run a virtual reader until Ctrl-C."""
    args = f"--board {board}" + (f" --card {card}" if card else "")
    args += f" --flash {flash}" if flash else ""
    c.run(f"hcterm sim {args}", pty=True)


@task(help={"board": "sim board", "json": "JSON lines"})
def demo(c, board="sim-pn532-uart", json=False):
    """The main job end to end on a virtual reader."""
    c.run(f"hcterm demo --board {board}" + (" --json" if json else ""), pty=True)


@task(help={"port": "the reader's serial port", "board": "board folder under boards/",
            "resume": "do not reset the board first (e.g. a virtual reader handed to the REPL)"})
def flash(c, port, board, resume=False):
    """Development flashing: copy the firmware source, the board's board.py and
    boards/main.py onto a board that runs a stock MicroPython, with mpremote, then reset it.
    (Frozen builds: the board's manifest.py; production images: `hcterm flash`, to come.)"""
    from pathlib import Path

    board_py = Path("boards", board, "board.py")
    if not board_py.exists():
        raise SystemExit(f"no board named {board!r}: see `hcterm sim --list-boards`")
    from hcterm.firmware_modules import board_files

    # what the board's manifest.py would freeze: its chip's modules, not every driver
    files = board_files(board)
    mp = f"mpremote {'resume ' if resume else ''}connect {port}"
    folders = sorted({str(Path(name).parent) for name in files})
    mkdir = "import os\nfor d in %r:\n try:\n  os.mkdir(d)\n except OSError:\n  pass" % folders
    copies = " ".join(
        f"+ cp {' '.join(str(files[n]) for n in sorted(files) if str(Path(n).parent) == f)} :{f}/"
        for f in folders)
    c.run(f'{mp} exec "{mkdir}" {copies} '
          f"+ cp {board_py} :board.py + cp boards/main.py :main.py")
    if not resume:
        c.run(f"{mp} reset")


@task(help={"what": "benchmark name, e.g. tap or bridge"})
def bench(c, what="tap"):
    """Run a benchmark command; prints JSON."""
    c.run(f"hcterm bench {what} --json", pty=True)


@task
def lint(c):
    """ruff over the host tools, the firmware, boards and tests."""
    c.run("ruff check host firmware boards tests tasks.py", pty=True)
