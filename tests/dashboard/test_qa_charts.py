"""History's charts as a reader sees their axes."""

from __future__ import annotations

import pandas as pd

from dashboard.charts import breaks_chart, long_bouts_chart, longest_bout_chart


def test_long_bouts_are_counted_in_whole_numbers() -> None:
    # Weeks without a long bout drew one tick labelled "0.000000", and few bouts drew
    # ticks at 0.5.
    daily = pd.DataFrame({"date": pd.to_datetime(["2026-11-20", "2026-11-21"]),
                          "sitting_bouts_30min": [0, 0], "sitting_bouts_60min": [0, 0]})
    for layer in long_bouts_chart(daily).to_dict()["layer"]:
        axis = layer["encoding"]["y"]["axis"]
        assert axis["format"] == "d" and axis["tickMinStep"] == 1


def test_a_lines_points_are_drawn_in_the_lines_colour() -> None:
    # A single day is only a point: it was drawn in the default blue, not the line's red
    # (longest bout) or green (breaks).
    daily = pd.DataFrame({"date": pd.to_datetime(["2026-11-20"]),
                          "longest_sitting_bout_min": [95.0],
                          "breaks_per_sedentary_hour": [1.2]})
    marks = [longest_bout_chart(daily, 30.0).to_dict()["layer"][0]["mark"],
             breaks_chart(daily).to_dict()["mark"]]
    for mark in marks:
        assert mark["point"]["color"] == mark["color"]
