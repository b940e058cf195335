"""`sitting-tracker stream`: the first check that a band works."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

import numpy as np

from tracker.cli_errors import HelpFormatter, positive_number, positive_seconds


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "stream", help="connect to a band and print its accelerometer samples",
        description="Connect to a band by name (or part of it) or address, start its "
        "accelerometer, print the samples (in g) about once a second with the measured "
        "rate, then stop the stream and disconnect.",
        formatter_class=HelpFormatter)
    parser.add_argument("band", metavar="NAME|ADDRESS")
    parser.add_argument("--seconds", type=positive_seconds, default=10.0, metavar="S",
                        help="how long to stream (band time)")
    parser.add_argument("--speed", type=positive_number, default=1.0,
                        help="follow an emulated band replayed this many times faster")
    parser.add_argument("--config", type=Path, help="settings file (for a [custom_band])")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_stream(args))


async def _stream(args: argparse.Namespace) -> int:
    from tracker.ble import BandSession, bluetooth_problem
    from tracker.cli_errors import UsageError

    stop = asyncio.Event()
    received: list[tuple[np.ndarray, np.ndarray]] = []
    shown = {"until": 0.0}

    def on_samples(t: np.ndarray, xyz: np.ndarray) -> None:
        received.append((t, xyz))
        first = received[0][0][0]
        if t[-1] >= shown["until"]:
            x, y, z = xyz[-1]
            print(f"t={t[-1] - first:8.2f} s  x={x:+.3f} y={y:+.3f} z={z:+.3f} g  "
                  f"({sum(len(p[0]) for p in received)} samples)", flush=True)
            shown["until"] = t[-1] + 1.0
        if t[-1] - first >= args.seconds:
            stop.set()

    def on_event(kind: str, detail: str) -> None:
        failure = session.last_exception
        if kind == "error" and not received and failure is not None and (
                isinstance(failure, LookupError) or bluetooth_problem(failure)):
            # Not in range, not supported, or no usable Bluetooth: give up rather than
            # retry for as long as the check may take. The closing line says why.
            stop.set()
            return
        print(f"[{kind}] {detail}".rstrip(), flush=True)

    from tracker.ble import band_profiles
    from tracker.commands.collect import resolve_settings

    # Every event is printed here as it comes; the session's own warnings would repeat them.
    logging.getLogger("tracker.ble").setLevel(logging.ERROR)
    session = BandSession(args.band, on_samples, time_scale=args.speed, on_event=on_event,
                          profiles=band_profiles(resolve_settings(args).custom_band))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(session.run(stop))
    # Give up if nothing arrives: a band out of range should not hang the check.
    deadline = loop.time() + max(30.0, 3 * args.seconds / args.speed)
    while not stop.is_set() and loop.time() < deadline:
        await asyncio.sleep(0.1)
    stop.set()
    await task
    stats = session.stats
    problem = bluetooth_problem(session.last_exception) if session.last_exception else None
    if not received and problem is not None:
        raise UsageError(problem)  # as `scan` says it: this computer's Bluetooth, exit 2
    if not received:
        print(f"no samples received from {args.band!r}: {stats.last_error or 'no data'}")
        return 1
    t = np.concatenate([p[0] for p in received])
    rate = (len(t) - 1) / (t[-1] - t[0]) if t[-1] > t[0] else float("nan")
    battery = f"{stats.battery} %" if stats.battery is not None else "unknown"
    print(f"{stats.name} ({stats.profile}): {stats.samples} samples, measured {rate:.1f} Hz "
          f"(nominal {stats.rate_hz or 0:g}), {stats.rejected} bad frames, "
          f"{stats.reconnects} reconnects, battery {battery}")
    return 0
