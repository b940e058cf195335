"""History when the chosen period holds no data: it says where the data is and how to
see it, not only that there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard.test_app import open_app, page_text
from tracker.cli import main as cli_main

RECORDING = Path(__file__).resolve().parents[2] / "data" / "samples" / \
    "waist-hapt-subject01.csv"


def test_a_period_without_data_points_to_the_last_day_with_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "old.sqlite"
    assert cli_main(["classify", str(RECORDING), "--location", "waist", "-q",
                     "-o", str(tmp_path / "labels.csv"), "--db", str(db),
                     "--start", "2020-03-10T09:00", "--tz", "UTC"]) == 0
    app = open_app(db, monkeypatch, "pages_history.py")
    assert "The last day with data is Tue 10 Mar 2020: choose All" in page_text(app)
    app.segmented_control(key="history_period").set_value("All").run()
    assert [m.value for m in app.metric if m.label == "Days over the goal"] == ["0 of 1"]
