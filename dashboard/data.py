"""Store queries for the pages, cached on the version of the rows they read.

A cache entry is keyed on Store.rows_version of the rows in its time range (row count,
newest row version, sum of times): every insert, replacement or deletion changes it,
while the collector writing today leaves the key of past days alone. So 90 days of
history are summarised once and today is recomputed as it grows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.context import SharedStore
from tracker import bouts as bout_rules
from tracker.commands.status import read_status
from tracker.store import Store
from tracker.timezones import STORED_ZONE_KEY

# The collector writes its status every second; older than this, it is not running.
STATUS_FRESH_S = 15.0
TIME_COLUMN = {"windows": "start_s", "bouts": "start_s", "events": "time_s"}
# The `version` argument of the cached functions below is only there as cache key.
RowsVersion = tuple[int, int, float]


def rows_version(shared: SharedStore, table: str, start: float, end: float,
                 participant: str) -> RowsVersion:
    return shared.read(lambda s: s.rows_version(table, TIME_COLUMN[table], start, end,
                                                participant))


@dataclass(frozen=True)
class Source:
    """Whose data the dashboard shows: one participant, one device (two bands worn at
    once would count the same minutes twice)."""

    db: str  # the store's path or URL (without password): part of every cache key
    participant: str
    device: str
    first_s: float
    last_s: float


def pick_source(shared: SharedStore, participant: str) -> Source | None:
    """The configured participant's most recently recording device; another
    participant's when the configured one has no data (e.g. a store made by hand)."""
    rows = shared.read(lambda s: s.query_rows(
        "SELECT participant_id, device_id, min(start_s), max(end_s) FROM windows "
        "GROUP BY participant_id, device_id ORDER BY participant_id = ? DESC, max(end_s) DESC",
        (participant,)))
    if not rows:
        return None
    who, device, first, last = rows[0]
    return Source(shared.store.location, str(who), str(device), float(first), float(last))


def stored_zone(shared: SharedStore, source: Source) -> str | None:
    """The zone the source's data was classified or collected in, as the store keeps it
    for `export` to count days in (None when it keeps none)."""
    return shared.read(lambda s: s.meta(STORED_ZONE_KEY, participant=source.participant,
                                        device=source.device))


def participants(shared: SharedStore) -> list[str]:
    """Everyone with windows in the store (a study's store holds many)."""
    rows = shared.read(lambda s: s.query_rows(
        "SELECT DISTINCT participant_id FROM windows ORDER BY participant_id", ()))
    return [str(row[0]) for row in rows]


def _only_device(frame: pd.DataFrame, device: str) -> pd.DataFrame:
    return frame[frame["device_id"] == device].reset_index(drop=True)


@st.cache_data(max_entries=16, show_spinner=False)
def day_windows(_shared: SharedStore, source: Source, start: float, end: float,
                version: RowsVersion) -> pd.DataFrame:
    frame = _shared.read(lambda s: s.windows(start, end, source.participant))
    return _only_device(frame, source.device)[["start_s", "end_s", "label", "confidence"]]


def day_events(shared: SharedStore, source: Source, start: float, end: float) -> pd.DataFrame:
    """Every event of the participant (any device: snoozes come from the dashboard)."""
    return shared.read(lambda s: s.events(start, end, source.participant))


def _bouts(store: Store, source: Source, start: float, end: float) -> pd.DataFrame:
    frame = _only_device(store.bouts(start, end, source.participant), source.device)
    bouts = frame.rename(columns={"start_s": "start", "end_s": "end"})[
        ["start", "end", "label"]]
    return bouts.assign(duration_s=bouts["end"] - bouts["start"])


@st.cache_data(max_entries=8, show_spinner=False)
def period_bouts(_shared: SharedStore, source: Source, start: float, end: float,
                 version: RowsVersion) -> pd.DataFrame:
    return _shared.read(lambda s: _bouts(s, source, start, end))


@st.cache_data(max_entries=8, show_spinner=False)
def daily_summaries(_shared: SharedStore, source: Source, start: float, end: float,
                    _tz: tzinfo, tz_name: str, version: RowsVersion) -> pd.DataFrame:
    """One row per local day (tracker.bouts.daily_summary: the numbers of `export daily`)."""
    bouts = bout_rules.clip_bouts(period_bouts(_shared, source, start, end, version),
                                  start, end)
    return bout_rules.daily_summary(bouts, _tz)


def history_summaries(shared: SharedStore, source: Source, first_day_start: float,
                      today_start: float, tomorrow_start: float, tz: tzinfo) -> pd.DataFrame:
    """Daily rows from `first_day_start` to the end of today: the past days cached on
    their own version, so the collector writing today does not recompute them."""
    parts = []
    for start, end in ((first_day_start, today_start), (today_start, tomorrow_start)):
        version = rows_version(shared, "bouts", start, end, source.participant)
        if version[0]:
            parts.append(daily_summaries(shared, source, start, end, tz, str(tz), version))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if not frame.empty:
        frame["date"] = pd.to_datetime(frame["date"])
    return frame


def collector_status(shared: SharedStore, now: float | None = None) -> dict[str, Any] | None:
    """The running collector's status, or None when it is not running (stale status)."""
    status = shared.read(read_status)
    if status is None:
        return None
    now = time.time() if now is None else now
    fresh = isinstance(status, dict) and now - float(status.get("updated") or 0) < \
        STATUS_FRESH_S and bool(status.get("connected"))
    return status if fresh else None


def timeline_now(status: dict[str, Any] | None) -> float:
    """Now on the band's timeline: the collector's last sample while it runs (a replayed
    day runs on its own clock), else the wall clock."""
    if status and status.get("last_sample"):
        return float(status["last_sample"])
    return time.time()


def local_date(seconds: float, tz: tzinfo) -> date:
    return datetime.fromtimestamp(seconds, tz).date()


def days_with_data(source: Source, tz: tzinfo) -> tuple[date, date]:
    return local_date(source.first_s, tz), local_date(np.nextafter(source.last_s, 0), tz)
