"""`sitting-tracker collect`: the collector in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from tracker.cli_errors import UsageError, identifier
from tracker.config import LOCATIONS, ConfigError, Settings, load_settings
from tracker.store import StoreLocation, store_location
from tracker.store_backends import redact
from tracker.store_choice import choose_store, db_help


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "collect", help="run the collector: stream a band, classify live, nudge",
        description="Connect to the band, classify posture live, store everything and nudge "
        "when a sitting streak gets long. Reconnects by itself; Ctrl-C or SIGTERM stops it "
        "cleanly. Options override the settings file.")
    parser.add_argument("--device", metavar="NAME|ADDRESS",
                        help="band to use (default: tracker.device in the settings, else the "
                        "first supported band found)")
    parser.add_argument("--location", choices=LOCATIONS,
                        help="where the band is worn (default: tracker.location, thigh)")
    parser.add_argument("--db", type=store_location, metavar="PATH|URL",
                        help=db_help("many collectors may share one postgresql:// URL"))
    parser.add_argument("--participant", type=identifier,
                        help="pseudonymous participant id the rows are "
                        "stored under (default: tracker.participant in the settings)")
    parser.add_argument("--config", type=Path, help="settings file")
    parser.add_argument("--tz", default="local", help="time zone of working hours")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="follow an emulated band replayed this many times faster")
    parser.add_argument("--verbose", "-v", action="store_true", help="log connection events")
    parser.set_defaults(run=run)


def resolve_settings(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(args.config)
    except ConfigError as error:
        raise UsageError(str(error)) from None


def resolve_store(args: argparse.Namespace, settings: Settings) -> StoreLocation:
    """The store of a command with --db and --config, in the order every command uses
    (tracker.store_choice)."""
    return choose_store(getattr(args, "db", None), lambda: settings)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(message)s", stream=sys.stderr)
    settings = resolve_settings(args)
    location = args.location or settings.tracker.location
    db = resolve_store(args, settings)
    device = args.device or settings.tracker.device or asyncio.run(_first_band())
    shown = redact(db) if isinstance(db, str) else db
    print(f"collecting from {device} ({location}) into {shown}; Ctrl-C to stop",
          file=sys.stderr)
    return asyncio.run(run_collector(db=db, device=device, location=location,
                                     settings=settings, tz_name=args.tz, time_scale=args.speed,
                                     participant=args.participant))


async def _first_band() -> str:
    from tracker.ble import bluetooth_problem, scan

    try:
        bands = await scan(timeout=8.0, read_battery=False)
    except Exception as error:
        # No band named: the first scan is where a missing Bluetooth stack shows first.
        problem = bluetooth_problem(error)
        if problem is None:
            raise
        raise UsageError(problem) from None
    if not bands:
        raise UsageError("no supported band in range; name one with --device "
                         "(see 'sitting-tracker scan')")
    return bands[0].address


async def run_collector(*, db: StoreLocation, device: str, location: str, settings: Settings,
                        tz_name: str = "local", time_scale: float = 1.0,
                        origin: float | None = None, duration_s: float | None = None,
                        stop: asyncio.Event | None = None, participant: str | None = None) -> int:
    """Run a collector until stopped (signal, `stop`, or `duration_s` of band time)."""
    from tracker.calibration import model_for
    from tracker.collector import Collector, CollectorError, CollectorOptions
    from tracker.timezones import timezone_named

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
        # `kill -USR1 <pid>` prints what every task is waiting for, to diagnose a hang.
        loop.add_signal_handler(signal.SIGUSR1, _print_tasks)
    options = CollectorOptions(db=db, device=device, location=location,
                               participant=participant or settings.tracker.participant,
                               time_scale=time_scale, origin=origin, duration_s=duration_s)
    # The wearer's personal model if calibrated, else the shipped one; numpy-only either
    # way: a process that runs all day need not carry scikit-learn in memory.
    model = model_for(db, location, options.participant)
    collector = Collector(options, settings, model, timezone_named(tz_name))
    try:
        await collector.run(stop)
    except CollectorError as error:
        raise UsageError(str(error)) from None
    finally:
        # Give the signals back: whoever called us (the demo) goes on after this loop.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
            with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
                loop.remove_signal_handler(sig)
    return 0


def _print_tasks() -> None:
    for task in asyncio.all_tasks():
        print(f"--- {task.get_name()}", file=sys.stderr)
        task.print_stack(file=sys.stderr)
