"""`sitting-tracker calibrate`: the guided routine that fits a personal model."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracker.cli_errors import HelpFormatter, UsageError
from tracker.config import LOCATIONS, NotifySettings, Settings
from tracker.store import Store, StoreError, StoreLocation, store_location
from tracker.store_backends import redact
from tracker.store_choice import db_help

COUNTDOWN_S = 3
# The first seconds of a phase are skipped; 35 s leave the 6 windows (30 s) a posture
# needs to count in a personal model (tracker.personal).
MIN_PHASE_S = 40
# How long to wait for the band's first samples before giving up (finding and connecting
# to a band takes a few seconds; a band out of range would keep the wearer waiting).
SAMPLES_WAIT_S = 60.0


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "calibrate", help="a 3-minute guided routine that fits the model to you",
        description="Sit, stand and walk for a minute each while the band records, then "
        "fit a personal model for this wear location from those minutes and keep it beside "
        "the store. The collector and the dashboard use it from then on (a running "
        "collector switches to it by itself). If the collector is running it records the "
        "routine; otherwise this command connects to the band. Each minute is checked "
        "before anything is saved: a walking minute that does not move like walking, or a "
        "sitting or standing one that does, is named and nothing is saved (exit code 2). "
        "Calibrating again replaces the earlier calibration at that location; corrections "
        "marked in the dashboard stay.",
        formatter_class=HelpFormatter)
    parser.add_argument("--device", metavar="NAME|ADDRESS",
                        help="band to use when no collector is running (default: "
                        "tracker.device in the settings, else the first band found)")
    parser.add_argument("--location", choices=LOCATIONS,
                        help="where the band is worn (default: tracker.location)")
    parser.add_argument("--db", type=store_location, metavar="PATH|URL", help=db_help())
    parser.add_argument("--config", type=Path, help="settings file")
    parser.add_argument("--seconds", type=int, default=60,
                        help=f"length of each phase (at least {MIN_PHASE_S})")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tracker.commands.collect import resolve_settings, resolve_store

    if args.seconds < MIN_PHASE_S:
        raise UsageError(f"--seconds {args.seconds}: a phase needs at least {MIN_PHASE_S} s")
    settings = resolve_settings(args)
    location = args.location or settings.tracker.location
    db = resolve_store(args, settings)
    device = args.device or settings.tracker.device
    try:
        return asyncio.run(calibrate(db=db, device=device, location=location,
                                     settings=settings, phase_s=args.seconds))
    except KeyboardInterrupt:
        print("\ncalibration cancelled; nothing was saved", file=sys.stderr)
        return 130


async def calibrate(*, db: StoreLocation, device: str | None, location: str, settings: Settings,
                    phase_s: float, say: Callable[[str], None] = print) -> int:
    from tracker.calibration import (
        PHASES,
        SETTLE_S,
        fit_personal_model,
        routine_problems,
        save_calibration,
    )

    participant = settings.tracker.participant
    stop = asyncio.Event()
    collecting = None
    if _collector_running(db, participant):
        say("The collector is running: it records the routine.")
    else:
        collecting = asyncio.create_task(_collect_quietly(db, device, location, settings, stop))
    loop = asyncio.get_running_loop()
    cancelled = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, cancelled.set)
        loop.add_signal_handler(signal.SIGTERM, cancelled.set)
    try:
        await _until_samples_flow(db, participant, collecting, cancelled, say)
        spans = []
        for number, phase in enumerate(PHASES, start=1):
            say(f"\n{number}/{len(PHASES)}: {phase.instruction}")
            for count in range(COUNTDOWN_S, 0, -1):
                say(f"  starting in {count}…")
                await _sleep_unless(cancelled, 1.0)
            start = time.time()
            say(f"Now: {phase.posture.upper()} for {phase_s:.0f} s")
            while (left := phase_s - (time.time() - start)) > 0:
                await _sleep_unless(cancelled, min(10.0, left))
                if left > 10:
                    say(f"  {phase.posture}: {max(0.0, left - 10):.0f} s to go")
            spans.append((start + SETTLE_S, time.time(), phase.posture))
        say("\nDone, thank you. Storing the last samples…")
        await _until_stored(db, participant, spans[-1][1], cancelled)
    finally:
        stop.set()
        if collecting is not None:
            await collecting
    problems = routine_problems(db, spans, location, participant)
    if problems:
        raise UsageError(
            "the routine was not done as asked, so nothing was saved (an earlier "
            "calibration stays):\n  " + "\n  ".join(problems) + f"\nIs the band worn at the "
            f"{location}? Run `sitting-tracker calibrate` again and follow the prompts.")
    save_calibration(db, spans, location, participant)
    try:
        fit = fit_personal_model(db, location, participant=participant, progress=say)
    except ValueError as error:
        raise UsageError(str(error)) from None
    say(f"The model in use before labelled {fit.agreement_before:.0%} of your calibration "
        f"windows as you stated; your personal model labels {fit.agreement_after:.0%} "
        "(fitted on them).")
    say(f"Personal model saved to {fit.path}; the collector uses it from now on.")
    return 0


def _collector_running(db: StoreLocation, participant: str) -> bool:
    """A collector holds a store file's lock; on a shared PostgreSQL store, this
    participant's collector has reported within the last few seconds."""
    if isinstance(db, str):
        from tracker.commands.status import STALE_S

        status = _status(db, participant)
        return bool(status and time.time() - float(status.get("updated") or 0) < STALE_S)
    from filelock import FileLock, Timeout

    lock = FileLock(f"{db}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


async def _collect_quietly(db: StoreLocation, device: str | None, location: str, settings: Settings,
                           stop: asyncio.Event) -> None:
    """Record the routine with the collector's own code, nudges off."""
    from tracker.commands.collect import _first_band, run_collector

    quiet = dataclasses.replace(settings, notify=NotifySettings(desktop=False, band=False))
    device = device or await _first_band()
    await run_collector(db=db, device=device, location=location, settings=quiet, stop=stop,
                        participant=settings.tracker.participant)


async def _until_samples_flow(db: StoreLocation, participant: str,
                              collecting: asyncio.Task[None] | None,
                              cancelled: asyncio.Event, say: Callable[[str], None],
                              timeout_s: float | None = None) -> None:
    say("Waiting for the band's samples…")
    timeout_s = SAMPLES_WAIT_S if timeout_s is None else timeout_s
    deadline = time.monotonic() + timeout_s
    while True:
        if collecting is not None and collecting.done():
            collecting.result()  # the collector's own error, if it failed
            raise UsageError("the collector stopped before the routine began")
        newest = _newest(db, participant)
        if newest is not None and time.time() - newest < 10.0:
            return
        if time.monotonic() > deadline:
            problem = _last_band_error(db, participant)
            hint = (f"last error: {problem}" if problem else
                    "is it worn, charged and in range? (see `sitting-tracker status`)")
            raise UsageError(f"no samples from the band reached {redact(str(db))} within "
                             f"{timeout_s:.0f} s; {hint}")
        await _sleep_unless(cancelled, 0.5)


async def _until_stored(db: StoreLocation, participant: str, until_s: float,
                        cancelled: asyncio.Event, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (_newest(db, participant) or 0.0) < until_s - 0.5 and time.monotonic() < deadline:
        await _sleep_unless(cancelled, 0.5)


def _status(db: StoreLocation, participant: str) -> dict[str, Any] | None:
    """What this participant's collector last reported (as `status` shows it), if any."""
    from tracker.commands.status import read_status

    try:
        with Store.open(db, readonly=True) as store:
            return read_status(store, participant)
    except StoreError:
        return None


def _last_band_error(db: StoreLocation, participant: str) -> str:
    return str((_status(db, participant) or {}).get("last_error") or "")


def _newest(db: StoreLocation, participant: str) -> float | None:
    from tracker.calibration import newest_sample_s

    try:
        return newest_sample_s(db, participant)
    except StoreError:  # no store yet: the collector is still starting
        return None


async def _sleep_unless(cancelled: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(cancelled.wait(), seconds)
    if cancelled.is_set():
        raise KeyboardInterrupt
