"""`sitting-tracker classify`: label every window of a recording, print a summary."""

from __future__ import annotations

import argparse
import io
import os
import sys
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import pandas as pd

from tracker import bouts as bout_rules
from tracker.cli_errors import HelpFormatter, UsageError, identifier
from tracker.csvfiles import atomic_text_file, check_csv_name, check_output, csv_cells
from tracker.pipeline import WINDOW_COLUMNS, Classifier, WindowClassifier
from tracker.recording import (
    MAX_RATE_HZ,
    MIN_RATE_HZ,
    RATE_TOLERANCE,
    InputError,
    RecordingInfo,
    bare_name,
    read_recording,
)
from tracker.store import DEFAULT_PARTICIPANT, Store, store_location
from tracker.summary import format_summary
from tracker.timezones import STORED_ZONE_KEY, parse_datetime, timezone_named, zone_name

LOCATIONS = ("thigh", "waist", "wrist")
# A `t` above this (2001-09-09) is taken as Unix time; below, as time since some start.
UNIX_TIME_FROM = 1e9


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "classify", help="label each window of a recording as sitting, standing, walking, ...",
        description="Classify a recording (CSV or Parquet with columns t,x,y,z: t in seconds, "
        "x,y,z in g with gravity) into windows labelled sitting, standing, walking, lying, "
        "nonwear or unknown (a gap in t longer than 2 s is never a window). Writes one CSV row "
        "per window and prints a summary.",
        formatter_class=HelpFormatter)
    parser.add_argument("input", type=Path, help="recording: .csv or .parquet with t,x,y,z")
    parser.add_argument("--location", required=True, choices=LOCATIONS,
                        help="where the sensor was worn (thigh is the most accurate, then "
                        "waist, then wrist)")
    parser.add_argument("--output", "-o", type=Path, required=True,
                        help="CSV to write: start,end,label,confidence,p_<posture> per window")
    parser.add_argument("--rate", type=float, metavar="HZ",
                        help="the rate the samples were taken at, for a device whose clock is "
                        "coarse or jittery: samples between gaps in t are re-timed as evenly "
                        "spaced at it. t is still needed, and must show about this rate "
                        f"(within {RATE_TOLERANCE * 100:g} %%, else an error); it does not "
                        "resample the input (default: the times in t as they are)")
    parser.add_argument("--units", choices=("g", "mg", "m/s2"), default="g",
                        help="unit of x,y,z in the input")
    parser.add_argument("--model", type=Path, metavar="FILE.skops",
                        help="a model to use instead of the shipped one for --location")
    parser.add_argument("--db", type=store_location, metavar="PATH|URL",
                        help="also store the raw samples, windows and bouts in this store "
                        "(a file or postgresql:// URL)")
    parser.add_argument("--start", metavar="ISO_TIME",
                        help="wall-clock time of the first sample, needed with --db when t is "
                        "not Unix time (e.g. 2024-05-01T08:30)")
    parser.add_argument("--tz", default="local",
                        help="time zone for --start and for calendar days (IANA name); "
                        "with --db, the store keeps it for the participant's device, and a "
                        "recording of that device classified in another zone is refused")
    parser.add_argument("--replace-tz", action="store_true",
                        help="with --db: keep --tz as the device's zone although it was "
                        "stored in another (export then counts all its days, earlier ones "
                        "too, in --tz)")
    parser.add_argument("--participant", default=DEFAULT_PARTICIPANT, type=identifier,
                        help="participant id for rows written with --db (pseudonymous)")
    parser.add_argument("--device", type=identifier, help="device id for rows written with --db "
                        "(default: the input file's name without its suffix)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    parser.set_defaults(run=run)


def load_model(location: str, path: Path | None) -> Classifier:
    from tracker.posture_model import OutdatedModelError, PostureModel, load_default_model

    if path is None:
        return load_default_model(location)
    if not path.is_file():
        raise InputError(path, "no such model file")
    try:
        model = PostureModel.load(path)
    except OutdatedModelError as error:
        raise InputError(path, str(error)) from None
    except Exception as error:  # a zip, npz or skops file of something else, or no zip
        raise InputError(path, f"not a sitting-tracker model file ({error})") from None
    if model.location != location:
        # Another placement's model reads the angles of another body part: its labels
        # would look plausible and be wrong.
        raise InputError(path, f"a model for the {model.location}, not the {location} "
                         "(--location)")
    return model


def run(args: argparse.Namespace) -> int:
    try:
        tz = timezone_named(args.tz)
    except ValueError as error:
        raise UsageError(f"--tz: {error}") from None
    if args.rate is not None and not MIN_RATE_HZ <= args.rate <= MAX_RATE_HZ:
        raise UsageError(f"--rate {args.rate:g} Hz: supported rates are "
                         f"{MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz")
    db_file = args.db if isinstance(args.db, Path) else None
    check_csv_name(args.output)
    check_output(args.output, input=args.input, store=db_file, model=args.model)
    model = load_model(args.location, args.model)
    info = RecordingInfo(args.input)
    chunks = read_recording(args.input, units=args.units, rate_hz=args.rate, info=info)
    new_file = isinstance(args.db, Path) and not args.db.exists()
    store = Store.open(args.db) if args.db else None
    device = args.device or bare_name(args.input.name)
    try:
        if store is not None and not args.replace_tz:
            _check_stored_zone(store, args, tz, device)
        windows = _classify_to_csv(chunks, model, args, info, store, tz, device)
    except BaseException:
        if store is not None:
            store.close()
            store = None
            if new_file:  # a store made for this run and left empty by the failure
                for path in (args.db, Path(f"{args.db}-wal"), Path(f"{args.db}-shm")):
                    path.unlink(missing_ok=True)
        raise
    finally:
        if store is not None:
            store.close()
    if not args.quiet:
        bouts = bout_rules.bouts_from_windows(windows)
        print(format_summary(bouts, windows, source=args.input, output=args.output,
                             location=args.location),
              file=sys.stderr if _is_stdout(args.output) else sys.stdout)
    return 0


def _is_stdout(path: Path) -> bool:
    """Whether ``path`` is this process's standard output (``-o /dev/stdout`` into a
    pipe): the summary then goes to stderr, or it would end up as rows of the CSV."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, io.UnsupportedOperation):
        return False  # no such file yet, or a stdout without a file (captured)


def _check_stored_zone(store: Store, args: argparse.Namespace, tz: tzinfo,
                       device: str) -> None:
    """Refuse a zone other than the one this device is stored in: the store keeps one
    zone per participant's device and `export` cuts all its days, earlier recordings'
    too, at that zone's midnight, so replacing it would move them without a word."""
    stored = store.meta(STORED_ZONE_KEY, participant=args.participant, device=device)
    given = zone_name(tz)
    if stored is None or given is None or given == stored:
        return  # a zone without a name is not stored, so it replaces nothing
    raise UsageError(f"{store.location}: participant {args.participant!r}, device {device!r} is "
                     f"stored in time zone {stored}, not {given} (--tz); export counts all "
                     f"its days in one zone: pass --tz {stored}, or --replace-tz to count "
                     f"them all in {given}")


def _classify_to_csv(chunks: Any, model: Classifier, args: argparse.Namespace,
                     info: RecordingInfo, store: Store | None, tz: Any,
                     device: str) -> pd.DataFrame:
    """Stream windows into the output file (renamed into place only when complete) and,
    with a store, everything in one transaction: a failure leaves no trace in either."""
    from contextlib import nullcontext

    from tqdm import tqdm

    classifier = WindowClassifier(model)
    kept: list[pd.DataFrame] = []
    offset: float | None = None
    progress = tqdm(total=info.bytes_total or None, unit="B", unit_scale=True,
                    desc=f"classifying {args.input.name}", file=sys.stderr, leave=False,
                    disable=True if args.quiet else None)
    with atomic_text_file(args.output) as stream, \
            (store.transaction() if store else nullcontext()), progress:
        stream.write(",".join(WINDOW_COLUMNS) + "\n")

        def emit(frames: list[pd.DataFrame]) -> None:
            for frame in frames:
                csv_cells(frame).to_csv(stream, index=False, header=False,
                                        lineterminator="\n")
                kept.append(frame[["start", "end", "label", "confidence"]])
                if store is not None:
                    stored = frame.assign(start=frame["start"] + offset,
                                          end=frame["end"] + offset)
                    store.add_windows(stored, location=args.location,
                                      participant=args.participant, device=device)

        for chunk in chunks:
            if store is not None and offset is None:
                offset = _time_offset(args, float(chunk.t[0]), tz)
            emit(classifier.push(chunk.t, chunk.xyz))
            if store is not None:
                assert offset is not None
                store.add_raw(chunk.t + offset, chunk.xyz, participant=args.participant,
                              device=device)
            progress.update(max(0, info.bytes_read - progress.n))
        emit(classifier.finish())
        windows = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(
            columns=["start", "end", "label", "confidence"])
        if store is not None and not windows.empty:
            assert offset is not None
            _refuse_overlap(store, args, device, tz, float(windows["start"].min()) + offset,
                            float(windows["end"].max()) + offset)
            if (name := zone_name(tz)) is not None:
                store.set_meta(STORED_ZONE_KEY, name, participant=args.participant,
                               device=device)
            bouts = bout_rules.bouts_from_windows(windows)
            stored = pd.DataFrame({"start": bouts["start"] + offset,
                                   "end": bouts["end"] + offset, "label": bouts["label"]})
            store.replace_bouts(stored, float(stored["start"].min()),
                                float(stored["end"].max()), participant=args.participant,
                                device=device)
    return windows


def _refuse_overlap(store: Store, args: argparse.Namespace, device: str, tz: tzinfo,
                    first: float, end: float) -> None:
    """Refuse a recording that overlaps, in part, one stored for this device (the same
    file given another --start): its windows replace the stored ones where they meet, but
    the stored bouts that run on into it would stay, and export count that time twice.
    Stored bouts wholly within this recording's time are the same recording classified
    again, and are replaced.  Runs before this recording's bouts are written."""
    margin = bout_rules.CONTIGUOUS_S  # a recording that starts where the last one ended
    stored = store.bouts(first + margin, end - margin, args.participant)
    stored = stored[stored["device_id"] == device]
    outside = stored[(stored["start_s"] < first - margin) | (stored["end_s"] > end + margin)]
    if outside.empty:
        return

    def shown(seconds: float) -> str:
        return datetime.fromtimestamp(round(seconds), tz).isoformat()

    overlap_from = max(first, float(stored["start_s"].min()))
    overlap_to = min(end, float(stored["end_s"].max()))
    raise UsageError(f"{store.location}: participant {args.participant!r}, device "
                     f"{device!r} already has data from {shown(overlap_from)} to "
                     f"{shown(overlap_to)}, which this recording ({shown(first)} to "
                     f"{shown(end)}) overlaps; a band records one time once: give this "
                     "recording another --device, or --start if it is wrong")


def _time_offset(args: argparse.Namespace, first_t: float, tz: Any) -> float:
    """Seconds to add to the input's t to get Unix time, for the store."""
    if args.start:
        try:
            return parse_datetime(args.start, tz).timestamp() - first_t
        except ValueError as error:
            raise UsageError(f"--start: {error}") from None
    if first_t >= UNIX_TIME_FROM:
        return 0.0
    raise InputError(args.input, f"t starts at {first_t:g}, which is not Unix time; pass "
                     "--start with the wall-clock time of the first sample to use --db")

