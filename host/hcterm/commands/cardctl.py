"""`hcterm tap`, `hcterm remove`, `hcterm scan`, `hcterm press`, `hcterm battery`: act on a
running virtual reader."""

import sys

from ..sim.control import DEFAULT_PATH, SimNotRunning, request
from . import argtypes


def register(subparsers):
    p = subparsers.add_parser("tap", help="put a card on a running virtual reader's antenna")
    p.add_argument("card", type=argtypes.card,
                   help="card image path or sample name (e.g. adult, 07)")
    _control_arg(p)
    p.set_defaults(func=lambda a: _send(a, {"op": "tap", "card": a.card}))
    p = subparsers.add_parser("remove", help="take the card off a running virtual reader")
    _control_arg(p)
    p.set_defaults(func=lambda a: _send(a, {"op": "remove"}))
    p = subparsers.add_parser("scan", help="scan a QR code on a running virtual reader")
    p.add_argument("text", type=argtypes.qr_text,
                   help="the code's text, e.g. an electronic health card code")
    _control_arg(p)
    p.set_defaults(func=lambda a: _send(a, {"op": "scan", "text": a.text}))
    p = subparsers.add_parser("press", help="press keys on a running virtual reader's keypad "
                              "(handheld boards: digits, * # A-D)")
    p.add_argument("keys", help="the keys in order, e.g. 123456# (# confirms a PIN, * cancels)")
    _control_arg(p)
    p.set_defaults(func=lambda a: _send(a, {"op": "press", "keys": a.keys}))
    p = subparsers.add_parser("battery", help="set the battery voltage a running virtual "
                              "reader's ADC reads (handheld boards)")
    p.add_argument("--mv", type=int, required=True,
                   help="the cell's voltage in mV (3300 empty, 4200 full; low under 3500)")
    _control_arg(p)
    p.set_defaults(func=lambda a: _send(a, {"op": "battery", "mv": a.mv}))


def _control_arg(parser):
    parser.add_argument("--control", metavar="PATH", default=DEFAULT_PATH,
                        help=f"the sim's control socket (default {DEFAULT_PATH})")


def _send(args, message):
    try:
        reply = request(message, args.control)
    except SimNotRunning as error:
        print(f"hcterm {message['op']}: {error}", file=sys.stderr)
        return 1
    if "error" in reply:
        print(f"hcterm {message['op']}: {reply['error']}", file=sys.stderr)
        return 1
    if message["op"] == "tap":
        print(f"card on the antenna: {reply['card']}")
    elif message["op"] == "remove":
        print("antenna empty")
    elif message["op"] == "press":
        print(f"pressed {reply['pressed']}")
    elif message["op"] == "battery":
        print(f"battery at {reply['mv']} mV")
    else:
        print("scanned")
    return 0
