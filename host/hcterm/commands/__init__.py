"""One module per `hcterm` subcommand; each defines `register(subparsers)`.

A command module adds its parser with `subparsers.add_parser(NAME, help=…)` and sets
`func=` on it via `set_defaults`; `func(args)` returns the process exit status.
"""
