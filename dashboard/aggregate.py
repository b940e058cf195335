"""Pure aggregation for the pages: timelines, sitting streaks, breaks, heatmaps.

Everything here takes and returns plain DataFrames (times in Unix seconds), so it can
be tested without Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import numpy as np
import pandas as pd

from tracker.bouts import CONTIGUOUS_S, bouts_from_windows
from tracker.coach import Coach, CoachEvent
from tracker.config import CoachSettings
from tracker.labels import SITTING, WALKING

NO_DATA = "no data"
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# A walk this long counts as the "walk outside" of the release-stress suggestion.
WALK_MIN = 10.0
PAUSE_KINDS = ("snooze", "meeting", "meeting_end")


def day_bounds(day: date, tz: tzinfo) -> tuple[float, float]:
    """[local midnight, next local midnight) in Unix seconds (23 or 25 h on DST days)."""
    after = day + timedelta(days=1)
    return (datetime(day.year, day.month, day.day, tzinfo=tz).timestamp(),
            datetime(after.year, after.month, after.day, tzinfo=tz).timestamp())


def timeline_segments(windows: pd.DataFrame, start: float, end: float) -> pd.DataFrame:
    """The day as touching segments (start, end, label, minutes): the windows' bouts,
    with the time between them, and before the first and after the last, as 'no data'."""
    frame = windows.rename(columns={"start_s": "start", "end_s": "end"})
    bouts = bouts_from_windows(frame[["start", "end", "label"]])[["start", "end", "label"]]
    previous_end = np.insert(bouts["end"].to_numpy(dtype=float), 0, start)
    next_start = np.append(bouts["start"].to_numpy(dtype=float), end)
    missing = next_start - previous_end > CONTIGUOUS_S
    gaps = pd.DataFrame({"start": previous_end[missing], "end": next_start[missing],
                         "label": NO_DATA})
    segments = pd.concat([bouts, gaps], ignore_index=True).sort_values("start")
    segments["start"] = segments["start"].clip(lower=start)
    segments["end"] = segments["end"].clip(upper=end)
    segments = segments[segments["end"] > segments["start"]].reset_index(drop=True)
    segments["minutes"] = (segments["end"] - segments["start"]) / 60.0
    return segments


@dataclass(frozen=True)
class DayReplay:
    """What the coach makes of a day's windows."""

    streaks: pd.DataFrame  # start, end, minutes, ended_by ("" while still open)
    events: list[CoachEvent]
    coach: Coach  # its state after the last window (the streak still open, if any)

    def count(self, kind: str) -> int:
        return sum(1 for event in self.events if event.kind == kind)

    def breaks_taken(self) -> int:
        """Streaks ended by a verified break: upright, or a lying rest."""
        return int(self.streaks["ended_by"].isin(["break", "rest"]).sum())

    def breaks_owed(self, threshold_min: float) -> int:
        """Streaks that ran past the threshold: each owed a break when it got there."""
        return int((self.streaks["minutes"] >= threshold_min).sum())


def replay_day(windows: pd.DataFrame, settings: CoachSettings, tz: tzinfo) -> DayReplay:
    """Feed the windows (start_s, end_s, label) to a coach and keep each sitting streak
    with its start, end and what ended it."""
    coach = Coach(settings, tz)
    events: list[CoachEvent] = []
    rows: list[tuple[float, float, str]] = []
    streak_start: float | None = None
    for start, end, label in zip(windows["start_s"].to_numpy(dtype=float),
                                 windows["end_s"].to_numpy(dtype=float),
                                 windows["label"].to_numpy(dtype=object), strict=True):
        fed = coach.feed(start, end, str(label))
        for event in fed:
            # A streak ends inside feed() only before a new one can start in it.
            if event.kind == "streak_end" and streak_start is not None:
                rows.append((streak_start, event.time, event.detail.split(";")[0]))
        events += fed
        streak_start = coach.streak.start if coach.streak is not None else None
    if coach.streak is not None and coach.last_end is not None:
        rows.append((coach.streak.start, coach.last_end, ""))
    streaks = pd.DataFrame(rows, columns=["start", "end", "ended_by"])
    streaks.insert(2, "minutes", (streaks["end"] - streaks["start"]) / 60.0)
    return DayReplay(streaks=streaks, events=events, coach=coach)


def pause_until(detail: str) -> float | None:
    """The end of a snooze or meeting from its event detail `until=<unix seconds>`."""
    try:
        return float(str(detail).removeprefix("until="))
    except ValueError:
        return None


def active_pause(events: pd.DataFrame, now: float) -> tuple[str, float] | None:
    """(kind, until) of the snooze or meeting in force at `now`, read the way the
    collector reads them: a `meeting_end` ends every meeting before it."""
    pauses: list[tuple[str, float, float]] = []
    chosen = events[events["kind"].isin(PAUSE_KINDS) & (events["time_s"] <= now)]
    for row in chosen.itertuples(index=False):
        if row.kind == "meeting_end":
            pauses = [p if p[0] != "meeting" else (p[0], p[1], min(p[2], float(row.time_s)))
                      for p in pauses]
            continue
        until = pause_until(str(row.detail))
        if until is not None:
            pauses.append((str(row.kind), float(row.time_s), until))
    current = [(kind, until) for kind, start, until in pauses if start <= now < until]
    return max(current, key=lambda pause: pause[1]) if current else None


def walks(bouts: pd.DataFrame, minimum_min: float = WALK_MIN) -> int:
    """Walking bouts (start, end, label) of at least `minimum_min` minutes."""
    walking = bouts[bouts["label"] == WALKING]
    return int(((walking["end"] - walking["start"]) / 60.0 >= minimum_min).sum())


def sitting_by_weekday_hour(bouts: pd.DataFrame, tz: tzinfo,
                            step_s: float = 10.0) -> pd.DataFrame:
    """Average minutes of sitting in each local weekday x hour, per day with data
    (columns weekday, hour, minutes; 7 x 24 rows). Bouts are sampled every `step_s`
    seconds, each sample weighing the time until the next (exact at bout ends)."""
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])
    if bouts.empty:
        return _named_weekdays(pd.Series(0.0, index=grid, name="minutes").reset_index())
    start = bouts["start"].to_numpy(dtype=float)
    end = bouts["end"].to_numpy(dtype=float)
    days = pd.to_datetime(np.concatenate((start, end - 1e-6)), unit="s", utc=True) \
        .tz_convert(tz)
    day_index = pd.DataFrame({"date": days.date, "weekday": days.day_of_week}).drop_duplicates()
    days_per_weekday = day_index.groupby("weekday").size()
    sitting = bouts["label"].to_numpy(dtype=object) == SITTING
    start, end = start[sitting], end[sitting]
    steps = np.ceil((end - start) / step_s).astype(np.int64)
    first = np.repeat(start, steps)
    offset = np.arange(steps.sum()) - np.repeat(np.cumsum(steps) - steps, steps)
    sample = first + offset * step_s
    weight = np.minimum(step_s, np.repeat(end, steps) - sample)
    local = pd.to_datetime(sample, unit="s", utc=True).tz_convert(tz)
    minutes = pd.Series(weight / 60.0).groupby([local.day_of_week, local.hour]).sum()
    minutes.index.names = ["weekday", "hour"]
    per_day = minutes.div(days_per_weekday, level="weekday")
    table = per_day.reindex(grid, fill_value=0.0).fillna(0.0).rename("minutes").reset_index()
    return _named_weekdays(table)


def _named_weekdays(table: pd.DataFrame) -> pd.DataFrame:
    table["day"] = [WEEKDAY_NAMES[i] for i in table["weekday"]]
    return table
