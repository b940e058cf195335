"""`sitting-tracker scan`: list the bands in range."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from tracker.cli_errors import HelpFormatter, positive_seconds


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scan", help="list supported bands in range",
        description="Scan for Bluetooth LE bands and list the supported ones: name, address, "
        "profile, signal strength (RSSI) and battery where it can be read.",
        formatter_class=HelpFormatter)
    parser.add_argument("--all", action="store_true", help="also list unsupported devices")
    parser.add_argument("--timeout", type=positive_seconds, default=5.0, metavar="S",
                        help="seconds to listen")
    parser.add_argument("--no-battery", action="store_true",
                        help="do not connect to read battery levels")
    parser.add_argument("--config", type=Path, help="settings file (for a [custom_band])")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tracker.ble import band_profiles, bluetooth_problem, scan
    from tracker.cli_errors import UsageError
    from tracker.commands.collect import resolve_settings

    profiles = band_profiles(resolve_settings(args).custom_band)
    try:
        bands = asyncio.run(scan(args.timeout, include_all=args.all,
                                 read_battery=not args.no_battery, profiles=profiles))
    except Exception as error:
        problem = bluetooth_problem(error)
        if problem is None:
            raise
        raise UsageError(problem) from None
    if not bands:
        print("no supported bands found" + ("" if args.all else " (try --all)"))
        return 1
    print(f"{'name':<24} {'address':<18} {'profile':<14} {'rssi':>5} {'battery':>8}")
    for band in bands:
        profile = band.profile.id if band.profile else "unsupported"
        battery = f"{band.battery} %" if band.battery is not None else "-"
        rssi = str(band.rssi) if band.rssi is not None else "-"
        print(f"{band.name[:24]:<24} {band.address:<18} {profile:<14} {rssi:>5} {battery:>8}")
    return 0
