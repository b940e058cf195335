"""Scenarios: real motion laid out on the schedule they describe."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.scenarios import SCENARIOS, resolve_scenario, scenario_samples


def test_office_day_is_eight_hours_with_truth_matching_the_samples() -> None:
    samples, truth = scenario_samples("office-day", 25.0)
    assert SCENARIOS["office-day"].minutes == 480
    assert truth[0][0] == 0 and truth[-1][1] == pytest.approx(8 * 3600)
    assert len(samples) == round(8 * 3600 * 25.0)
    starts = np.array([a for a, _, _ in truth])
    assert (np.diff(starts) > 0).all()


@pytest.mark.parametrize("name", ["office-day", "office-day-wrist", "office-day-waist"])
def test_walking_parts_move_and_sitting_parts_are_quiet(name: str) -> None:
    rate = 25.0
    samples, truth = scenario_samples(name, rate)
    magnitude = np.linalg.norm(samples, axis=1)
    assert 0.85 < np.median(magnitude) < 1.15  # g, gravity included
    spread = {}
    for start, end, posture in truth:
        part = magnitude[int(start * rate):int(end * rate)]
        spread.setdefault(posture, []).append(part.std())
    assert min(spread["walking"]) > 3 * max(spread["sitting"])


def test_source_plays_once_then_is_exhausted() -> None:
    source = resolve_scenario("quick-demo", 20.0)
    first = source.read(100)
    assert first.shape == (100, 3) and not source.exhausted
    rest = source.read(10**6)
    assert len(first) + len(rest) == 600 * 20 and source.exhausted
    with pytest.raises(KeyError, match="unknown scenario"):
        resolve_scenario("beach-day", 20.0)
