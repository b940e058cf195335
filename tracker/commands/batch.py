"""`sitting-tracker batch`: classify every recording of a study folder, in parallel."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from tracker.batch import (
    PARTICIPANT_FROM,
    RECORDING_SUFFIXES,
    BatchSetupError,
    Settings,
    format_report,
    run_batch,
)
from tracker.cli_errors import UsageError
from tracker.commands.classify import LOCATIONS, load_model
from tracker.timezones import timezone_named

DESCRIPTION = f"""\
Classify every recording in INPUT_DIR (at any depth: files ending in
{", ".join(RECORDING_SUFFIXES)}, columns t,x,y,z with t in Unix seconds) and write to OUT_DIR:
  windows/<name>.csv  one row per window, exactly as 'classify -o' writes it
  bouts/<name>.csv    one row per bout, as 'export bouts' writes it
  daily.csv           one row per participant and local day, as 'export daily' writes it
  failures.csv        recordings that failed, with the reason
where <name> is the file's path inside INPUT_DIR without its suffix.

Participant id: with --participant-from stem (the default), the file name up to its
first '_' or '.' (p017_thigh.csv and p017.parquet are both p017); with
--participant-from parent, the folder holding the file (p017/week1.csv). Recordings of
one participant one after another are counted together: one row per day in daily.csv.

Resumable: recordings an earlier run finished into OUT_DIR are skipped (unless their
file changed since); a killed run leaves no partial outputs. A recording that fails is
reported and retried by the next run; it does not stop the others.

Runs on a new local Dask cluster of --workers processes, or on a running cluster given
--scheduler tcp://HOST:PORT (its workers need this package installed and must see
INPUT_DIR and OUT_DIR at the same paths). The outputs are the same either way."""

EPILOG = """\
exit status:
  0  every recording succeeded
  1  some recordings failed (listed in the summary and in OUT_DIR/failures.csv)
  2  bad usage: no such folder, no recordings, OUT_DIR made with other settings;
     or daily.csv or failures.csv could not be written (the failures are still
     listed)"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "batch", help="classify every recording in a folder (a whole study) in parallel",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", type=Path, metavar="INPUT_DIR",
                        help="folder of recordings")
    parser.add_argument("--output", "-o", type=Path, required=True, metavar="OUT_DIR",
                        help="folder to write to (created; reuse it to resume)")
    parser.add_argument("--location", choices=LOCATIONS, default="thigh",
                        help="where the sensors were worn (default: thigh)")
    parser.add_argument("--participant-from", choices=PARTICIPANT_FROM, default="stem",
                        help="take the participant id from the file name (stem) or from "
                        "its folder (parent) (default: stem)")
    parser.add_argument("--scheduler", default="local", metavar="local|tcp://HOST:PORT",
                        help="'local' starts a cluster on this machine; an address uses "
                        "a running Dask scheduler (default: local)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="worker processes of the local cluster, one thread each "
                        "(default: the number of CPU cores; ignored with an address)")
    parser.add_argument("--tz", default="local", help="time zone of the calendar days and "
                        "the ISO times (IANA name, default: this machine's)")
    parser.add_argument("--units", choices=("g", "mg", "m/s2"), default="g",
                        help="unit of x,y,z in the inputs (default: g)")
    parser.add_argument("--model", type=Path, metavar="FILE.skops",
                        help="a model to use instead of the shipped one for --location")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar; print only failures")
    parser.set_defaults(run=run)


def settings_from(args: argparse.Namespace) -> Settings:
    try:
        tz = timezone_named(args.tz)
        # Workers find the zone again by name, so the name must resolve.
        timezone_named(str(tz))
    except ValueError as error:
        raise UsageError(f"--tz: {error}") from None
    if args.model is not None:
        load_model(args.location, args.model)  # a bad file stops the study before it starts
    return Settings(location=args.location, tz=str(tz), units=args.units,
                    model=str(args.model.resolve()) if args.model else None,
                    participant_from=args.participant_from)


def run(args: argparse.Namespace) -> int:
    if not args.input.exists():
        raise UsageError(f"{args.input}: no such folder")
    if not args.input.is_dir():
        raise UsageError(f"{args.input}: is a file, not a folder (use 'sitting-tracker "
                         "classify' for one recording)")
    if args.workers < 1:
        raise UsageError(f"--workers {args.workers}: need at least 1")
    if args.scheduler != "local" and "://" not in args.scheduler:
        raise UsageError(f"--scheduler {args.scheduler!r}: use 'local' or an address such "
                         "as tcp://10.0.0.5:8786")
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"{args.output}: is a file, not a folder")
    settings = settings_from(args)
    try:
        report = run_batch(args.input, args.output, settings, scheduler=args.scheduler,
                           workers=args.workers, show_progress=not args.quiet)
    except BatchSetupError as error:
        raise UsageError(str(error)) from None
    if not args.quiet:
        print(format_report(report))
    elif report.failures:
        print("\n".join(f"failed: {o.error}" for o in report.failures), file=sys.stderr)
    if report.unwritten:  # after the failures, which the user must see either way
        sys.stdout.flush()
        raise next(iter(report.unwritten.values()))
    return 1 if report.failures else 0
