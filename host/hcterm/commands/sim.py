"""`hcterm sim`: run a virtual reader until Ctrl-C or SIGTERM."""

import argparse
import signal
import sys
import threading
import time

from ..sim import boards
from ..sim.control import DEFAULT_PATH
from ..sim.virtualreader import DEFAULT_BOARD, DEFAULT_HEAP, SimError, VirtualReader
from . import argtypes

BOOT_TIMEOUT = 60.0


def register(subparsers):
    p = subparsers.add_parser(
        "sim", help="run a virtual reader (the firmware on MicroPython + emulated hardware)")
    p.add_argument("--board", default=DEFAULT_BOARD, help=f"sim board (default {DEFAULT_BOARD})")
    p.add_argument("--card", type=argtypes.card,
                   help="card image path or sample name placed on the antenna")
    p.add_argument("--flash", type=argtypes.flash_image,
                   help="flash image file, kept across runs (default: a fresh one); its folder "
                        "must exist")
    p.add_argument("--format", action="store_true",
                   help="format the --flash image if it does not mount (its data is lost); "
                        "without it such an image is refused")
    p.add_argument("--boot-timeout", type=argtypes.positive_float, default=BOOT_TIMEOUT,
                   metavar="S", help="seconds the firmware has to boot (print its SELFTEST "
                                     f"line; default {BOOT_TIMEOUT:g})")
    p.add_argument("--link", dest="port_link", metavar="PATH",
                   help="make PATH a symlink to the reader's port")
    p.add_argument("--port-link", dest="port_link", help=argparse.SUPPRESS)  # the old --link
    p.add_argument("--control", metavar="PATH", default=DEFAULT_PATH,
                   help="control socket for hcterm tap/remove/scan, one per running sim: a second "
                        f"sim refuses a socket in use (default {DEFAULT_PATH})")
    p.add_argument("--heapsize", type=argtypes.heap_size, default=None,
                   help=f"the firmware's RAM budget (default {DEFAULT_HEAP}, or the board's own "
                        "from its wiring.json: sim-handheld 160k; the ROMFS image comes on top)")
    p.add_argument("--pace", action="store_true",
                   help="deliver bytes at the modeled wire rates in real time "
                        "(docs/wire-timing.md)")
    p.add_argument("--usb-baud", type=int, metavar="BAUD",
                   help="pace the reader's USB port as a UART at BAUD (a board behind a "
                        "USB-UART bridge, e.g. 115200); default: as fast as the pty goes")
    p.add_argument("--from-source", action="store_true",
                   help="import the firmware from its .py source instead of the ROMFS image "
                        "(compiling it costs RAM: the default heap is 128k more)")
    p.add_argument("--screens", metavar="DIR",
                   help="save each new screen of the display as a PNG in DIR (a board with a "
                        "display: sim-handheld)")
    p.add_argument("--list-boards", action="store_true", help="list the boards and exit")
    p.set_defaults(func=run)


def list_boards():
    for name in boards.names():
        info = boards.describe(name)
        kind = "virtual" if info["sim"] else "real   "
        print(f"{name:20} {kind}  {info.get('description', '')}")
    return 0


def run(args):
    if args.list_boards:
        return list_boards()
    try:
        reader = VirtualReader(args.board, flash=args.flash, card=args.card,
                               port_link=args.port_link, control=args.control,
                               heapsize=args.heapsize, pace=args.pace,
                               from_source=args.from_source, format_flash=args.format,
                               usb_baud=args.usb_baud)
    except (boards.BoardNotFound, SimError, ValueError) as error:
        print(f"hcterm sim: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with reader:
        if args.screens:
            from .demo import record_screens

            try:
                record_screens(reader, args.screens)
            except SimError as error:
                print(f"hcterm sim: {error}", file=sys.stderr)
                return 2
            print(f"  screens: a PNG of each new one in {args.screens}")
        print(f"virtual reader {args.board} running")
        print(f"  reader port (REPL + host link): {reader.usb.path}"
              + (f"  (link {args.port_link})" if args.port_link else ""))
        for bus, device in sorted(reader.devices.uarts.items()):
            print(f"  UART {bus}: {type(device).__name__} on the sim bus")
        print(f"  flash image: {reader.flash_image} (ROM partition {reader.rom_partition})")
        print(f"  control: {args.control}  (hcterm tap CARD | hcterm remove | hcterm scan TEXT)")
        if reader.devices.keypad is not None or reader.devices.battery is not None:
            print("  keypad and battery: hcterm press KEYS | hcterm battery --mv MV")
        print("Ctrl-C or SIGTERM stops it.", flush=True)
        try:
            if not _booted(reader, args.boot_timeout, stop):
                return 1
            while not stop.wait(0.5):
                problem = reader.failure()
                if problem:
                    print(f"hcterm sim: {problem}", file=sys.stderr)
                    return 1
        except KeyboardInterrupt:
            pass
    return 0


def _booted(reader, timeout, stop):
    """Wait for the firmware's boot (its SELFTEST line). False, having said why with its
    last output lines, when it did not boot."""
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        state = reader.boot_state()
        if state == "booted":
            print("firmware booted", flush=True)
            return True
        if state is None and time.monotonic() > deadline:
            state = f"it printed no SELFTEST line within {timeout:g} s"
        if state is not None:
            lines = "\n".join("    " + line for line in reader.last_lines())
            print(f"hcterm sim: the firmware did not boot: {state}\n  its last output:\n"
                  f"{lines}", file=sys.stderr)
            return False
        stop.wait(0.2)
    return True
