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


@task(help={"port": "the reader's serial port (comma-separated: several at once)",
            "board": "board folder under boards/", "config": "device config JSON file",
            "files": "write .mpy files even where the device has a ROM partition"})
def flash(c, port, board, config=None, files=False):
    """Flash readers with `hcterm flash`: the firmware compiled for the device's MicroPython,
    only what differs written and verified, the config, a reset and the self-test, a
    manufacturing record (docs/flashing.md)."""
    ports = " ".join(f"--port {p}" for p in port.split(","))
    extra = (f" --config {config}" if config else "") + (" --files" if files else "")
    c.run(f"hcterm flash --board {board} {ports}{extra}", pty=True)


@task(help={"what": "benchmark name, e.g. tap or bridge"})
def bench(c, what="tap"):
    """Run a benchmark command; prints JSON."""
    c.run(f"hcterm bench {what} --json", pty=True)


@task
def lint(c):
    """ruff over the host tools, the firmware, boards and tests."""
    c.run("ruff check host firmware boards tests tasks.py", pty=True)
