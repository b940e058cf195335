"""`sitting-tracker export`: one table of the store as CSV."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from tracker.cli_errors import UsageError
from tracker.csvfiles import check_csv_name, check_output
from tracker.export import EXPORT_KINDS, day_range_seconds, export
from tracker.participant_ids import held_participants
from tracker.store import Store, StoreLocation, StoreOutdated, store_location
from tracker.store_backends import is_database_url
from tracker.store_choice import choose_store, db_help
from tracker.timezones import STORED_ZONE_KEY, timezone_named

KIND_HELP = {
    "windows": "one row per window: label, confidence, probabilities",
    "bouts": "one row per bout of one label",
    "transitions": "one row per sit-to-stand or stand-to-sit transition: time, kind, the "
                   "labels either side",
    "daily": "one row per participant, device and local calendar day: time in each posture, "
             "wear time, sitting bouts >= 30 and >= 60 min, longest bout, breaks per "
             "sedentary hour, sit-to-stand transitions",
    "events": "nudges, their outcomes, connection events",
    "raw": "every stored sample (large)",
    "activpal": "activPAL-style posture events (0 sedentary, 1 standing, 2 stepping, "
                "4 not worn)",
}


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def add_parser(subparsers: Any) -> None:
    kinds = "\n".join(f"  {kind:<11} {text}" for kind, text in KIND_HELP.items())
    parser = subparsers.add_parser(
        "export", help="write a table of the store as CSV",
        description="Write one table of the store as CSV: a header row, ISO 8601 times with "
        "their UTC offset beside a numeric Unix-seconds column, text cells safe to open in a "
        f"spreadsheet.\n\ntables:\n{kinds}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", choices=EXPORT_KINDS, help="which table")
    parser.add_argument("--db", type=store_location, metavar="PATH|URL", help=db_help())
    parser.add_argument("--config", type=Path, help="settings file (for its tracker.db)")
    parser.add_argument("--output", "-o", type=Path, required=True, help="CSV file to write")
    parser.add_argument("--from", dest="first", type=_date, metavar="DATE",
                        help="first local calendar day to include (YYYY-MM-DD)")
    parser.add_argument("--to", dest="last", type=_date, metavar="DATE",
                        help="last local calendar day to include (YYYY-MM-DD)")
    parser.add_argument("--tz", help="time zone of the days and of the ISO times (IANA "
                        "name; default: the zone the data was classified or collected in, "
                        "else this machine's)")
    parser.add_argument("--participant", help="only this participant")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.first and args.last and args.first > args.last:
        raise UsageError(f"--from {args.first} is after --to {args.last}")
    try:
        asked = timezone_named(args.tz) if args.tz else None
    except ValueError as error:
        raise UsageError(str(error)) from None
    from tracker.commands.collect import resolve_settings

    path = choose_store(args.db, lambda: resolve_settings(args))
    check_csv_name(args.output)
    check_output(args.output, store=None if is_database_url(path) else path)
    with _open_for_reading(path) as store:
        stored = None if asked else _stored_zone(store, args.participant)
        try:
            tz = asked or timezone_named(stored)
        except ValueError as error:  # a kept name this machine's zone data lacks
            raise UsageError(f"{error}; pass --tz") from None
        if args.table != "raw":
            rows = export(store, args.table, args.output, tz, args.first, args.last,
                          args.participant)
        else:
            from tqdm import tqdm

            start, end = day_range_seconds(args.first, args.last, tz)
            total = store.raw_sample_count(start, end, args.participant)
            # shown on a terminal only (disable=None), as classify's
            with tqdm(total=total, unit=" rows", unit_scale=True, desc="exporting samples",
                      file=sys.stderr, leave=False, disable=None) as progress:
                rows = export(store, "raw", args.output, tz, args.first, args.last,
                              args.participant, on_rows=progress.update)
        why_empty = _why_empty(store, args) if rows == 0 else ""
    # Only now: the note explains a file written, and would be a stray line before an
    # error.
    if stored is not None:
        print(f"days in {stored}, the zone the data was classified or collected in "
              "(--tz to change)", file=sys.stderr)
    print(f"wrote {rows:,} {args.table} rows to {args.output}{why_empty}", file=sys.stderr)
    return 0


def _why_empty(store: Store, args: argparse.Namespace) -> str:
    """What the user may have mistyped when nothing matched: an empty table is still a
    valid export (exit 0: a day without wear is a real answer), but a participant id the
    store does not hold is more likely a typo than an answer."""
    everyone = store.participants()
    if args.participant is not None and args.participant not in everyone:
        return f" (nothing stored for participant {args.participant!r}; the store holds " \
               f"{held_participants(everyone)})"
    if args.first or args.last:
        return " (nothing stored on those days)"
    return ""


def _stored_zone(store: Store, participant: str | None) -> str | None:
    """The one zone the data was classified or collected in (None if none is kept)."""
    zones = sorted({zone for _, _, zone in store.meta_values(STORED_ZONE_KEY, participant)})
    if len(zones) > 1:
        raise UsageError(f"the data was classified or collected in {len(zones)} time zones "
                         f"({', '.join(zones)}); pass --tz to say which to count days in")
    return zones[0] if zones else None


def _open_for_reading(path: StoreLocation) -> Store:
    """Read-only, so an analyst who may not write the store can export it; a store of an
    older schema is opened for writing once to upgrade it."""
    try:
        return Store.open(path, create=False, readonly=True)
    except StoreOutdated:
        return Store.open(path, create=False)
