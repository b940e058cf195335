"""CSV exports of the store: windows, bouts, posture transitions, daily summaries, events,
raw samples, and an activPAL-style events file for scripts written for activPAL output.

The same functions serve `sitting-tracker export` and the dashboard's download buttons.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

import pandas as pd

from tracker import bouts as bout_rules
from tracker.csvfiles import with_iso_columns, write_csv
from tracker.store import Store

EXPORT_KINDS = ("windows", "bouts", "transitions", "daily", "events", "raw", "activpal")
RAW_ROWS_PER_PIECE = 200_000


def day_range_seconds(first: date | None, last: date | None,
                      tz: tzinfo) -> tuple[float, float]:
    """[start, end) in Unix seconds covering local calendar days first..last inclusive."""
    start = datetime(first.year, first.month, first.day, tzinfo=tz).timestamp() \
        if first else float("-inf")
    if last:
        after = last + timedelta(days=1)
        end = datetime(after.year, after.month, after.day, tzinfo=tz).timestamp()
    else:
        end = float("inf")
    return start, end


def windows_table(store: Store, start: float, end: float, tz: tzinfo,
                  participant: str | None = None) -> pd.DataFrame:
    frame = store.windows(start, end, participant)
    return with_iso_columns(frame, tz, ["start_s", "end_s"])


def bouts_table(store: Store, start: float, end: float, tz: tzinfo,
                participant: str | None = None) -> pd.DataFrame:
    frame = store.bouts(start, end, participant)
    frame["duration_s"] = frame["end_s"] - frame["start_s"]
    # Joined per band: the store orders its rows by participant, device and time.
    frame["joined_sitting_s"] = float("nan")
    for _, group in frame.groupby(["participant_id", "device_id"], sort=False):
        bouts = group.rename(columns={"start_s": "start", "end_s": "end"})
        frame.loc[group.index, "joined_sitting_s"] = bout_rules.joined_sitting_s(bouts)
    return with_iso_columns(frame, tz, ["start_s", "end_s"])


def _per_device_bouts(store: Store, start: float, end: float,
                      participant: str | None) -> Iterator[tuple[str, str, pd.DataFrame]]:
    frame = store.bouts(start, end, participant)
    for (who, device), group in frame.groupby(["participant_id", "device_id"], sort=True):
        bouts = group.rename(columns={"start_s": "start", "end_s": "end"})
        bouts = bout_rules.clip_bouts(bouts, start, end)
        yield str(who), str(device), bouts


def daily_table(store: Store, start: float, end: float, tz: tzinfo,
                participant: str | None = None) -> pd.DataFrame:
    parts = []
    for who, device, bouts in _per_device_bouts(store, start, end, participant):
        days = bout_rules.daily_summary(bouts, tz)
        if not days.empty:
            days.insert(0, "device_id", device)
            days.insert(0, "participant_id", who)
            parts.append(days.drop(columns=["day_start"]))
    if not parts:
        return pd.DataFrame(columns=[c for c in COLUMNS["daily"] if c != "day_start"])
    return with_iso_columns(pd.concat(parts, ignore_index=True), tz, ["day_start_s"])


def activpal_table(store: Store, start: float, end: float, tz: tzinfo,
                   participant: str | None = None) -> pd.DataFrame:
    return _timed_rows_per_device(
        store, start, end, tz, participant,
        lambda bouts: bout_rules.activpal_events(bouts).rename(columns={"start": "time_s"}),
        ["time_s", "duration_s", "event_type"])


def transitions_table(store: Store, start: float, end: float, tz: tzinfo,
                      participant: str | None = None) -> pd.DataFrame:
    return _timed_rows_per_device(
        store, start, end, tz, participant,
        lambda bouts: bout_rules.posture_transitions(bouts).rename(columns={"time": "time_s"}),
        ["time_s", "kind", "from_label", "to_label"])


def _timed_rows_per_device(store: Store, start: float, end: float, tz: tzinfo,
                           participant: str | None,
                           rows_of: Callable[[pd.DataFrame], pd.DataFrame],
                           columns: list[str]) -> pd.DataFrame:
    """``rows_of(bouts)`` (rows with a ``time_s``) for each participant and device, stacked
    with their ids."""
    parts = []
    for who, device, bouts in _per_device_bouts(store, start, end, participant):
        rows = rows_of(bouts)
        rows.insert(0, "device_id", device)
        rows.insert(0, "participant_id", who)
        parts.append(rows)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["participant_id", "device_id", *columns])
    return with_iso_columns(frame, tz, ["time_s"])


def _told(frames: Iterator[pd.DataFrame],
          on_rows: Callable[[int], object]) -> Iterator[pd.DataFrame]:
    for frame in frames:
        yield frame
        on_rows(len(frame))


def events_table(store: Store, start: float, end: float, tz: tzinfo,
                 participant: str | None = None) -> pd.DataFrame:
    return with_iso_columns(store.events(start, end, participant), tz, ["time_s"])


def raw_tables(store: Store, start: float, end: float, tz: tzinfo,
               participant: str | None = None) -> Iterator[pd.DataFrame]:
    """Raw samples piece by piece, so a month of data never sits in memory at once."""
    for who, device, chunk in store.raw_chunks(start, end, participant):
        inside = (chunk.t >= start) & (chunk.t < end)
        frame = pd.DataFrame({"participant_id": who, "device_id": device,
                              "time_s": chunk.t[inside], "x": chunk.xyz[inside, 0],
                              "y": chunk.xyz[inside, 1], "z": chunk.xyz[inside, 2]})
        for first in range(0, len(frame), RAW_ROWS_PER_PIECE):
            yield with_iso_columns(frame.iloc[first:first + RAW_ROWS_PER_PIECE], tz, ["time_s"])


COLUMNS = {
    "windows": ["participant_id", "device_id", "start", "start_s", "end", "end_s", "label",
                "confidence", "p_sitting", "p_standing", "p_walking", "p_lying", "location"],
    "daily": ["participant_id", "device_id", "date", "day_start", "day_start_s",
              *bout_rules.SUMMARY_COLUMNS],
    # joined_sitting_s: a sitting bout's length as the daily counts take it, across short
    # gaps in the data (tracker.bouts.sitting_bouts); empty on other rows.
    "bouts": ["participant_id", "device_id", "start", "start_s", "end", "end_s", "label",
              "duration_s", "joined_sitting_s"],
    "transitions": ["participant_id", "device_id", "time", "time_s", "kind", "from_label",
                    "to_label"],
    "events": ["participant_id", "device_id", "time", "time_s", "kind", "detail"],
    "raw": ["participant_id", "device_id", "time", "time_s", "x", "y", "z"],
    "activpal": ["participant_id", "device_id", "time", "time_s", "duration_s", "event_type"],
}


def export(store: Store, kind: str, output: str | Path, tz: tzinfo,
           first: date | None = None, last: date | None = None,
           participant: str | None = None,
           on_rows: Callable[[int], object] | None = None) -> int:
    """Write one export to `output`; returns the number of rows written.  ``on_rows`` is
    told the rows of each piece of a raw export as it is written (a week of samples takes
    minutes)."""
    start, end = day_range_seconds(first, last, tz)
    if kind == "raw":
        pieces = raw_tables(store, start, end, tz, participant)
        return write_csv(pieces if on_rows is None else _told(pieces, on_rows), output,
                         COLUMNS["raw"])
    builders = {"windows": windows_table, "bouts": bouts_table,
                "transitions": transitions_table, "daily": daily_table,
                "events": events_table, "activpal": activpal_table}
    frame = builders[kind](store, start, end, tz, participant)
    return write_csv([frame], output, COLUMNS[kind])
