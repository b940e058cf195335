"""The subcommands of `sitting-tracker`. Each module has `add_parser(subparsers)` that
registers it with `run=` set to the function carrying it out."""

from tracker.commands import classify, emulate, export, scan, stream, train

COMMANDS = (classify, train, export, scan, stream, emulate)
