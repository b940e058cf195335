"""When to nudge, and what counts as a break: a state machine fed with labelled windows.

The same `Coach` runs live in the collector and over a stored day (the dashboard, the
tests), so a replayed day gives the nudges the live run gave.

- A *sitting streak* starts with a sitting window and lasts until a verified break: an
  upright (standing or walking) run of at least `break_min`, a lying rest of at least
  `break_min`, or a data gap longer than `streak_gap_tolerance_min`. Shorter upright
  moments and shorter gaps do not end it: the streak's length is the time since it began.
- When the streak reaches `sitting_threshold_min`, a nudge fires; then a reminder every
  `remind_every_min` until the streak ends, but never while the person is already up.
  Outside working days/hours, in quiet hours, while snoozed or in a meeting, a due nudge
  is *suppressed* (recorded once per pause) and fires as soon as the pause is over, if
  the break is still owed.
- Every nudge gets an outcome: `taken` (a verified break followed it), `snoozed`,
  `ignored` (a reminder replaced it, or the streak ended without a break, e.g. the band
  was taken off).
- Time without data is never sitting: no nudge fires for time the band was not connected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from tracker.config import WEEKDAYS, CoachSettings
from tracker.labels import LYING, NOT_WORN, SITTING, UPRIGHT

CONSTRUCTIVE_REST_MIN = 10.0


@dataclass(frozen=True)
class Pause:
    """A time span with no nudges: snooze, meeting (manual or from the calendar)."""

    start: float
    end: float
    reason: str  # "snooze", "meeting", "calendar"


@dataclass(frozen=True)
class CoachEvent:
    time: float
    kind: str  # nudge, reminder, suppressed, outcome, break, rest, streak_end
    detail: str = ""


@dataclass
class _Streak:
    start: float
    last_sitting_end: float
    upright_since: float | None = None
    lying_since: float | None = None
    nudges: int = 0
    last_nudge: float | None = None
    open_nudge: float | None = None  # time of the nudge still waiting for its outcome
    suppressed_reason: str | None = None


@dataclass
class Coach:
    """Feed windows in time order with `feed`; it returns the events they cause."""

    settings: CoachSettings
    tz: tzinfo
    pauses: list[Pause] = field(default_factory=list)
    streak: _Streak | None = None
    lying_since: float | None = None
    rest_credited: bool = False
    last_end: float | None = None

    def feed(self, start: float, end: float, label: str) -> list[CoachEvent]:
        events: list[CoachEvent] = []
        if self.last_end is not None and start - self.last_end > 1e-6:
            events += self._gap(self.last_end, start)
        self.last_end = end
        if label in NOT_WORN:
            events += self._gap(start, end)
        elif label == SITTING:
            events += self._sitting(start, end)
        elif label in UPRIGHT:
            events += self._upright(start, end)
        elif label == LYING:
            events += self._lying(start, end)
        if label != LYING:
            self.lying_since, self.rest_credited = None, False
        if self.streak is not None:
            events += self._maybe_nudge(end)
        return events

    def feed_all(self, windows: Iterable[tuple[float, float, str]]) -> list[CoachEvent]:
        events: list[CoachEvent] = []
        for start, end, label in windows:
            events += self.feed(start, end, label)
        return events

    def streak_minutes(self, now: float) -> float:
        return (now - self.streak.start) / 60.0 if self.streak else 0.0

    # --- what each kind of window does to the streak ---------------------------------

    def _gap(self, start: float, end: float) -> list[CoachEvent]:
        streak = self.streak
        if streak is None:
            return []
        missing_min = (end - streak.last_sitting_end) / 60.0
        if missing_min > self.settings.streak_gap_tolerance_min:
            return self._end_streak(start, "gap")
        return []

    def _sitting(self, start: float, end: float) -> list[CoachEvent]:
        if self.streak is None:
            self.streak = _Streak(start=start, last_sitting_end=end)
        else:
            self.streak.last_sitting_end = end
            self.streak.upright_since = self.streak.lying_since = None
        return []

    def _upright(self, start: float, end: float) -> list[CoachEvent]:
        streak = self.streak
        if streak is None:
            return []
        if streak.upright_since is None:
            streak.upright_since = start
        streak.lying_since = None
        if (end - streak.upright_since) / 60.0 >= self.settings.break_min:
            return [CoachEvent(streak.upright_since, "break",
                               f"{self.streak_minutes(streak.upright_since):.0f} min streak"),
                    *self._end_streak(streak.upright_since, "break")]
        return []

    def _lying(self, start: float, end: float) -> list[CoachEvent]:
        events: list[CoachEvent] = []
        if self.lying_since is None:
            self.lying_since = start
        if not self.rest_credited and (end - self.lying_since) / 60.0 >= CONSTRUCTIVE_REST_MIN:
            self.rest_credited = True
            events.append(CoachEvent(end, "rest", "lying rest of 10+ min"))
        streak = self.streak
        if streak is not None:
            if streak.lying_since is None:
                streak.lying_since = start
            streak.upright_since = None
            if (end - streak.lying_since) / 60.0 >= self.settings.break_min:
                events += self._end_streak(streak.lying_since, "rest")
        return events

    def _end_streak(self, when: float, why: str) -> list[CoachEvent]:
        streak = self.streak
        assert streak is not None
        self.streak = None
        events = [CoachEvent(when, "streak_end", f"{why}; "
                             f"{(when - streak.start) / 60.0:.0f} min")]
        if streak.open_nudge is not None:
            outcome = "taken" if why in ("break", "rest") else "ignored"
            events.append(CoachEvent(when, "outcome", f"{outcome} {streak.open_nudge:.0f}"))
        return events

    # --- nudges ------------------------------------------------------------------------

    def _maybe_nudge(self, now: float) -> list[CoachEvent]:
        streak = self.streak
        assert streak is not None
        settings = self.settings
        if (now - streak.start) / 60.0 < settings.sitting_threshold_min:
            return []
        if streak.upright_since is not None or streak.lying_since is not None:
            return []  # already up (or lying down): a nudge now would only interrupt
        if streak.last_nudge is not None and \
                (now - streak.last_nudge) / 60.0 < settings.remind_every_min - 1e-9:
            return []
        reason = self.paused_because(now)
        if reason:
            if streak.suppressed_reason == reason:
                return []
            streak.suppressed_reason = reason
            return [CoachEvent(now, "suppressed", reason)]
        streak.suppressed_reason = None
        events = []
        if streak.open_nudge is not None:
            events.append(CoachEvent(now, "outcome", f"ignored {streak.open_nudge:.0f}"))
        kind = "nudge" if streak.nudges == 0 else "reminder"
        streak.nudges += 1
        streak.last_nudge = streak.open_nudge = now
        events.append(CoachEvent(now, kind, f"{self.streak_minutes(now):.0f} min sitting"))
        return events

    def snoozed(self, now: float) -> list[CoachEvent]:
        """The user snoozed: the open nudge's outcome is `snoozed`."""
        streak = self.streak
        if streak is None or streak.open_nudge is None:
            return []
        nudge, streak.open_nudge = streak.open_nudge, None
        return [CoachEvent(now, "outcome", f"snoozed {nudge:.0f}")]

    def paused_because(self, now: float) -> str | None:
        """Why no nudge may fire at `now`, or None."""
        settings = self.settings
        for pause in self.pauses:
            if pause.start <= now < pause.end:
                return pause.reason
        local = datetime.fromtimestamp(now, self.tz)
        quiet = settings.quiet_range
        if quiet is not None and quiet.contains(local.time()):
            return "quiet hours"
        if WEEKDAYS[local.weekday()] not in settings.working_days:
            return "not a working day"
        if not settings.working_range.contains(local.time()):
            return "outside working hours"
        return None


def replay(windows: Sequence[tuple[float, float, str]], settings: CoachSettings, tz: tzinfo,
           pauses: Sequence[Pause] = ()) -> list[CoachEvent]:
    """The events a coach gives over a stored stretch of windows."""
    return Coach(settings, tz, list(pauses)).feed_all(windows)
