"""`hcterm accept --port P [--presenter virtual|manual] [--control PATH]`: the acceptance
checks of one reader through its USB port (hcterm.flashing.acceptance; the same checks as
`pytest tests/hil --port P`), a line per check, a manufacturing record row. Exit 0 when
every check passed, 1 when one failed, 2 for bad arguments."""

import datetime
import getpass
import json
import sys


def register(subparsers):
    p = subparsers.add_parser("accept", help="acceptance checks of a reader through its USB "
                              "port: self-test, link, SAM, a tap, blacklist, feedback")
    p.add_argument("--port", required=True, help="the reader's serial port")
    add_presenter_options(p)
    p.add_argument("--operator", default=None, help="who runs it (default: the login name)")
    p.add_argument("--records", default=".", metavar="DIR",
                   help="folder of the manufacturing record (flash-records.csv and .jsonl)")
    p.add_argument("--json", action="store_true", help="one JSON object, no lines")
    p.set_defaults(func=run)


def add_presenter_options(p):
    """--presenter, --control, --card, --timeout (also `hcterm flash --accept`)."""
    p.add_argument("--presenter", choices=("virtual", "manual"), default=None,
                   help="who places the reference card and confirms the LED and beeper: "
                        "virtual (a virtual reader's control channel, --control) or manual "
                        "(the operator, prompted); default: virtual with --control, else "
                        "manual")
    p.add_argument("--control", action="append", metavar="PATH",
                   help="the virtual reader's control socket (hcterm sim --control PATH); "
                        "one per --port, in the same order")
    p.add_argument("--card", default=None, help="the virtual presenter's reference card "
                   "(a card image or a sample name; default: adult)")
    p.add_argument("--timeout", type=float, default=30,
                   help="seconds the operator has for each step (manual; default 30)")


def presenters(args, ports):
    """{port: presenter} from the options; PresenterError or ValueError (bad options)."""
    from ..flashing.presenters import DEFAULT_CARD, ManualPresenter, VirtualPresenter

    kind = args.presenter or ("virtual" if args.control else "manual")
    if kind == "manual":
        if args.control:
            raise ValueError("--control is for --presenter virtual")
        return {port: ManualPresenter(port, timeout=args.timeout) for port in ports}
    if not args.control or len(args.control) != len(ports):
        raise ValueError("--presenter virtual needs one --control PATH per --port (the "
                         "virtual reader's control socket: hcterm sim --control PATH)")
    return {port: VirtualPresenter(control, card=args.card or DEFAULT_CARD)
            for port, control in zip(ports, args.control, strict=True)}


def run(args):
    from ..flashing.acceptance import accept_port
    from ..flashing.presenters import PresenterError
    from ..flashing.record import append, row

    try:
        presenter = presenters(args, [args.port])[args.port]
    except (ValueError, PresenterError) as error:
        print(f"hcterm accept: {error}", file=sys.stderr)
        return 2
    when = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    started = datetime.datetime.now()
    with presenter.turn:
        result = accept_port(args.port, presenter)
    ok = result["acceptance"] == "ok"
    failed = [c for c in result["checks"] if not c["ok"]]
    result.update(result="ok" if ok else "failed",
                  reason="" if ok else f"{failed[0]['check']}: {failed[0]['reason']}",
                  seconds=round((datetime.datetime.now() - started).total_seconds(), 3))
    try:
        append(args.records, row(result, args.operator or getpass.getuser(), when))
    except OSError as error:
        print(f"hcterm accept: cannot append to {args.records} ({error.strerror}): the "
              "record is lost; check --records", file=sys.stderr)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print_checks(args.port, result["checks"])
    return 0 if ok else 1


def print_checks(port, checks):
    for check in checks:
        if check["ok"]:
            print(f"{port}: {check['check']:<9} ok      {check['detail']}")
        else:
            print(f"{port}: {check['check']:<9} FAILED  {check['reason']}")
            print(f"{port}: {'':<9}         what to do: {check['todo']}")

