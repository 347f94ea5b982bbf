"""`hcterm info | read | apdu | power-off | events --port P`: a reader through its host link.

PORT is anything pyserial's serial_for_url opens: /dev/ttyUSB0, a pty of `hcterm sim`,
socket://host:port. Errors print what failed and exit 1 (2 for bad arguments).
"""

import json
import sys

from reader import hostlink

from ..link import ReaderError
from ..link.fields import to_national
from . import argtypes
from .argtypes import count


def register(subparsers):
    def command(name, help_text, func):
        p = subparsers.add_parser(name, help=help_text)
        p.add_argument("--port", required=True, help="device path, pty or socket://host:port")
        p.add_argument("--timeout", type=float, default=5.0, help="seconds per request")
        p.set_defaults(func=_guarded(func))
        return p

    command("info", "device info of a reader on PORT", run_info).add_argument(
        "--json", action="store_true", help="one JSON object")
    p = command("read", "read a health card on PORT (fields under the national names, "
                "text decoded)", run_read)
    p.add_argument("--json", action="store_true", help="one JSON object")
    _raw_arg(p)
    p.add_argument("--files", nargs="+", metavar="FILE",
                   help="card files (DDF1/EF05 …); default: the reader's read profile")
    p = command("apdu", "send one APDU to a slot of the reader on PORT", run_apdu)
    p.add_argument("--slot", type=argtypes.slot, default="card",
                   help="card, sam1..sam4, or 0x01, 0x11..0x14")
    p.add_argument("apdu", type=argtypes.apdu, help="command APDU in hex (spaces allowed)")
    p.add_argument("--keep-powered", action="store_true",
                   help="leave the slot powered after the APDU (the reader does not poll for "
                   "taps meanwhile; it ends the hold itself after its host_slot_idle_s or when "
                   "the next host session starts)")
    p = command("power-off", "power a slot off: the reader polls for taps again", run_power_off)
    p.add_argument("--slot", type=argtypes.slot, default="card",
                   help="card, sam1..sam4, or 0x01, 0x11..0x14")
    p = command("pin", "verify the card's PIN typed on the reader's keypad (it never "
                "reaches the host): prints the outcome and the tries left", run_pin)
    p.add_argument("--wait", type=int, default=30, metavar="SECONDS",
                   help="how long the cardholder has to type it (5-120, default 30)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p = command("events", "print the reader's events as they come (Ctrl-C ends)", run_events)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    _raw_arg(p)
    p.add_argument("--count", type=count, default=0, help="stop after N events (0: never)")
    p.add_argument("--for", dest="seconds", type=float, default=None,
                   help="stop when no event came for this many seconds")


def _raw_arg(parser):
    parser.add_argument("--raw", action="store_true",
                        help="card fields in the device form (AN text as hex of its GBK bytes, "
                             "XB as its byte 01) instead of the national form (text, XB 1)")


def _fields(values, args):
    """Card fields as the national interface gives them (AN as text), unless --raw."""
    return values if args.raw else to_national(values)


def _guarded(func):
    def run(args):
        from ..link import Reader

        try:
            with Reader(args.port, timeout=args.timeout) as reader:
                if reader.taken_back:
                    print(f"hcterm {args.command}: {reader.taken_back}", file=sys.stderr)
                return func(reader, args)
        except ReaderError as error:
            print(f"hcterm {args.command}: {error}", file=sys.stderr)
            return 1
        except ValueError as error:
            print(f"hcterm {args.command}: {error}", file=sys.stderr)
            return 2
    return run


def run_info(reader, args):
    info = reader.info()
    if args.json:
        print(json.dumps(info, ensure_ascii=False, sort_keys=True))
        return 0
    print(f"reader {info['board']}: firmware {info['firmware']}, link protocol "
          f"{info['protocol']}, MicroPython {info['micropython']}")
    print(f"  slots: {', '.join(info['slots'])}; heap free {info['heap_free']} bytes; "
          f"self-test {'ok' if info['selftest_ok'] else 'FAILED'}")
    print(f"  unique id: {info.get('unique_id') or 'not given by this board'}")
    print(f"  keypad: {'yes' if info.get('keypad') else 'none'}; battery: {_battery(info)}")
    if info.get("flash_incomplete"):
        print("  FLASH INCOMPLETE: a deploy was cut before it finished; run `hcterm flash "
              f"--board {info['board']} --port {args.port}` again to complete it")
    return 0


def _battery(info):
    battery = info.get("battery")
    if not battery:
        return "none (powered from the host)"
    if "mv" not in battery:
        return battery.get("error", "?")
    return f"{battery['mv']} mV, {battery['percent']} %" + (" LOW: charge it" if battery["low"]
                                                           else "")


def run_read(reader, args):
    fields = _fields(reader.read(files=args.files), args)
    if args.json:
        print(json.dumps(fields, ensure_ascii=False, sort_keys=True))
    else:
        for name, value in fields.items():
            print(f"{name:10} {value}")
    return 0


def _slot(args):
    slot = args.slot
    if slot.lower().startswith("0x"):
        slot = int(slot, 16)
    return hostlink.slot_name(slot)


def run_apdu(reader, args):
    slot = _slot(args)
    power = reader.power_on(slot)
    try:
        response = reader.apdu(slot, args.apdu.replace(" ", ""))
    finally:
        if not args.keep_powered:
            reader.power_off(slot)
    print(f"{hostlink.slot_name(slot)}: {power.get('atr') or power.get('ats')}",
          file=sys.stderr)
    print(response.hex(" ").upper())
    return 0


def run_power_off(reader, args):
    slot = _slot(args)
    reader.power_off(slot)
    print(f"{slot}: powered off")
    return 0


def run_events(reader, args):
    seen = 0
    try:
        for event in reader.events(timeout=args.seconds):
            event = _fields(event, args)
            if args.json:
                print(json.dumps(event, ensure_ascii=False), flush=True)
            else:
                details = ", ".join(f"{k}={v}" for k, v in event.items() if k != "type")
                print(f"{event['type']:9} {details}", flush=True)
            seen += 1
            if args.count and seen >= args.count:
                break
    except KeyboardInterrupt:
        pass
    return 0


def run_pin(reader, args):
    """Exit 0 when the PIN was right, 1 otherwise (wrong, blocked, cancelled, timeout)."""
    if not 5 <= args.wait <= 120:
        raise ValueError("--wait: 5 to 120 seconds")
    print("type the PIN on the reader's keypad, then # (* cancels)", file=sys.stderr)
    answer = reader.verify_pin_on_reader(args.wait)
    if args.json:
        print(json.dumps(answer))
    else:
        print(f"{answer['outcome']}: {answer['retries']} tries left")
    return 0 if answer["outcome"] == "ok" else 1
