"""`sitting-tracker status`: what the collector is doing now."""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tracker.store import COLLECTOR_STATUS_KEY, Store, store_location
from tracker.store_choice import choose_store, db_help

# The collector reports once a tick: every second, plus the tick's own work. A tick can
# wait up to the store's 10 s busy timeout (while `forget` or `classify --db` writes) or
# a slow database server, and a PostgreSQL collector's clock may be a little off ours:
# a report older than 30 s means the collector has stopped, not that it is slow.
STALE_S = 30.0
# Exit codes: scripts tell "a collector is running" from "none is: none has reported yet,
# or the one that did has stopped" (1), and both from "cannot read the store" (2).
RUNNING, NOT_RUNNING = 0, 1


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status", help="show the collector's band, battery, posture, streak and errors",
        description="Show whether a collector is running and what it last reported: "
        "connected band and battery, current posture and sitting streak, samples stored "
        "today, and the last error (each with its time once the collector has stopped).",
        epilog="Exit status: 0 a collector is running and reporting; 1 none is (none has "
        "reported to this store yet, or the one that last reported has stopped: it said so, "
        f"its last report is more than {STALE_S:g} s old, or its process has ended); 2 the "
        "store "
        "cannot be read, or bad usage. With --json the answer is a JSON object either way, "
        "with \"reported\" and \"running\" true or false.")
    parser.add_argument("--db", type=store_location, metavar="PATH|URL", help=db_help())
    parser.add_argument("--config", type=Path, help="settings file (for its tracker.db)")
    parser.add_argument("--participant", help="the collector of this participant (default: "
                        "whichever reported last)")
    parser.add_argument("--json", action="store_true",
                        help="print the collector's last report as a JSON object: "
                        "\"reported\": true, \"running\" (false once the collector has "
                        "stopped) and the collector's fields, or \"reported\": false and "
                        "the store asked")
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


def is_running(status: dict[str, Any], on_this_computer: bool) -> bool:
    """Whether the collector that wrote `status` still runs: it reported recently, not
    as its last report, and its process is alive. A PostgreSQL store's collectors run on
    other computers, whose process ids mean nothing here."""
    recent = time.time() - float(status.get("updated") or 0) < STALE_S
    return (recent and not status.get("stopped")
            and (not on_this_computer or _alive(status.get("pid"))))


def run(args: argparse.Namespace) -> int:
    from tracker.commands.collect import resolve_settings

    path = choose_store(args.db, lambda: resolve_settings(args))
    with Store.open(path, readonly=True) as store:
        status = read_status(store, args.participant)
        where = store.location
        running = status is not None and is_running(status, not store.is_postgres)
    if status is None:
        if args.json:  # a script parses stdout: JSON whatever the answer
            print(json.dumps({"reported": False, "running": False, "store": where,
                              "participant": args.participant}, indent=2))
        else:
            print(f"no collector has written to {where} yet; start one with "
                  "'sitting-tracker collect' (or try 'sitting-tracker demo')")
        return NOT_RUNNING
    if args.json:
        print(json.dumps({"reported": True, "running": running, **status}, indent=2))
    else:
        print("\n".join(_running_lines(status) if running else _stopped_lines(status)))
    return RUNNING if running else NOT_RUNNING


def _running_lines(status: dict[str, Any]) -> list[str]:
    age = max(0.0, time.time() - float(status.get("updated") or 0))
    return [
        f"collector:     running (last report {age:.0f} s ago)",
        f"band:          {_band(status)}, "
        f"{'connected' if status.get('connected') else 'not connected'}, "
        f"battery {_battery(status)}",
        f"posture:       {status.get('posture') or 'unknown'} "
        f"(band worn at the {status.get('location', '?')})",
        f"sitting streak: {status.get('streak_min', 0):.0f} min",
        f"samples today: {status.get('samples_today', 0):,}",
        f"last error:    {status.get('last_error') or 'none'}",
    ]


def _stopped_lines(status: dict[str, Any]) -> list[str]:
    """The last report, each value marked with its time: without a collector there is
    no connection, and no posture or streak known now."""
    updated = datetime.fromtimestamp(float(status.get("updated") or 0))
    at = updated.strftime("%H:%M" if updated.date() == datetime.now().date()
                          else "%Y-%m-%d %H:%M")
    ago = _time_span(time.time() - updated.timestamp())
    samples = f"{status.get('samples_today', 0):,}"
    if updated.date() == datetime.now().date():
        samples += f", none since {at}"
    else:
        samples = f"0 ({samples} on {updated.date().isoformat()})"
    return [
        f"collector:     not running since {at} (last report {ago} ago)",
        f"band:          {_band(status)}, not connected, battery {_battery(status)} at {at}",
        f"posture:       not known now; {status.get('posture') or 'unknown'} at {at} "
        f"(band worn at the {status.get('location', '?')})",
        f"sitting streak: {status.get('streak_min', 0):.0f} min at {at}",
        f"samples today: {samples}",
        f"last error:    {status.get('last_error') or 'none'}",
    ]


def _band(status: dict[str, Any]) -> str:
    return f"{status.get('band') or 'none'} ({status.get('profile') or '-'})"


def _battery(status: dict[str, Any]) -> str:
    return f"{status['battery']} %" if status.get("battery") is not None else "unknown"


def _time_span(seconds: float) -> str:
    """A time span as a person says it: 45 s, 12 min, 3 h, 2 days."""
    seconds = max(0.0, seconds)
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size:.0f} {unit}"
    return f"{seconds:.0f} s"
