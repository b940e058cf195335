"""`sitting-tracker`: one command per job, each in tracker/commands/."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from tracker import __version__
from tracker.cli_errors import UsageError
from tracker.commands import COMMANDS
from tracker.recording import InputError
from tracker.store import StoreError

# Exit codes: 0 done, 1 failed while running, 2 bad input or usage (as argparse does).
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitting-tracker",
        description="Track sitting time with a wearable accelerometer band: classify "
        "recordings into sitting, standing, walking and lying, find long sitting bouts, "
        "and export the results for research.",
        epilog="Run 'sitting-tracker COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parser(subparsers)
    return parser


# Commands that write one output file or store transaction and then end: on SIGTERM
# (`kill`, a job scheduler's time limit) they unwind as on Ctrl-C, so the half-written
# file is removed and the transaction rolled back.  The long-running ones handle it
# themselves.
CLEAN_STOP_ON_TERM = frozenset({"classify", "export", "train", "forget"})


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(words)
    except StoreError as error:
        # From store_location, the type of every --db: a URL that names no store. In one
        # line, as any other error (argparse would print its usage first).
        command = next(word for word in words if not word.startswith("-"))
        print(f"sitting-tracker {command}: error: --db {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    run: Callable[[argparse.Namespace], int] = args.run
    if args.command in CLEAN_STOP_ON_TERM and \
            threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
    try:
        return run(args)
    except (InputError, StoreError, UsageError) as error:
        print(f"sitting-tracker {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (`| head`): stop quietly
        sys.stderr.close()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
