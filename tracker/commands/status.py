"""`sitting-tracker status`: what the collector is doing now."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from tracker.store import COLLECTOR_STATUS_KEY, Store, store_location
from tracker.store_choice import choose_store, db_help

STALE_S = 10.0
# Exit codes: scripts tell "nothing has reported yet" from "cannot read the store" (2).
REPORTED, NOT_REPORTED = 0, 1


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status", help="show the collector's band, battery, posture, streak and errors",
        description="Show what the collector last reported: connected band and battery, "
        "current posture and sitting streak, samples stored today, and the last error.",
        epilog="Exit status: 0 a collector has reported; 1 no collector has reported to "
        "this store yet; 2 the store cannot be read, or bad usage. With --json the answer "
        "is a JSON object either way, its \"reported\" true or false.")
    parser.add_argument("--db", type=store_location, metavar="PATH|URL", help=db_help())
    parser.add_argument("--config", type=Path, help="settings file (for its tracker.db)")
    parser.add_argument("--participant", help="the collector of this participant (default: "
                        "whichever reported last)")
    parser.add_argument("--json", action="store_true",
                        help="print the collector's last report as a JSON object: "
                        "\"reported\": true and the collector's fields, or \"reported\": "
                        "false and the store asked")
    parser.set_defaults(run=run)


def read_status(store: Store, participant: str | None = None) -> dict[str, Any] | None:
    """The status the most recently reporting collector wrote (of `participant`'s bands
    only, if given); None before any collector ran."""
    statuses = []
    for _, _, value in store.meta_values(COLLECTOR_STATUS_KEY, participant):
        try:
            status = json.loads(value)
        except json.JSONDecodeError:
            continue
        if isinstance(status, dict):
            statuses.append(status)
    return max(statuses, key=lambda s: float(s.get("updated") or 0), default=None)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run(args: argparse.Namespace) -> int:
    from tracker.commands.collect import resolve_settings

    path = choose_store(args.db, lambda: resolve_settings(args))
    with Store.open(path, readonly=True) as store:
        status = read_status(store, args.participant)
        where = store.location
    if status is None:
        if args.json:  # a script parses stdout: JSON whatever the answer
            print(json.dumps({"reported": False, "store": where,
                              "participant": args.participant}, indent=2))
        else:
            print(f"no collector has written to {where} yet; start one with "
                  "'sitting-tracker collect' (or try 'sitting-tracker demo')")
        return NOT_REPORTED
    if args.json:
        print(json.dumps({"reported": True, **status}, indent=2))
        return REPORTED
    age = time.time() - float(status.get("updated", 0))
    running = age < STALE_S and _alive(status.get("pid"))
    battery = f"{status['battery']} %" if status.get("battery") is not None else "unknown"
    band = status.get("band") or "none"
    lines = [
        f"collector:     {'running' if running else 'not running'} "
        f"(last report {age:.0f} s ago)",
        f"band:          {band} ({status.get('profile') or '-'}), "
        f"{'connected' if status.get('connected') else 'not connected'}, battery {battery}",
        f"posture:       {status.get('posture') or 'unknown'} "
        f"(band worn at the {status.get('location', '?')})",
        f"sitting streak: {status.get('streak_min', 0):.0f} min",
        f"samples today: {status.get('samples_today', 0):,}",
        f"last error:    {status.get('last_error') or 'none'}",
    ]
    print("\n".join(lines))
    return REPORTED
