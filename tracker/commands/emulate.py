"""`sitting-tracker emulate`: an emulated band reachable through bleak, no hardware."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    from tracker.emulator.cli import DESCRIPTION, add_arguments

    parser = subparsers.add_parser("emulate", help="run an emulated band (no hardware needed)",
                                   description=DESCRIPTION)
    add_arguments(parser)
    parser.set_defaults(run=lambda args: run(args, parser))


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from tracker.emulator.cli import run_parsed

    return run_parsed(args, parser)
