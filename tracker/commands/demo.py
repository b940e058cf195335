"""`sitting-tracker demo`: an emulated band replays a real office day through the real
BLE path into the collector, and the dashboard shows it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from tracker.cli_errors import HelpFormatter, UsageError, finite_number, positive_seconds
from tracker.processes import die_with_parent, sigterm_interrupts, stop_child

# Wall seconds between the band's last notification and the collector's stop.
LAST_DATA_DRAIN_S = 1.0
MAX_SPEED = 2000.0  # faster, the emulated band's notifications outrun the collector


def _speed(text: str) -> float:
    value = finite_number(text)
    if not 0 < value <= MAX_SPEED:
        raise argparse.ArgumentTypeError(f"{text}: must be more than 0 and at most "
                                         f"{MAX_SPEED:g}")
    return value


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="replay a real office day through an emulated band, collector, dashboard",
        description="Start an emulated band (no hardware) that replays an 8-hour office day "
        "of real recorded motion, follow it with the collector through bleak exactly as a "
        "real band, and serve the dashboard on http://localhost:8501. The replayed day starts "
        "at 09:00 today (band time), from its first minute once the collector is streaming. "
        "Ctrl-C stops everything.",
        formatter_class=HelpFormatter)
    parser.add_argument("--speed", type=_speed, default=120.0,
                        help="replay speed (band seconds per second; more than 0, at most "
                        f"{MAX_SPEED:g})")
    parser.add_argument("--duration", type=positive_seconds, metavar="SECONDS",
                        help="band seconds to replay (default: the whole scenario)")
    parser.add_argument("--db", type=Path, help="store to fill (default: a fresh demo store "
                        "in the user data dir, separate from your own data)")
    parser.add_argument("--scenario", default="office-day", help="see 'emulate --list'")
    parser.add_argument("--profile", default="polar-verity-sense",
                        help="emulated band (see 'emulate --list')")
    parser.add_argument("--no-dashboard", action="store_true",
                        help="do not serve the dashboard; exit when the replay ends")
    parser.add_argument("--port", type=int, default=8501, help="dashboard port")
    parser.add_argument("--notify", action="store_true",
                        help="show the nudges as desktop notifications too (they are always "
                        "stored and shown on the dashboard)")
    parser.set_defaults(run=run)


def demo_store_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path("sitting-tracker", appauthor=False) / "demo.sqlite"


def run(args: argparse.Namespace) -> int:
    from tracker.scenarios import SCENARIOS

    if args.scenario not in SCENARIOS:
        raise UsageError(f"unknown scenario {args.scenario!r}; known: {', '.join(SCENARIOS)}")
    db = args.db
    if db is None:
        db = demo_store_path()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    scenario = SCENARIOS[args.scenario]
    duration = args.duration or scenario.minutes * 60
    emulator = _start_emulator(args)
    replay_over = _watch_for_motion_end(emulator)
    dashboard = None
    try:
        if not args.no_dashboard:
            from tracker.commands.dashboard import launch_dashboard

            dashboard = launch_dashboard(db, args.port, demo=True)
            print(f"dashboard: http://localhost:{args.port}", flush=True)
        print(f"replaying {duration / 3600:.1f} h of '{args.scenario}' at {args.speed:g}x "
              f"(about {duration / args.speed / 60:.1f} min) into {db}", flush=True)
        code = asyncio.run(_collect(db, scenario.location, args.speed,
                                    args.duration, args.notify, replay_over))
        if args.duration is None and not replay_over.is_set():
            # Neither the band's day nor --duration ended it: Ctrl-C or SIGTERM did.
            print(f"stopped before the end of the replay; what arrived is stored in {db}",
                  flush=True)
            return code
        print("replay finished", flush=True)
        if dashboard is not None:
            print("the dashboard stays up until Ctrl-C", flush=True)
            with contextlib.suppress(KeyboardInterrupt), sigterm_interrupts():
                dashboard.wait()
        return code
    finally:
        stop_child(emulator)
        if dashboard is not None:
            stop_child(dashboard)


def _start_emulator(args: argparse.Namespace) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tracker.cli", "emulate", "--profile", args.profile,
               "--scenario", args.scenario, "--speed", f"{args.speed:g}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                               preexec_fn=die_with_parent)
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("DBUS_SYSTEM_BUS_ADDRESS="):
        process.wait(timeout=10)
        raise UsageError("the emulated band did not start (is dbus-daemon installed? run "
                         "scripts/install-system-deps.sh)")
    # bleak reads this when it first connects to the bus, later in this process.
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = first.split("=", 1)[1]
    return process


def _watch_for_motion_end(emulator: subprocess.Popen[str]) -> threading.Event:
    """An event set once the emulated band has sent its scenario's last sample.

    The band's day starts with the collector's first stream, but a link lost on the way
    leaves the collector unsure how much of the day went by meanwhile: it learns the end
    of the day from the emulator's `motion ended` line instead of counting band time."""
    from tracker.emulator.cli import MOTION_ENDED

    over = threading.Event()

    def read() -> None:
        assert emulator.stdout is not None
        for line in emulator.stdout:  # read to the end, so the emulator never blocks
            if line.startswith(MOTION_ENDED):
                over.set()

    threading.Thread(target=read, name="emulator-output", daemon=True).start()
    return over


async def _stop_when_over(replay_over: threading.Event, stop: asyncio.Event) -> None:
    while not replay_over.is_set():
        await asyncio.sleep(0.2)
    # The last notification left the band just before; let it reach the collector.
    await asyncio.sleep(LAST_DATA_DRAIN_S)
    stop.set()


async def _collect(db: Path, location: str, speed: float, duration: float | None,
                   notify: bool, replay_over: threading.Event) -> int:
    from tracker.commands.collect import run_collector
    from tracker.config import WEEKDAYS, CoachSettings, NotifySettings, Settings

    # Default settings, every day a working day so the demo nudges on a weekend too.
    settings = Settings(coach=CoachSettings(working_days=WEEKDAYS),
                        notify=NotifySettings(desktop=notify))
    nine = datetime.now().astimezone().replace(hour=9, minute=0, second=0, microsecond=0)
    stop = asyncio.Event()
    watcher = asyncio.create_task(_stop_when_over(replay_over, stop))
    try:
        return await run_collector(db=db, device="Polar", location=location,
                                   settings=settings, time_scale=speed,
                                   origin=nine.timestamp(), duration_s=duration, stop=stop)
    finally:
        watcher.cancel()
