"""One local day as the Today and Suggestions pages show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

import pandas as pd

from dashboard.aggregate import (
    NO_DATA,
    DayReplay,
    day_bounds,
    replay_day,
    timeline_segments,
)
from dashboard.context import DashboardContext
from dashboard.data import (
    Source,
    collector_status,
    day_events,
    day_windows,
    local_date,
    rows_version,
    timeline_now,
)
from tracker.bouts import summarise
from tracker.labels import SITTING
from tracker.suggestions import DayContext, Suggestion, next_suggestion

# A streak counts as going on when the last window ended less than this before now.
CURRENT_WITHIN_S = 120.0


@dataclass(frozen=True)
class DayView:
    day: date
    tz: tzinfo
    start: float
    end: float
    now: float
    is_today: bool
    status: dict[str, Any] | None  # the running collector's status, None when not running
    windows: pd.DataFrame
    segments: pd.DataFrame
    totals: dict[str, float]
    replay: DayReplay
    events: pd.DataFrame

    @property
    def live(self) -> bool:
        return self.is_today and self.status is not None

    @property
    def last_data_s(self) -> float | None:
        return float(self.windows["end_s"].iloc[-1]) if len(self.windows) else None

    @property
    def current_posture(self) -> str:
        if self.status and self.status.get("posture"):
            return str(self.status["posture"])
        # Data later than now (the demo's replayed day, after its collector stopped, runs
        # hours ahead of the wall clock) is not a current posture: its streak would be
        # negative.
        if self.is_today and self.last_data_s and \
                0 <= self.now - self.last_data_s < CURRENT_WITHIN_S:
            return str(self.windows["label"].iloc[-1])
        return ""

    @property
    def streak_min(self) -> float:
        """The sitting streak going on now (0 when none, or the day is not today)."""
        if self.status is not None and self.is_today:
            return float(self.status.get("streak_min") or 0.0)
        if self.current_posture:
            return self.replay.coach.streak_minutes(self.now)
        return 0.0

    def suggestion_context(self, location: str) -> DayContext:
        local = datetime.fromtimestamp(self.now, self.tz)
        return DayContext(
            streak_min=self.streak_min, sitting_today_min=self.totals[f"{SITTING}_min"],
            local_hour=local.hour + local.minute / 60,
            lying_rest_done_today=self.replay.count("rest") > 0, location=location)

    def suggestion(self, location: str) -> Suggestion:
        return next_suggestion(self.suggestion_context(location))


def today_for(context: DashboardContext) -> tuple[date, dict[str, Any] | None, float]:
    """(today on the band's timeline, collector status, now)."""
    assert context.shared is not None
    status = collector_status(context.shared)
    now = timeline_now(status)
    return local_date(now, context.tz), status, now


def load_day(context: DashboardContext, source: Source, day: date) -> DayView:
    shared = context.shared
    assert shared is not None
    today, status, now = today_for(context)
    start, end = day_bounds(day, context.tz)
    version = rows_version(shared, "windows", start, end, source.participant)
    windows = day_windows(shared, source, start, end, version)
    segments = timeline_segments(windows, start, end)
    recorded = segments[segments["label"] != NO_DATA]
    return DayView(
        day=day, tz=context.tz, start=start, end=end, now=now if day == today else end,
        is_today=day == today, status=status if day == today else None, windows=windows,
        segments=segments,
        totals=summarise(recorded.assign(duration_s=recorded["end"] - recorded["start"])),
        replay=replay_day(windows, context.settings.coach, context.tz),
        events=day_events(shared, source, start, end))
