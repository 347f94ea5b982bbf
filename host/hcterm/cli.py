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
    "blacklist",
    "bridge",
    "platform",
    "flash",
    "accept",
    "image",
    "bench",
)


def version():
    """The installed package's version, else the firmware's (a source checkout)."""
    from importlib import metadata

    try:
        return metadata.version("hcterm")
    except metadata.PackageNotFoundError:
        from reader import VERSION

        return VERSION


def build_parser():
    parser = argparse.ArgumentParser(
        prog="hcterm",
        description="Host tools for health card readers: virtual reader, emulator, link, bridge.",
    )
    parser.add_argument("--version", action="version", version=f"hcterm {version()}",
                        help="print hcterm's version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"hcterm.commands.{name}").register(subparsers)
    _describe(parser)
    return parser


def subparsers_of(parser):
    """(name, parser) of every subcommand, nested ones too (`bench tap`), in order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield name, sub, helps.get(name)
                for sub_name, subsub, sub_help in subparsers_of(sub):
                    yield f"{name} {sub_name}", subsub, sub_help


def _describe(parser):
    """A subcommand without a description gets its one-line help as one (`hcterm X -h`)."""
    for _, sub, help_text in subparsers_of(parser):
        if not sub.description and help_text:
            sub.description = help_text[:1].upper() + help_text[1:] + "."


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
    except Exception as error:  # noqa: BLE001 - the last resort: no traceback for a user
        command = " ".join(filter(None, (args.command, getattr(args, "bench", None))))
        print(f"hcterm {command}: internal error: {type(error).__name__}: {error} "
              "(please report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
