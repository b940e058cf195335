"""The Accuracy page: corrections are stored as stated postures, refitting learns from
them, and calibration asks for a running collector."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dashboard.sample_days import RATE_HZ, SCENARIO, day_start
from tests.dashboard.conftest import FilledStore
from tests.dashboard.test_app import open_app, page_text, store_copy  # noqa: F401
from tracker.calibration import personal_model_path
from tracker.scenarios import scenario_samples
from tracker.store import Store

PAGE = "pages_accuracy.py"


def test_a_correction_is_stored_and_listed_then_removed(
        store_copy: Path, filled_store: FilledStore,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(store_copy, monkeypatch, PAGE)
    yesterday = filled_store.days[1].day
    app.date_input(key="correction_day").set_value(yesterday)
    app.time_input(key="correction_start").set_value(time(10, 5))
    app.time_input(key="correction_end").set_value(time(10, 20))
    app.selectbox(key="correction_posture").set_value("standing")
    app.button[0].click().run()  # the form's submit button
    assert not app.exception
    with Store.open(store_copy, readonly=True) as store:
        labels = store.labels()
    [row] = labels.itertuples(index=False)
    start = datetime.combine(yesterday, time(10, 5), filled_store.tz).timestamp()
    assert (row.start_s, row.end_s - row.start_s) == (start, 15 * 60)
    assert (row.label, row.source, row.location) == ("standing", "correction", "thigh")
    assert "Your corrections** (1)" in page_text(app)
    # The windows the sensor labelled are left as they were.
    with Store.open(store_copy, readonly=True) as store, \
            Store.open(filled_store.path, readonly=True) as original:
        assert store.windows().equals(original.windows())

    app.selectbox(key="correction_remove").set_value(0).run()
    app.button(key="correction_remove_button").click().run()
    with Store.open(store_copy, readonly=True) as store:
        assert store.labels().empty


def test_a_span_ending_before_it_starts_is_refused(
        store_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    app = open_app(store_copy, monkeypatch, PAGE)
    app.date_input(key="correction_day").set_value(datetime.now().date() - timedelta(days=1))
    app.time_input(key="correction_start").set_value(time(11, 0))
    app.time_input(key="correction_end").set_value(time(10, 0))
    app.button[0].click().run()
    assert "must end after it starts" in page_text(app)
    with Store.open(store_copy, readonly=True) as store:
        assert store.labels().empty


def test_refit_learns_from_stated_postures_and_saves_a_personal_model(
        store_copy: Path, filled_store: FilledStore,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Today's raw samples are stored: state the script's postures for three of its parts.
    offset = day_start(filled_store.days[2], filled_store.tz)
    _, script = scenario_samples(SCENARIO, RATE_HZ)
    with Store.open(store_copy) as store:
        for start, end, posture in script[:4]:
            store.add_label(offset + start + 10, offset + min(end, start + 130), posture,
                            "correction", location="thigh")
    app = open_app(store_copy, monkeypatch, PAGE)
    app.button(key="refit").click().run()
    assert not app.exception
    text = page_text(app)
    assert "your personal model labels" in text, text
    assert personal_model_path(store_copy, "thigh").exists()
    app = open_app(store_copy, monkeypatch, PAGE)
    assert "your personal thigh model" in page_text(app)


def test_calibration_asks_for_the_collector_when_none_runs(
        store_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    app = open_app(store_copy, monkeypatch, PAGE)
    assert "Start the collector first" in page_text(app)
    assert not [b for b in app.button if b.key == "calibrate"]


def test_the_page_speaks_of_the_placement_the_data_was_classified_for(
        store_copy: Path, filled_store: FilledStore,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A study's recordings classified for the waist (`classify --location waist`), read
    on a computer whose settings say thigh: the waist model labelled them, and a
    correction belongs to the waist."""
    with Store.open(store_copy) as store, store.transaction() as connection:
        connection.execute("UPDATE windows SET location = 'waist'")
    app = open_app(store_copy, monkeypatch, PAGE)
    assert "Labels come from the shipped waist model" in page_text(app)
    app.date_input(key="correction_day").set_value(filled_store.days[1].day)
    app.button[0].click().run()
    with Store.open(store_copy, readonly=True) as store:
        assert store.labels()["location"].tolist() == ["waist"]


def test_a_span_of_a_replayed_day_ahead_of_the_clock_can_be_corrected(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo replays a day that can run ahead of this computer's clock: its spans have
    happened on the band's timeline, which is what the form checks against."""
    from tracker.cli import main as cli_main

    recording = Path(__file__).resolve().parents[2] / "data" / "samples" / \
        "waist-hapt-subject01.csv"
    tomorrow = (datetime.now(ZoneInfo("UTC")) + timedelta(days=1)).date()
    db = tmp_path / "replayed.sqlite"
    assert cli_main(["classify", str(recording), "--location", "waist", "-q",
                     "-o", str(tmp_path / "labels.csv"), "--db", str(db), "--tz", "UTC",
                     "--start", f"{tomorrow}T09:00"]) == 0
    app = open_app(db, monkeypatch, PAGE)
    app.date_input(key="correction_day").set_value(tomorrow)
    app.time_input(key="correction_start").set_value(time(9, 1))
    app.time_input(key="correction_end").set_value(time(9, 4))
    app.button[0].click().run()
    assert "has not happened yet" not in page_text(app)
    with Store.open(db, readonly=True) as store:
        [row] = store.labels().itertuples(index=False)
    start = datetime.combine(tomorrow, time(9, 1), ZoneInfo("UTC")).timestamp()
    assert (row.start_s, row.end_s - row.start_s) == (start, 180.0)
    # Past the band's newest data and this clock, a span has not happened.
    app.time_input(key="correction_start").set_value(time(23, 0))
    app.time_input(key="correction_end").set_value(time(23, 30))
    app.button[0].click().run()
    assert "has not happened yet" in page_text(app)
