"""Stores filled with real office days, for the dashboard's tests and benchmark.

The office-day scenario (real thigh recordings, tracker.scenarios) goes once through
the real pipeline; each stored day is that day placed at its own start time, so every
window, bout and coach event is what the tracker makes of real motion.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from tracker.bouts import bouts_from_windows
from tracker.coach import replay
from tracker.config import CoachSettings
from tracker.labels import UNKNOWN
from tracker.pipeline import classify_chunks
from tracker.store import Store

RATE_HZ = 25.0
SCENARIO = "office-day"
LOCATION = "thigh"
MODEL_ATTEMPTS = 10
MODEL_RETRY_S = 30.0


@dataclass(frozen=True)
class OfficeDay:
    samples: np.ndarray  # (n, 3) g at RATE_HZ, from the start of the day
    windows: pd.DataFrame  # start, end (s from the start of the day), label, ...


def _model() -> object:
    """The shipped thigh model; retried while a retraining run rewrites the file."""
    from tracker.posture_model import load_default_model

    for attempt in range(MODEL_ATTEMPTS):
        try:
            return load_default_model(LOCATION)
        except (KeyError, ValueError, OSError, EOFError):
            if attempt == MODEL_ATTEMPTS - 1:
                raise
            time.sleep(MODEL_RETRY_S)
    raise AssertionError("unreachable")


@lru_cache(maxsize=1)
def office_day() -> OfficeDay:
    from tracker.scenarios import scenario_samples

    samples, _ = scenario_samples(SCENARIO, RATE_HZ)
    t = np.arange(len(samples)) / RATE_HZ
    windows = pd.concat(list(classify_chunks([(t, samples)], _model())),  # type: ignore[arg-type]
                        ignore_index=True)
    return OfficeDay(samples=samples, windows=windows)


@dataclass(frozen=True)
class StoredDay:
    day: date
    start_hour: float  # local hour of the first sample
    cut_minutes: tuple[float, float] | None = None  # (from, to) minutes with no data
    with_raw: bool = False


def day_start(day: StoredDay, tz: tzinfo) -> float:
    midnight = datetime(day.day.year, day.day.month, day.day.day, tzinfo=tz).timestamp()
    return midnight + day.start_hour * 3600


def fill_store(path: Path, days: Iterable[StoredDay], tz: tzinfo,
               coach: CoachSettings | None = None) -> Store:
    """Write every day's raw samples (when asked), windows, bouts and replayed coach
    events; returns the open store."""
    office = office_day()
    coach = coach or CoachSettings()
    store = Store.open(path)
    with store.transaction():
        for stored in days:
            offset = day_start(stored, tz)
            windows = office.windows.assign(start=office.windows["start"] + offset,
                                            end=office.windows["end"] + offset)
            t = offset + np.arange(len(office.samples)) / RATE_HZ
            keep = np.ones(len(t), dtype=bool)
            if stored.cut_minutes is not None:
                windows, keep = _cut(windows, t, *(offset + m * 60 for m in stored.cut_minutes))
            if stored.with_raw:
                store.add_raw(t[keep], office.samples[keep])
            store.add_windows(windows, location=LOCATION)
            bouts = bouts_from_windows(windows.reset_index(drop=True))
            store.replace_bouts(bouts, offset, float(windows["end"].max()))
            for event in replay(list(zip(windows["start"], windows["end"], windows["label"],
                                         strict=True)), coach, tz):
                store.add_event(event.time, event.kind, event.detail)
    return store


def _cut(windows: pd.DataFrame, t: np.ndarray, first: float,
         last: float) -> tuple[pd.DataFrame, np.ndarray]:
    """No samples in [first, last): the windows there become one `unknown` row, as the
    pipeline marks a gap in the samples."""
    before = windows[windows["end"] <= first]
    after = windows[windows["start"] >= last]
    gap = pd.DataFrame({"start": [before["end"].max()], "end": [after["start"].min()],
                        "label": [UNKNOWN]})
    keep = (t < float(gap["start"].iloc[0])) | (t >= float(gap["end"].iloc[0]))
    return pd.concat([before, gap, after], ignore_index=True), keep
