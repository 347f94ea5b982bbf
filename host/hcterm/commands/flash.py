"""`hcterm flash --board NAME --port P [--port P2 ...] [--config FILE]`: production flashing
(docs/flashing.md). Each port in parallel: the device's MicroPython asked what it runs, the
board's firmware compiled for it, only what differs written and verified by hashes read
back, the config written, a reset and the self-test; a progress bar per port, a summary
table, and one manufacturing record per device. Exit 0 when every port passed, 1 otherwise
(2 for bad arguments)."""

import datetime
import getpass
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .accept import add_presenter_options, presenters


def register(subparsers):
    p = subparsers.add_parser("flash", help="flash readers: compiled firmware, verified, "
                              "configured, self-tested, recorded (several ports at once)")
    p.add_argument("--board", required=True, help="board folder under boards/ "
                   "(hcterm sim --list-boards)")
    p.add_argument("--port", action="append", required=True, metavar="PORT",
                   help="the reader's serial port; repeat for several readers in parallel")
    p.add_argument("--config", metavar="FILE",
                   help="JSON: terminal_id (\"{n}\": the port's number in this run, "
                        "\"{uid}\": the device's unique id), department, blacklist_key (the "
                        "blacklist platform's SM2 public key, 128 hex characters)")
    p.add_argument("--files", action="store_true",
                   help="write .mpy files to the filesystem even where the device has a ROM "
                        "partition")
    p.add_argument("--operator", default=None, help="who flashes (default: the login name)")
    p.add_argument("--records", default=".", metavar="DIR",
                   help="folder of the manufacturing record (flash-records.csv and "
                        ".jsonl; default: the current folder)")
    p.add_argument("--json", action="store_true", help="one JSON object per port, no bars")
    p.add_argument("--accept", action="store_true", help="run the acceptance checks (hcterm "
                   "accept) on each reader flashed; their results go into its record")
    add_presenter_options(p)
    p.set_defaults(func=run)


def _load_config(path):
    from ..flashing import FlashError
    from ..flashing.deploy import check_config

    if not path:
        return {}
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise FlashError(f"cannot read --config {path} ({error.strerror})",
                         "give an existing JSON file") from None
    except ValueError as error:
        raise FlashError(f"--config {path} is not JSON ({error})", "fix the file") from None
    if not isinstance(config, dict):
        raise FlashError(f"--config {path} must hold one JSON object", "fix the file")
    return check_config(config)


def run(args):
    from ..flashing import FlashError
    from ..flashing.build import compile_firmware
    from ..flashing.deploy import flash_device
    from ..flashing.presenters import PresenterError
    from ..flashing.record import append, row
    from ..sim import boards

    try:
        boards.describe(args.board)
        config = _load_config(args.config)
        checkers = presenters(args, args.port) if args.accept else {}
    except boards.BoardNotFound as error:
        print(f"hcterm flash: {error}", file=sys.stderr)
        return 2
    except (FlashError, ValueError, PresenterError) as error:
        print(f"hcterm flash: {error}", file=sys.stderr)
        return 2
    if len(set(args.port)) != len(args.port):
        print("hcterm flash: a port is given twice: give each reader's port once",
              file=sys.stderr)
        return 2
    operator = args.operator or getpass.getuser()
    compiled, lock = {}, threading.Lock()

    def compile_once(target):
        with lock:      # one compile per MicroPython the readers run
            if target not in compiled:
                compiled[target] = compile_firmware(args.board, target)
            return compiled[target]

    bars = _Bars(args.port, enabled=not args.json)

    def one(n, port):
        when = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        try:
            result = flash_device(port, args.board, config=config, n=n,
                                  progress=bars.callback(port), mode="files" if args.files
                                  else "auto", compiled=compile_once)
            result.update(result="ok", reason="")
            if args.accept:
                bars.callback(port)("acceptance", 0, 0)
                _accept(result, port, checkers[port])
        except FlashError as error:
            result = {"port": port, "board": args.board, **getattr(error, "fields", {}),
                      "result": "failed", "reason": error.reason, "todo": error.todo}
        except Exception as error:  # noqa: BLE001 - one port's bug must not stop the others
            result = {"port": port, "board": args.board, "result": "failed",
                      "reason": f"internal error: {type(error).__name__}: {error}",
                      "todo": "please report it"}
        bars.finish(port, result)
        try:
            append(args.records, row(result, operator, when))
        except OSError as error:
            result["record_error"] = f"cannot append to {args.records} ({error.strerror})"
        return result

    with bars, ThreadPoolExecutor(max_workers=len(args.port)) as pool:
        results = list(pool.map(one, range(1, len(args.port) + 1), args.port))
    if args.json:
        for result in results:
            result.pop("selftest", None)
            print(json.dumps(result, sort_keys=True))
    else:
        _summary(results, args)
    for result in results:
        if result.get("record_error"):
            print(f"hcterm flash: {result['record_error']}: the record of {result['port']} "
                  "is lost; check --records", file=sys.stderr)
    return 0 if all(r["result"] == "ok" for r in results) else 1


def _accept(result, port, presenter):
    """The acceptance checks after a flash: their results in `result` (failed if one did)."""
    from ..flashing.acceptance import accept_port

    with presenter.turn:
        checks = accept_port(port, presenter)
    result.update(acceptance=checks["acceptance"], acceptance_checks=checks[
        "acceptance_checks"], checks=checks["checks"])
    failed = [c for c in checks["checks"] if not c["ok"]]
    if failed:
        result.update(result="failed", reason=f"acceptance: {failed[0]['check']}: "
                      f"{failed[0]['reason']}", todo=failed[0]["todo"])


class _Bars:
    """A rich progress bar per port on stderr (none with --json or off a terminal)."""

    def __init__(self, ports, enabled):
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(file=sys.stderr)
        self.enabled = enabled and console.is_terminal
        self.progress = Progress(TextColumn("{task.fields[port]:<14}"),
                                 TextColumn("{task.description:<24}"), BarColumn(),
                                 DownloadColumn(), TimeElapsedColumn(), console=console,
                                 disable=not self.enabled)
        self.tasks = {port: self.progress.add_task("waiting", total=None, port=port)
                      for port in ports}

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def callback(self, port):
        task = self.tasks[port]

        def update(stage, done, total):
            self.progress.update(task, description=stage, completed=done,
                                 total=total or None)
        return update

    def finish(self, port, result):
        text = "ok" if result["result"] == "ok" else "FAILED"
        self.progress.update(self.tasks[port], description=text)


def _summary(results, args):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"hcterm flash --board {args.board}")
    for column in ("port", "result", "unique id", "terminal", "firmware", "written", "time"):
        table.add_column(column)
    for r in results:
        ok = r["result"] == "ok"
        table.add_row(r["port"], "[green]ok[/]" if ok else "[red]FAILED[/]",
                      r.get("unique_id") or "", r.get("terminal_id") or "",
                      (r.get("firmware_hash") or "")[:12],
                      f"{r.get('written_bytes', 0)} B" if ok else "",
                      f"{r.get('seconds', 0):.1f} s" if ok else "")
    console = Console(file=sys.stdout)
    if not console.is_terminal:
        console.width = 160     # a log or a pipe: whole ids, not cut to 80 columns
    console.print(table)
    for r in results:
        if r["result"] != "ok":
            print(f"hcterm flash: {r['port']}: {r['reason']}: {r['todo']}", file=sys.stderr)
    print(f"records appended to {Path(args.records) / 'flash-records.csv'} and .jsonl")
