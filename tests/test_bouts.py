"""Bouts, breaks, transitions and daily summaries by the SBRN definitions."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tracker.bouts import (
    activpal_events,
    bouts_from_windows,
    breaks,
    daily_summary,
    posture_transitions,
    sit_to_stand_transitions,
    sitting_bouts,
    summarise,
)


def windows(*runs: tuple[str, float], start: float = 0.0, window: float = 5.0) -> pd.DataFrame:
    """Windows from (label, minutes) runs laid end to end; label 'gap' leaves a hole."""
    rows = []
    t = start
    for label, minutes in runs:
        n = round(minutes * 60 / window)
        if label != "gap":
            rows += [{"start": t + i * window, "end": t + (i + 1) * window, "label": label}
                     for i in range(n)]
        t += n * window
    return pd.DataFrame(rows)


def test_bouts_merge_touching_windows_and_split_at_gaps() -> None:
    bouts = bouts_from_windows(windows(("sitting", 10), ("gap", 1), ("sitting", 5),
                                       ("standing", 2)))
    assert bouts["label"].tolist() == ["sitting", "sitting", "standing"]
    assert bouts["duration_s"].tolist() == [600, 300, 120]


def test_breaks_need_sedentary_on_both_sides() -> None:
    bouts = bouts_from_windows(windows(
        ("standing", 1), ("sitting", 40), ("standing", 1), ("walking", 2), ("sitting", 20),
        ("walking", 3), ("gap", 5), ("lying", 15), ("standing", 2)))
    found = breaks(bouts)
    # standing+walking between two sitting bouts is one break; the walk before the gap
    # and the standing at the end are not breaks.
    assert len(found) == 1
    assert found["duration_s"].iloc[0] == 180


def test_sit_to_stand_transitions() -> None:
    bouts = bouts_from_windows(windows(
        ("sitting", 5), ("standing", 1), ("sitting", 5), ("gap", 1), ("walking", 1),
        ("lying", 3), ("walking", 1)))
    times = sit_to_stand_transitions(bouts)
    assert times.tolist() == [300.0, 960.0]


def test_posture_transitions_both_ways_with_the_labels_either_side() -> None:
    bouts = bouts_from_windows(windows(
        ("sitting", 5), ("standing", 1), ("walking", 1), ("sitting", 5), ("gap", 1),
        ("walking", 1), ("lying", 3), ("nonwear", 60), ("standing", 1)))
    found = posture_transitions(bouts)
    # standing -> walking stays upright; a gap or time not worn is no transition
    assert found.to_dict("list") == {
        "time": [300.0, 420.0, 840.0],
        "kind": ["sit_to_stand", "stand_to_sit", "stand_to_sit"],
        "from_label": ["sitting", "walking", "walking"],
        "to_label": ["standing", "sitting", "lying"],
    }


def test_summary_counts_long_bouts_and_breaks_per_sedentary_hour() -> None:
    bouts = bouts_from_windows(windows(
        ("sitting", 65), ("walking", 5), ("sitting", 35), ("standing", 5), ("sitting", 20),
        ("lying", 0.5), ("nonwear", 60)))
    s = summarise(bouts)
    assert s["sitting_min"] == pytest.approx(120)
    assert s["lying_min"] == pytest.approx(0.5)
    assert s["wear_min"] == pytest.approx(130.5)
    assert s["nonwear_min"] == pytest.approx(60)
    assert (s["sitting_bouts_30min"], s["sitting_bouts_60min"]) == (2, 1)
    assert s["sitting_in_bouts_30min_min"] == pytest.approx(100)
    assert s["longest_sitting_bout_min"] == pytest.approx(65)
    assert s["breaks"] == 2
    assert s["breaks_per_sedentary_hour"] == pytest.approx(2 / (120.5 / 60))
    # A day without sedentary time has no rate (an empty cell), not a rate of 0.
    standing_only = summarise(bouts_from_windows(windows(("standing", 30), ("walking", 5))))
    assert standing_only["breaks"] == 0 and pd.isna(standing_only["breaks_per_sedentary_hour"])


def test_a_short_gap_in_the_data_does_not_cut_a_sitting_bout() -> None:
    # 20 + 25 min of sitting around a 10 s reconnect: one 45-minute bout, the gap left out
    # of its length and of the sitting time.  The gap as an `unknown` row or as no row.
    for gap in ("unknown", "gap"):
        bouts = bouts_from_windows(windows(("sitting", 20), (gap, 1 / 6), ("sitting", 25)))
        s = summarise(bouts)
        assert s["sitting_bouts"] == 1 and s["sitting_bouts_30min"] == 1, gap
        assert s["longest_sitting_bout_min"] == pytest.approx(45)
        assert s["sitting_in_bouts_30min_min"] == pytest.approx(45)
        assert s["sitting_min"] == pytest.approx(45)
        assert sitting_bouts(bouts)["gap_s"].tolist() == pytest.approx([10])


def test_a_long_gap_or_anything_known_between_ends_the_bout() -> None:
    long_gap = summarise(bouts_from_windows(windows(("sitting", 20), ("unknown", 3),
                                                    ("sitting", 25))))
    assert long_gap["sitting_bouts"] == 2 and long_gap["sitting_bouts_30min"] == 0
    assert long_gap["longest_sitting_bout_min"] == pytest.approx(25)
    for between in ("standing", "lying", "nonwear"):
        s = summarise(bouts_from_windows(windows(("sitting", 20), ("unknown", 0.5),
                                                 (between, 0.5), ("sitting", 25))))
        assert s["sitting_bouts_30min"] == 0, between


def test_daily_summary_splits_at_local_midnight_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2024-03-30 23:00 local; the night of the spring-forward change (the 31st has 23 h).
    start = pd.Timestamp("2024-03-30 23:00", tz=berlin).timestamp()
    bouts = bouts_from_windows(windows(("sitting", 90), start=start))
    days = daily_summary(bouts, berlin)
    assert days["date"].tolist() == ["2024-03-30", "2024-03-31"]
    assert days["sitting_min"].tolist() == pytest.approx([60, 30])
    assert days["day_start"].iloc[1] == "2024-03-31T00:00:00+01:00"


def test_activpal_events_merge_sedentary_postures() -> None:
    bouts = bouts_from_windows(windows(("sitting", 2), ("lying", 3), ("standing", 1),
                                       ("walking", 1), ("nonwear", 10)))
    events = activpal_events(bouts)
    assert events["event_type"].tolist() == [0, 1, 2, 4]
    assert events["duration_s"].tolist() == [300, 60, 60, 600]
