"""The coach: nudges at the threshold, reminders, verified breaks, pauses, gaps."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tracker.coach import Coach, CoachEvent, Pause, replay
from tracker.config import CoachSettings

TZ = ZoneInfo("Europe/Berlin")
MONDAY_9 = datetime(2024, 6, 3, 9, 0, tzinfo=TZ).timestamp()
WINDOW = 5.0


def day(*runs: tuple[str, float], start: float = MONDAY_9) -> list[tuple[float, float, str]]:
    """5 s windows from (label, minutes) runs; 'gap' leaves a hole in the data."""
    windows, t = [], start
    for label, minutes in runs:
        n = round(minutes * 60 / WINDOW)
        if label != "gap":
            windows += [(t + i * WINDOW, t + (i + 1) * WINDOW, label) for i in range(n)]
        t += n * WINDOW
    return windows


def minutes_of(events: list[CoachEvent], kind: str) -> list[float]:
    return [round((e.time - MONDAY_9) / 60, 2) for e in events if e.kind == kind]


def test_nudge_at_threshold_then_reminders_until_a_verified_break() -> None:
    events = replay(day(("sitting", 52), ("standing", 1), ("sitting", 10), ("walking", 3),
                        ("sitting", 5)), CoachSettings(), TZ)
    assert minutes_of(events, "nudge") == [30.0]
    assert minutes_of(events, "reminder") == [40.0, 50.0, 60.0]
    # The 1-minute stand is not a break; the 3-minute walk is, from its start.
    assert minutes_of(events, "break") == [63.0]
    outcomes = [e.detail.split()[0] for e in events if e.kind == "outcome"]
    assert outcomes == ["ignored", "ignored", "ignored", "taken"]


def test_break_length_is_a_setting() -> None:
    runs = day(("sitting", 35), ("standing", 3), ("sitting", 30))
    assert minutes_of(replay(runs, CoachSettings(), TZ), "break") == [35.0]
    longer = replay(runs, CoachSettings(break_min=5), TZ)
    assert minutes_of(longer, "break") == []
    assert minutes_of(longer, "reminder")[-1] == pytest.approx(60.0)


def test_short_gaps_keep_the_streak_long_gaps_end_it_and_are_never_sitting() -> None:
    short = replay(day(("sitting", 20), ("gap", 1.5), ("sitting", 10)), CoachSettings(), TZ)
    assert minutes_of(short, "nudge") == [30.0]
    long = replay(day(("sitting", 20), ("gap", 10), ("sitting", 25)), CoachSettings(), TZ)
    assert minutes_of(long, "nudge") == []
    assert [e.detail.split(";")[0] for e in long if e.kind == "streak_end"] == ["gap"]
    unknown = replay(day(("sitting", 20), ("unknown", 10), ("sitting", 25)), CoachSettings(), TZ)
    assert minutes_of(unknown, "nudge") == []


def test_a_break_owed_during_a_meeting_is_nudged_when_it_ends() -> None:
    meeting = Pause(MONDAY_9 + 25 * 60, MONDAY_9 + 47 * 60, "meeting")
    events = replay(day(("sitting", 55)), CoachSettings(), TZ, [meeting])
    assert minutes_of(events, "suppressed") == [30.0]
    assert minutes_of(events, "nudge") == [47.0]


def test_no_nudges_outside_working_hours_or_in_quiet_hours() -> None:
    evening = datetime(2024, 6, 3, 18, 0, tzinfo=TZ).timestamp()
    events = replay(day(("sitting", 60), start=evening), CoachSettings(), TZ)
    assert [e.kind for e in events if e.kind in ("nudge", "reminder")] == []
    assert [e.detail for e in events if e.kind == "suppressed"] == ["outside working hours"]
    saturday = datetime(2024, 6, 8, 10, 0, tzinfo=TZ).timestamp()
    weekend = replay(day(("sitting", 60), start=saturday), CoachSettings(), TZ)
    assert [e.detail for e in weekend if e.kind == "suppressed"] == ["not a working day"]


def test_snooze_outcome_and_lying_rest() -> None:
    coach = Coach(CoachSettings(), TZ)
    events = coach.feed_all(day(("sitting", 31)))
    assert minutes_of(events, "nudge") == [30.0]
    assert [e.detail.split()[0] for e in coach.snoozed(MONDAY_9 + 31 * 60)] == ["snoozed"]
    rest = coach.feed_all(day(("lying", 12), start=MONDAY_9 + 31 * 60))
    assert [e.kind for e in rest] == ["streak_end", "rest"]


def test_no_reminder_while_already_standing_up() -> None:
    events = replay(day(("sitting", 49), ("standing", 1.5), ("sitting", 5)), CoachSettings(), TZ)
    assert minutes_of(events, "reminder") == [40.0, 50.58]  # the first window sitting again
