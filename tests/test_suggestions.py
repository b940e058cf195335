"""Suggestions follow their triggers."""

from __future__ import annotations

from tracker.suggestions import SUGGESTIONS, DayContext, next_suggestion


def context(**changes: object) -> DayContext:
    values: dict[str, object] = {"streak_min": 0.0, "sitting_today_min": 0.0,
                                 "local_hour": 10.0, "lying_rest_done_today": False,
                                 "location": "thigh"}
    values.update(changes)
    return DayContext(**values)  # type: ignore[arg-type]


def test_long_streak_means_stand_up() -> None:
    assert next_suggestion(context(streak_min=45, sitting_today_min=300)).key == \
        "stand-and-move"


def test_afternoon_after_long_sitting_suggests_constructive_rest_until_done() -> None:
    afternoon = context(streak_min=5, sitting_today_min=200, local_hour=14)
    assert next_suggestion(afternoon).key == "constructive-rest"
    done = context(streak_min=5, sitting_today_min=200, local_hour=14,
                   lying_rest_done_today=True)
    assert next_suggestion(done).key == "psoas-wall-stretch"


def test_early_short_sitting_gets_seat_advice() -> None:
    assert next_suggestion(context(streak_min=10, sitting_today_min=40)).key == "sit-well"


def test_every_suggestion_has_instructions_and_duration() -> None:
    keys = [s.key for s in SUGGESTIONS]
    assert len(keys) == len(set(keys))
    for suggestion in SUGGESTIONS:
        assert len(suggestion.instructions) > 40 and suggestion.duration_min > 0
