"""`hcterm demo`: the main job on a virtual reader, end to end.

Until the terminal flow exists (issue 6) it boots the virtual reader and shows its
power-on self-test, as the HIS side would receive it.
"""

import json

from ..sim.virtualreader import DEFAULT_BOARD, SimError, VirtualReader, wait_for_line


def register(subparsers):
    p = subparsers.add_parser("demo", help="boot a virtual reader and show what the HIS gets")
    p.add_argument("--board", default=DEFAULT_BOARD)
    p.add_argument("--json", action="store_true", help="one JSON object per line per event")
    p.set_defaults(func=run)


def run(args):
    try:
        with VirtualReader(args.board) as reader:
            line = wait_for_line(reader.port, "SELFTEST ", timeout=30)
    except SimError as error:
        print(f"hcterm demo: {error}")
        return 1
    report = json.loads(line[len("SELFTEST "):])
    event = {"type": "selftest", "status": "ok" if report["ok"] else "error", **report}
    if args.json:
        print(json.dumps(event, ensure_ascii=False))
    else:
        print_selftest(event)
    return 0 if report["ok"] else 1


def print_selftest(event):
    print(f"virtual reader {event['board']} — firmware {event['firmware']} on MicroPython "
          f"{event['micropython']}, heap free {event['heap_free']} bytes")
    for name in ("reader_chip", "flash"):
        item = event[name]
        if item["ok"]:
            details = ", ".join(f"{k}={v}" for k, v in item.items() if k != "ok")
            print(f"  {name:12} ok     {details}")
        else:
            print(f"  {name:12} FAILED {item['error']}")
    print(f"self-test: {'passed' if event['ok'] else 'FAILED'}")
