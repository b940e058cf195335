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

from dashboard.charts import breaks_chart, longest_bout_chart
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


