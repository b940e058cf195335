"""Charts read as they are drawn: hours without data do not look like hours without
sitting, lines do not run across days without data, the correction form starts on a day
with data, and a day when the clocks go back does not draw its repeated hour over the
first."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import vl_convert

from dashboard.charts import breaks_chart, longest_bout_chart

RECORDING = Path(__file__).resolve().parents[2] / "data" / "samples" / \
    "waist-hapt-subject01.csv"
OSLO = ZoneInfo("Europe/Oslo")
HOUR_S = 3600.0


def svg_of(chart: dict[str, object]) -> str:
    return str(vl_convert.vegalite_to_svg(chart))


# --- History's lines ------------------------------------------------------------------

def line_paths(svg: str) -> list[str]:
    """The drawn pieces of line joining points (a path's move-to commands start a piece;
    a lone point's piece has no line-to)."""
    paths = re.findall(r'aria-roledescription="line mark"[^>]*? d="([^"]*)"', svg)
    return [piece for path in paths for piece in path.split("M") if "L" in piece]


def test_lines_break_at_days_without_data() -> None:
    # The 22nd has no data: the lines went straight from the 21st to the 23rd.
    daily = pd.DataFrame({"date": pd.to_datetime(["2026-11-20", "2026-11-21", "2026-11-23"]),
                          "longest_sitting_bout_min": [95.0, 40.0, 60.0],
                          "breaks_per_sedentary_hour": [1.2, 2.0, 3.0]})
    for chart in (longest_bout_chart(daily, 30.0), breaks_chart(daily)):
        pieces = line_paths(svg_of(chart.properties(width=300).to_dict()))
        # One piece 20th-21st; the 23rd alone is a point, not a line.
        assert len(pieces) == 1 and pieces[0].count("L") == 1, pieces


def test_lines_join_consecutive_days() -> None:
    daily = pd.DataFrame({"date": pd.to_datetime(["2026-11-21", "2026-11-20", "2026-11-22"]),
                          "longest_sitting_bout_min": [95.0, 40.0, 60.0],
                          "breaks_per_sedentary_hour": [1.2, 2.0, 3.0]})
    pieces = line_paths(svg_of(breaks_chart(daily).properties(width=300).to_dict()))
    assert len(pieces) == 1 and pieces[0].count("L") == 2, pieces


