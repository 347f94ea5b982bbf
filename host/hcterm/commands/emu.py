"""`hcterm emu`: a standalone emulated reader chip with a card in its field.

`--chip pn532-uart` serves the PN532's HSU on a pty (libnfc: `LIBNFC_DEVICE=pn532_uart:PATH`)
until SIGTERM or Ctrl-C. The SPI chips (pn532-spi, rc522) have no pty: they are served on a
sim board's SPI bus (`hcterm sim`), so this command says so and exits with status 2.
"""

import argparse
import signal
import sys
import threading

CHIPS = ("pn532-uart", "pn532-spi", "rc522")


def register(subparsers):
    parser = subparsers.add_parser(
        "emu", help="run an emulated reader chip (PN532 on a pty) with a card in its field")
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser):
    parser.add_argument("--chip", choices=CHIPS, default="pn532-uart",
                        help="which chip and bus to emulate (default: pn532-uart)")
    from .argtypes import card

    parser.add_argument("--card", metavar="FILE", type=card,
                        help="card image or sample name (adult, 07, …) to put in the field "
                             "(default: the first sample card)")
    parser.add_argument("--no-card", action="store_true", help="start with an empty field")
    parser.add_argument("--link", dest="pty_link", metavar="PATH",
                        help="make PATH a symlink to the chip's pty")
    parser.add_argument("--pty-link", dest="pty_link", help=argparse.SUPPRESS)  # the old --link
    parser.add_argument("--fault", metavar="NAME[=ARG]", action="append", default=[],
                        help="arm a fault (repeatable): " + ", ".join(_fault_names()))
    parser.add_argument("--qr-pty", metavar="PATH",
                        help="also serve a serial QR scanner module (9600 8N1) on a pty linked "
                             "at PATH; each line typed on stdin is scanned")


def _fault_names():
    from hcterm.emulator.chipfaults import FAULT_SPECS

    return [f"{name} {usage.split(':')[0]}" for name, (_, _, usage) in FAULT_SPECS.items()]


def _load_card(path):
    from hcterm.emulator import load_card

    if path is None:
        from hcterm.emulator import samples

        paths = samples.paths()
        if not paths:
            raise SystemExit("hcterm emu: no sample card images found; pass --card FILE")
        path = paths[0]
    try:
        return load_card(path), path
    except (OSError, ValueError) as error:
        raise SystemExit(f"hcterm emu: cannot load card image {path}: {error}") from None


def run(args, stop=None):
    if args.chip != "pn532-uart":
        print(f"hcterm emu: {args.chip} is an SPI chip: it has no pty and is served on the sim "
              "board's SPI bus; run `hcterm sim` with a board that wires it, or use "
              "--chip pn532-uart", file=sys.stderr)
        return 2
    from hcterm.emulator.chipfaults import apply_fault_spec
    from hcterm.emulator.pn532_hsu import Pn532Uart
    from hcterm.emulator.rf14443 import Picc
    from hcterm.sim.ptyserve import PtyPort

    chip = Pn532Uart()
    for spec in args.fault:
        try:
            apply_fault_spec(chip.faults, spec)
        except ValueError as error:
            print(f"hcterm emu: --fault {spec}: {error}", file=sys.stderr)
            return 2
    card_note = "no card in the field"
    if not args.no_card:
        card, path = _load_card(args.card)
        chip.field.insert(Picc(card))
        card_note = f"card {path} (UID {bytes(card.uid).hex().upper()})"
    stop = stop or threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    qr_port = None
    try:
        with PtyPort(chip, link=args.pty_link) as port:
            where = port.path + (f" (link {args.pty_link})" if args.pty_link else "")
            print(f"PN532 (HSU, 115200 baud) on {where}; {card_note}", flush=True)
            print(f"libnfc: LIBNFC_DEVICE=pn532_uart:{args.pty_link or port.path}", flush=True)
            if args.qr_pty:
                qr_port = _serve_qr(args.qr_pty, stop)
            while not stop.wait(0.2):
                pass
    finally:
        if qr_port is not None:
            qr_port.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _serve_qr(link, stop):
    """A QR scanner module on its own pty; stdin lines become scans (until EOF)."""
    from hcterm.emulator.qrscanner import QrScanner
    from hcterm.sim.ptyserve import PtyPort

    scanner = QrScanner()
    port = PtyPort(scanner, link=link)
    print(f"QR scanner module (9600 8N1) on {port.path} (link {link}); type a code and press "
          "Enter to scan it", flush=True)

    def scan_stdin():
        for line in sys.stdin:
            if stop.is_set():
                return
            if line.strip():
                scanner.scan(line.rstrip("\r\n"))

    threading.Thread(target=scan_stdin, name="qr-stdin", daemon=True).start()
    return port


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hcterm emu", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
