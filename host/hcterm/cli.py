"""The `hcterm` command line: one subcommand per module in hcterm.commands."""

import argparse
import importlib
import os
import sys

# Subcommand modules, in the order `hcterm --help` lists them.
COMMAND_MODULES = (
    "sim",
    "demo",
    "cardctl",
    "emu",
    "link",
    "bridge",
    "bench",
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="hcterm",
        description="Host tools for health card readers: virtual reader, emulator, link, bridge.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"hcterm.commands.{name}").register(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # whoever read our output went away (`hcterm demo --json | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
