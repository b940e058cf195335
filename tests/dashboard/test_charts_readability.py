"""Charts read as they are drawn: hours without data do not look like hours without
sitting, lines do not run across days without data, the correction form starts on a day
with data, and a day when the clocks go back does not draw its repeated hour over the
first."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import vl_convert
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from dashboard.aggregate import NO_DATA, day_bounds
from dashboard.charts import breaks_chart, longest_bout_chart, timeline_chart
from tests.dashboard.conftest import FilledStore
from tests.dashboard.test_app import open_app
from tracker.cli import main as cli_main

RECORDING = Path(__file__).resolve().parents[2] / "data" / "samples" / \
    "waist-hapt-subject01.csv"
OSLO = ZoneInfo("Europe/Oslo")
HOUR_S = 3600.0


def svg_of(chart: dict[str, object]) -> str:
    return str(vl_convert.vegalite_to_svg(chart))


# --- History's heatmap ----------------------------------------------------------------

def heatmap_cells(app: AppTest) -> pd.DataFrame:
    """Every cell of History's heatmap: day, hour and what its colour stands for (the
    field the colour encodes and its value)."""
    charts = [e for e in app.main if getattr(e, "type", "") == "vega_lite_chart"]
    for chart in charts:
        spec = json.loads(chart.proto.spec)
        layers = spec.get("layer", [spec])
        if layers[0]["encoding"]["x"]["field"] != "hour":
            continue
        data = {d.name: convert_arrow_bytes_to_pandas_df(d.data.data)
                for d in chart.proto.datasets}
        frames = []
        for layer in layers:
            name = layer.get("data", spec.get("data", {})).get("name")
            field = layer["encoding"]["color"]["field"]
            cells = data[name]
            frames.append(cells[["day", "hour"]].assign(coloured_by=field,
                                                        shown=cells[field].astype(str)))
        return pd.concat(frames, ignore_index=True)
    raise AssertionError("no heatmap on the page")


def test_heatmap_hours_without_data_are_not_drawn_as_hours_without_sitting(
        filled_store: FilledStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # The stored days start at 08:30 or later: 03:00 has no data on any day. It was
    # drawn in the pale colour of "0 min of sitting", as an hour worn but not sat in.
    app = open_app(filled_store.path, monkeypatch, "pages_history.py")
    cells = heatmap_cells(app)
    night = cells[cells["hour"] == 3]
    assert len(night) == 7
    assert (night["coloured_by"] != "minutes").all()
    assert night["shown"].str.startswith("no data").all()
    # Hours with data keep the sitting scale.
    assert (cells["coloured_by"] == "minutes").sum() > 0


def test_an_hour_worn_without_sitting_differs_from_one_not_worn() -> None:
    from dashboard.charts import weekday_hour_table

    monday_9 = pd.Timestamp("2026-11-23 09:00", tz=OSLO).timestamp()
    bouts = pd.DataFrame({"start": [monday_9, monday_9 + HOUR_S, monday_9 + 2 * HOUR_S],
                          "end": [monday_9 + HOUR_S, monday_9 + 2 * HOUR_S,
                                  monday_9 + 3 * HOUR_S],
                          "label": ["sitting", "standing", "nonwear"]})
    table = weekday_hour_table(bouts.assign(duration_s=HOUR_S), OSLO)
    monday = table[table["day"] == "Mon"].set_index("hour")
    assert monday.loc[9, ["minutes", "worn"]].tolist() == [60.0, True]
    assert monday.loc[10, ["minutes", "worn"]].tolist() == [0.0, True]
    assert not monday.loc[11, "worn"]  # the band was off the body
    assert not monday.loc[12, "worn"]  # no data at all
    assert table["worn"].sum() == 2


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


# --- Accuracy's correction form -------------------------------------------------------

def test_the_correction_form_starts_on_the_newest_day_with_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A study's recording from 2020, made at UTC+14: its day is 10 March there (9 March
    # in UTC). The form offered this computer's today, a day without data.
    db = tmp_path / "study.sqlite"
    assert cli_main(["classify", str(RECORDING), "--location", "waist", "-q",
                     "-o", str(tmp_path / "labels.csv"), "--db", str(db),
                     "--start", "2020-03-10T02:00", "--tz", "Pacific/Kiritimati"]) == 0
    app = open_app(db, monkeypatch, "pages_accuracy.py")
    assert app.date_input(key="correction_day").value == date(2020, 3, 10)


# --- Today's timeline on a day the clocks go back -------------------------------------

def clocks_back_day() -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Oslo, 27 Oct 2024 (02:00-03:00 twice): sitting 01:30-02:30 summer time, standing
    the hour to 02:30 winter time, walking to 04:00."""
    start, end = day_bounds(date(2024, 10, 27), OSLO)
    first = start + 1.5 * HOUR_S
    edges = [start, first, first + HOUR_S, first + 2 * HOUR_S, first + 3.5 * HOUR_S, end]
    segments = pd.DataFrame({"start": edges[:-1], "end": edges[1:],
                             "label": [NO_DATA, "sitting", "standing", "walking", NO_DATA]})
    segments["minutes"] = (segments["end"] - segments["start"]) / 60.0
    streaks = pd.DataFrame({"start": [first], "end": [first + HOUR_S], "minutes": [60.0],
                            "ended_by": ["break"]})
    return segments, streaks, end


def posture_bars(svg: str) -> list[tuple[float, float, str]]:
    """(left, right, colour) of the timeline's bars, left to right."""
    bars = re.findall(r'<path aria-label="[^"]*" role="graphics-symbol" '
                      r'aria-roledescription="bar" d="M([\d.]+),([\d.]+)h([\d.]+)v[\d.]+h'
                      r'-[\d.]+Z" fill="([^"]+)"', svg)
    return sorted((float(x), float(x) + float(w), fill) for x, y, w, fill in bars
                  if float(y) > 12)  # the posture band, not the streak bars above it


def test_the_repeated_hour_is_drawn_after_the_first() -> None:
    segments, streaks, end = clocks_back_day()
    chart = timeline_chart(segments, streaks, 30.0, OSLO, end)
    svg = svg_of(chart.properties(width=720).to_dict())
    colours = {"#E69F00": "sitting", "#56B4E9": "standing", "#009E73": "walking"}
    bars = [(left, right, colours[fill]) for left, right, fill in posture_bars(svg)
            if fill in colours]
    assert [name for _, _, name in bars] == ["sitting", "standing", "walking"]
    widths = [right - left for left, right, _ in bars]
    # Each hour takes the same width, the repeated one too; no bar is drawn over another.
    assert widths[1] == pytest.approx(widths[0], abs=0.5)
    assert widths[2] == pytest.approx(1.5 * widths[0], abs=0.5)
    assert all(bars[i][1] <= bars[i + 1][0] + 0.5 for i in range(2))


def test_the_axis_and_tooltips_tell_local_time_after_the_change() -> None:
    segments, streaks, end = clocks_back_day()
    chart = timeline_chart(segments, streaks, 30.0, OSLO, end)
    svg = svg_of(chart.properties(width=720).to_dict())
    labels = re.findall(r'<text[^>]*>(\d\d:\d\d)</text>', svg)
    # The span starts at 01:00 summer time; the ticks every three hours stand for
    # 03:00 summer time, i.e. 02:00 winter time, then 05:00, 08:00 ... winter time.
    assert labels[:3] == ["02:00", "05:00", "08:00"], labels
    rows = chart.to_dict()["datasets"]
    shown = [(row["posture"], row["from"], row["to"]) for rows_ in rows.values()
             for row in rows_ if row["posture"] == "standing"]
    assert shown == [("standing", "02:30 CEST", "02:30 CET")]
