"""Classify a whole study: every recording in a folder, in parallel, resumably.

One task per recording, run on Dask workers (local processes or an existing cluster):
read it in chunks, classify its windows, write its windows and bouts CSVs, then a small
marker. The windows file is byte for byte what `sitting-tracker classify` writes; the
bouts file and the study-wide daily table follow `sitting-tracker export` (header,
ISO 8601 local times beside Unix seconds, formula-safe cells).

Layout of the output folder:

    windows/<name>.csv     one row per window, as `classify -o` writes it
    bouts/<name>.csv       one row per bout, as `export bouts` writes it
    daily.csv              one row per participant-day, as `export daily` writes it
    failures.csv           recordings that failed and why ("file: line N: problem")
    .batch/manifest.json   the settings the outputs were made with
    .batch/done/<name>.json  marker: this recording is finished (and its daily rows)

`<name>` is the recording's path inside the input folder without its suffix.

Resuming: every file is written under a temporary name and renamed when complete, and
a recording counts as finished only once its marker exists and still matches the input
file's size and modification time. A killed run therefore leaves at most hidden
`.*.part` files, which the next run deletes, and redoes exactly the unfinished work.

Determinism: each recording's outputs depend only on that recording, and the study
tables are sorted, so the files are identical whichever scheduler or worker count ran.
For the same reason a bouts file joins sitting across data gaps within its recording
only; the daily table, made from all of a participant's finished recordings, also joins
a bout that runs from one file into the next.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import tzinfo
from functools import lru_cache
from itertools import pairwise
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from tracker import bouts as bout_rules
from tracker.cli_errors import UsageError
from tracker.csvfiles import (
    OutputError,
    atomic_text_file,
    csv_cells,
    with_iso_columns,
    write_csv,
)
from tracker.export import COLUMNS
from tracker.pipeline import WINDOW_COLUMNS, Classifier, WindowClassifier
from tracker.recording import RECORDING_SUFFIXES, InputError, read_recording, recording_suffix
from tracker.timezones import timezone_named

PARTICIPANT_FROM = ("stem", "parent")
# As in `classify`: a `t` above this (2001-09-09) is Unix time. Calendar days need it.
UNIX_TIME_FROM = 1e9
STATE_DIR = ".batch"
MANIFEST_FORMAT = 1
FAILURE_COLUMNS = ["recording", "participant_id", "device_id", "error"]


DAILY_COLUMNS = COLUMNS["daily"]


class BatchSetupError(Exception):
    """The run cannot start (no recordings, output folder in use or made differently)."""


@dataclass(frozen=True)
class Settings:
    """What the outputs depend on; a resumed run must use the same."""

    location: str
    tz: str  # IANA name of the zone for calendar days and ISO times
    units: str = "g"
    model: str | None = None  # absolute path of a model file, or None for the shipped one
    participant_from: str = "stem"


@dataclass(frozen=True)
class Recording:
    path: Path  # absolute: a worker on another machine finds it on a shared file system
    name: str  # path inside the input folder, '/'-separated ("P01/thigh.csv")
    key: str  # `name` without its suffix: where the outputs go
    participant: str
    device: str  # the file name without its suffix (`classify --db`'s default device)


@dataclass(frozen=True)
class Outcome:
    recording: Recording
    error: str | None = None  # one line, "file: line N: problem"; None when it worked
    windows: int = 0


@dataclass
class BatchReport:
    out_dir: Path
    recordings: int = 0
    classified: int = 0
    skipped: int = 0
    failures: list[Outcome] = field(default_factory=list)
    daily_rows: int = 0
    notes: list[str] = field(default_factory=list)
    # The study tables (daily.csv, failures.csv) that could not be written, and why.
    unwritten: dict[str, UsageError] = field(default_factory=dict)


# ---------------------------------------------------------------- finding recordings

def participant_of(name: PurePosixPath, rule: str) -> str:
    """The participant id of a recording at `name` (relative to the input folder).

    'stem': the file name up to its first '_' or '.' (p017_thigh.csv -> p017);
    'parent': the folder holding the file (p017/monday.parquet -> p017).
    Empty when the rule finds nothing.
    """
    if rule == "parent":
        return name.parent.name
    return re.split(r"[_.]", name.name, maxsplit=1)[0]


def discover(input_dir: Path, rule: str = "stem",
             exclude: Path | None = None) -> tuple[list[Recording], list[Outcome]]:
    """Recordings under `input_dir` (any depth, hidden files and folders skipped), in
    name order, and those that cannot be processed (no participant, clashing names)."""
    root = input_dir.resolve()
    skip = exclude.resolve() if exclude is not None else None
    recordings: list[Recording] = []
    problems: list[Outcome] = []
    owner: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        # Prune in place: never walk into hidden folders or the output folder.
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (skip is None or Path(folder, d) != skip))
        for file in sorted(files):
            suffix = recording_suffix(file)
            if file.startswith(".") or suffix is None:
                continue
            name = PurePosixPath(Path(folder, file).relative_to(root).as_posix())
            key = str(name)[:-len(suffix)]
            recording = Recording(path=Path(folder, file), name=str(name), key=key,
                                  participant=participant_of(name, rule),
                                  device=file[:-len(suffix)])
            if not recording.participant:
                where = "it is not inside a participant folder" if rule == "parent" \
                    else "the file name starts with '_'"
                problems.append(Outcome(recording, f"{recording.path}: cannot tell the "
                                        f"participant: {where}"))
            elif key in owner:
                problems.append(Outcome(recording, f"{recording.path}: same name as "
                                        f"{owner[key]} apart from the suffix; their outputs "
                                        "would collide (rename one)"))
            else:
                owner[key] = recording.name
                recordings.append(recording)
    recordings.sort(key=lambda r: r.name)
    problems.sort(key=lambda o: o.recording.name)
    return _unique_devices(recordings), problems


def _unique_devices(recordings: list[Recording]) -> list[Recording]:
    """A participant's files of one name in different folders ("week1/p009.csv",
    "week2/p009.csv") are told apart in every output by their path: as device id the
    file name alone would make their rows look like one recording's."""
    names = Counter((r.participant, r.device) for r in recordings)
    return [replace(r, device=r.key) if names[(r.participant, r.device)] > 1 else r
            for r in recordings]


# ---------------------------------------------------------------- where things go

def windows_path(out_dir: Path, key: str) -> Path:
    return out_dir / "windows" / f"{key}.csv"


def bouts_path(out_dir: Path, key: str) -> Path:
    return out_dir / "bouts" / f"{key}.csv"


def marker_path(out_dir: Path, key: str) -> Path:
    return out_dir / STATE_DIR / "done" / f"{key}.json"


def _source_stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # gone since it was found: its task will say so
        return 0


def read_marker(out_dir: Path, recording: Recording) -> dict[str, Any] | None:
    """The marker of a finished recording; None if it is not finished, or if its input
    has changed since (then it is done again)."""
    try:
        marker: dict[str, Any] = json.loads(marker_path(out_dir, recording.key).read_text())
        stamp = _source_stamp(recording.path)
    except (OSError, ValueError):
        return None
    same = marker.get("source") == stamp and marker.get("participant") == \
        recording.participant
    outputs = windows_path(out_dir, recording.key).exists() and \
        bouts_path(out_dir, recording.key).exists()
    return marker if same and outputs else None


# ---------------------------------------------------------------- one recording (a task)

@lru_cache(maxsize=4)
def _model(location: str, path: str | None) -> Classifier:
    """Loaded once per worker process and kept: loading costs more than a short file."""
    from tracker.posture_model import PostureModel, load_default_model

    return load_default_model(location) if path is None else PostureModel.load(path)


def classify_recording(recording: Recording, out_dir: Path, settings: Settings) -> Outcome:
    """Classify one recording and write its windows, bouts and marker (runs on a worker).

    Never raises for a bad recording: the error comes back in the Outcome, so one bad
    file cannot stop a study.
    """
    marker = marker_path(out_dir, recording.key)
    # Not finished until the new marker is written, whatever happens below.
    marker.unlink(missing_ok=True)
    try:
        stamp = _source_stamp(recording.path)
        tz = timezone_named(settings.tz)
        windows = _write_windows(recording, windows_path(out_dir, recording.key), settings)
        bouts = bout_rules.bouts_from_windows(windows)
        _write_bouts(bouts, recording, bouts_path(out_dir, recording.key), tz)
        days = bout_rules.daily_summary(bouts, tz)
        record = {"source": stamp, "participant": recording.participant,
                  "device": recording.device, "key": recording.key,
                  "windows": len(windows),
                  "start_s": float(bouts["start"].min()) if len(bouts) else None,
                  "end_s": float(bouts["end"].max()) if len(bouts) else None,
                  "days": days.drop(columns=["day_start"]).to_dict("records")
                  if len(days) else []}
        marker.parent.mkdir(parents=True, exist_ok=True)
        with atomic_text_file(marker) as stream:
            json.dump(record, stream, indent=1)
        return Outcome(recording, windows=len(windows))
    except Exception as error:
        # A failed recording keeps no outputs, so none can be mistaken for its results.
        for path in (windows_path(out_dir, recording.key), bouts_path(out_dir, recording.key)):
            path.unlink(missing_ok=True)
        if isinstance(error, InputError | OutputError):  # one line naming the file
            return Outcome(recording, str(error))
        # Anything else (a bug, a file the reader did not foresee) fails this recording
        # only; the type name says where to look.
        return Outcome(recording, f"{recording.path}: {type(error).__name__}: {error}")


def _write_windows(recording: Recording, path: Path, settings: Settings) -> pd.DataFrame:
    """Stream the windows CSV exactly as `classify -o` does; return start, end, label."""
    classifier = WindowClassifier(_model(settings.location, settings.model))
    kept: list[pd.DataFrame] = []
    with atomic_text_file(path) as stream:
        stream.write(",".join(WINDOW_COLUMNS) + "\n")

        def emit(frames: list[pd.DataFrame]) -> None:
            for frame in frames:
                csv_cells(frame).to_csv(stream, index=False, header=False,
                                        lineterminator="\n")
                kept.append(frame[["start", "end", "label"]])

        for chunk in read_recording(recording.path, units=settings.units):
            # t only increases, so only the first chunk can fail this.
            if chunk.t[0] < UNIX_TIME_FROM:
                raise InputError(recording.path, f"t starts at {chunk.t[0]:g}, which is not "
                                 "Unix time; batch needs Unix seconds to count calendar days")
            emit(classifier.push(chunk.t, chunk.xyz))
        emit(classifier.finish())
    if not kept:
        return pd.DataFrame({"start": [], "end": [], "label": []})
    return pd.concat(kept, ignore_index=True)


def _write_bouts(bouts: pd.DataFrame, recording: Recording, path: Path, tz: tzinfo) -> None:
    frame = pd.DataFrame({"participant_id": recording.participant,
                          "device_id": recording.device,
                          "start_s": bouts["start"].astype(float),
                          "end_s": bouts["end"].astype(float), "label": bouts["label"],
                          "duration_s": bouts["duration_s"].astype(float),
                          "joined_sitting_s": bout_rules.joined_sitting_s(bouts)})
    write_csv([with_iso_columns(frame, tz, ["start_s", "end_s"])], path, COLUMNS["bouts"])


# ---------------------------------------------------------------- the study tables

def _read_bouts(out_dir: Path, key: str) -> pd.DataFrame:
    # Parsed by Python's float(), so the seconds come back as the very floats written
    # (pandas' fast parser can be one ulp off).
    frame = pd.read_csv(bouts_path(out_dir, key), usecols=["start_s", "end_s", "label"],
                        dtype=str)
    bouts = pd.DataFrame({"start": frame["start_s"].map(float),
                          "end": frame["end_s"].map(float), "label": frame["label"]})
    bouts["duration_s"] = bouts["end"] - bouts["start"]
    return bouts


def _participant_days(participant: str, markers: list[dict[str, Any]], out_dir: Path,
                      tz: tzinfo, notes: list[str]) -> list[dict[str, Any]]:
    """Daily rows of one participant from the markers of their finished recordings."""
    markers = sorted((m for m in markers if m["days"]), key=lambda m: (m["start_s"], m["key"]))
    per_recording = [{"participant_id": participant, "device_id": m["device"], **day}
                     for m in markers for day in m["days"]]
    dates = Counter(day["date"] for m in markers for day in m["days"])
    if all(count == 1 for count in dates.values()):
        return per_recording  # the common case: no day is shared, the rows are final
    overlaps = [(a, b) for a, b in pairwise(markers)
                if b["start_s"] < a["end_s"] - bout_rules.CONTIGUOUS_S]
    if overlaps:
        a, b = overlaps[0]
        notes.append(f"participant {participant}: recordings {a['key']} and {b['key']} "
                     "overlap in time (two bands?), so their days are kept apart: one row "
                     "per recording and day")
        return per_recording
    # Recordings one after another (e.g. a band swapped at noon): a day they share is
    # counted once, from the bouts of all of them.
    bouts = pd.concat([_read_bouts(out_dir, m["key"]) for m in markers], ignore_index=True)
    days = bout_rules.daily_summary(bouts, tz).drop(columns=["day_start"])
    devices = {date: ";".join(sorted(m["device"] for m in markers
                                     if any(d["date"] == date for d in m["days"])))
               for date in dates}
    return [{"participant_id": participant, "device_id": devices[day["date"]], **day}
            for day in days.to_dict("records")]


def study_daily_table(markers: list[dict[str, Any]], out_dir: Path,
                      tz: tzinfo) -> tuple[pd.DataFrame, list[str]]:
    """One row per participant and local calendar day, with `export daily`'s columns;
    and notes on anything a reader of the table should know."""
    by_participant: dict[str, list[dict[str, Any]]] = {}
    for marker in markers:
        by_participant.setdefault(marker["participant"], []).append(marker)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for participant in sorted(by_participant):
        rows += _participant_days(participant, by_participant[participant], out_dir, tz,
                                  notes)
    rows.sort(key=lambda r: (r["participant_id"], r["date"], r["device_id"]))
    if not rows:
        return pd.DataFrame(columns=DAILY_COLUMNS), notes
    return with_iso_columns(pd.DataFrame(rows), tz, ["day_start_s"]), notes


def _failures_table(failures: list[Outcome]) -> pd.DataFrame:
    return pd.DataFrame([{"recording": o.recording.name,
                          "participant_id": o.recording.participant,
                          "device_id": o.recording.device, "error": o.error}
                         for o in sorted(failures, key=lambda o: o.recording.name)],
                        columns=FAILURE_COLUMNS)


# ---------------------------------------------------------------- running it

@contextmanager
def _exclusive(out_dir: Path) -> Iterator[None]:
    """One run at a time per output folder: two would delete each other's temp files."""
    from filelock import FileLock, Timeout

    lock = FileLock(out_dir / STATE_DIR / "lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BatchSetupError(f"{out_dir}: another batch run is writing to this folder") \
            from None
    try:
        yield
    finally:
        lock.release()


def _check_manifest(out_dir: Path, settings: Settings) -> None:
    path = out_dir / STATE_DIR / "manifest.json"
    wanted = {"format": MANIFEST_FORMAT, "settings": asdict(settings)}
    if path.exists():
        found = json.loads(path.read_text())
        if found != wanted:
            old = found.get("settings", {})
            changed = ", ".join(f"{k} {old.get(k)!r} -> {v!r}"
                                for k, v in asdict(settings).items() if old.get(k) != v)
            raise BatchSetupError(f"{out_dir}: holds results made with other settings "
                                  f"({changed or 'older format'}); use another --output "
                                  "folder, or delete this one to start over")
        return
    with atomic_text_file(path) as stream:
        json.dump(wanted, stream, indent=1)


def _remove_partial_files(out_dir: Path) -> None:
    """Delete temp files a killed run left behind (atomic_text_file's `.*.part`)."""
    for folder in ("windows", "bouts", f"{STATE_DIR}/done"):
        for path in (out_dir / folder).rglob(".*.part"):
            path.unlink(missing_ok=True)


@contextmanager
def dask_client(scheduler: str, workers: int) -> Iterator[Any]:
    """A client of a new local cluster (`workers` processes, one thread each: the model
    code is numpy, which holds the GIL often) or of the cluster at `scheduler`."""
    from dask.distributed import Client, LocalCluster

    if scheduler == "local":
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise BatchSetupError(f"--scheduler {scheduler}: cannot connect ({error})") from None
    with client:
        yield client


def _run_tasks(pending: list[Recording], out_dir: Path, settings: Settings, scheduler: str,
               workers: int, progress: Any) -> list[Outcome]:
    from dask.distributed import as_completed

    # Biggest files first, so no long one is left running alone at the end.
    order = sorted(pending, key=lambda r: (-_size(r.path), r.name))
    outcomes: list[Outcome] = []
    with dask_client(scheduler, workers) as client:
        futures = {client.submit(classify_recording, r, out_dir, settings, pure=False): r
                   for r in order}
        for future in as_completed(futures):
            recording = futures[future]
            try:
                outcome: Outcome = future.result()
            except Exception as error:  # the worker died (out of memory?) or was lost
                outcome = Outcome(recording, f"{recording.path}: the worker processing it "
                                  f"failed ({type(error).__name__}: {error})")
            future.release()
            outcomes.append(outcome)
            progress.update(1)
            if outcome.error:
                progress.set_postfix(failed=sum(1 for o in outcomes if o.error))
    return outcomes


def run_batch(input_dir: Path, out_dir: Path, settings: Settings, *,
              scheduler: str = "local", workers: int = 1,
              show_progress: bool = True) -> BatchReport:
    """Classify every unfinished recording under `input_dir` into `out_dir`, then write
    the study tables. Raises BatchSetupError when the run cannot start; a study table
    that cannot be written is named in the report's `unwritten`."""
    from tqdm import tqdm

    if out_dir.resolve() == input_dir.resolve():
        raise BatchSetupError(f"{out_dir}: the output folder must not be the input folder "
                              "(its CSV files would be taken for recordings next time)")
    recordings, failures = discover(input_dir, settings.participant_from, exclude=out_dir)
    if not recordings and not failures:
        raise BatchSetupError(f"{input_dir}: no recordings found (files ending in "
                              f"{', '.join(RECORDING_SUFFIXES)})")
    try:
        (out_dir / STATE_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BatchSetupError(f"{out_dir}: cannot write the output folder here "
                              f"({error.strerror or error})") from None
    report = BatchReport(out_dir=out_dir, recordings=len(recordings) + len(failures))
    with _exclusive(out_dir):
        _check_manifest(out_dir, settings)
        _remove_partial_files(out_dir)
        pending = [r for r in recordings if read_marker(out_dir, r) is None]
        report.skipped = len(recordings) - len(pending)
        with tqdm(total=report.recordings, initial=report.skipped + len(failures),
                  unit="recording", desc="batch", file=sys.stderr,
                  disable=None if show_progress else True) as progress:
            outcomes = _run_tasks(pending, out_dir, settings, scheduler, workers,
                                  progress) if pending else []
        report.classified = sum(1 for o in outcomes if o.error is None)
        report.failures = sorted(failures + [o for o in outcomes if o.error],
                                 key=lambda o: o.recording.name)
        markers = [m for r in recordings if (m := read_marker(out_dir, r)) is not None]
        daily, report.notes = study_daily_table(markers, out_dir,
                                                timezone_named(settings.tz))
        report.daily_rows = len(daily)
        tables = {"daily.csv": (daily, DAILY_COLUMNS),
                  "failures.csv": (_failures_table(report.failures), FAILURE_COLUMNS)}
        for name, (table, columns) in tables.items():
            # Each is tried and a failure kept in the report, not raised: the failed
            # recordings must reach the user whatever happens to the files.
            try:
                write_csv([table], out_dir / name, columns)
            except UsageError as error:  # an OutputError, or a folder of that name
                report.unwritten[name] = error
    return report


def format_report(report: BatchReport) -> str:
    out = report.out_dir
    plural = "" if report.recordings == 1 else "s"
    lines = [f"{report.recordings} recording{plural}: {report.classified} classified, skipped "
             f"{report.skipped} (finished in an earlier run), {len(report.failures)} failed"]
    if report.failures:
        listed = "" if "failures.csv" in report.unwritten \
            else f"also listed in {out / 'failures.csv'}; "
        lines.append(f"failed ({listed}rerun to retry them):")
        lines += [f"  {o.error}" for o in report.failures]
    lines += [f"note: {note}" for note in report.notes]
    where = ", not written to" if "daily.csv" in report.unwritten else " in"
    lines.append(f"daily summary: {report.daily_rows} participant-days{where} "
                 f"{out / 'daily.csv'}; windows and bouts of each recording in "
                 f"{out / 'windows'}/ and {out / 'bouts'}/")
    return "\n".join(lines)
