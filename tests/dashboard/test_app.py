"""Every page of the dashboard through Streamlit's AppTest, on the store filled by the
real pipeline: the figures a person reads are the store's, the buttons write the events
the collector reads, settings are validated before anything is written, and stores in a
bad state are explained instead of crashing the page."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.downloads import csv_bytes
from dashboard.sample_days import fill_store
from tests.dashboard.conftest import FilledStore
from tracker import store as store_module
from tracker.cli import main as cli_main
from tracker.config import load_settings
from tracker.store import Store
from tracker.suggestions import DISCLAIMER
from tracker.summary import duration

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def copy_store(source: Path, target: Path) -> Path:
    """A copy for tests that write (SQLite's backup: the WAL's content comes along)."""
    with sqlite3.connect(source) as original, sqlite3.connect(target) as copy:
        original.backup(copy)
    original.close()
    copy.close()
    return target


@pytest.fixture
def store_copy(filled_store: FilledStore, tmp_path: Path) -> Path:
    return copy_store(filled_store.path, tmp_path / "copy.sqlite")


def open_app(db: Path | str, monkeypatch: pytest.MonkeyPatch, page: str | None = None) -> AppTest:
    monkeypatch.setenv("SITTING_TRACKER_DB", str(db))
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    if page is not None:
        app.switch_page(page).run()
    assert not app.exception, app.exception[0].message if app.exception else ""
    return app


def metric(app: AppTest, label: str) -> str:
    return str(next(m for m in app.metric if m.label == label).value)


def page_text(app: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "error", "warning", "success")
             for e in app.get(kind)]
    return "\n".join(str(part) for part in parts)


def stored_events(db: Path, kind: str) -> list[tuple[float, str, str]]:
    with Store.open(db, readonly=True) as store:
        events = store.events()
    chosen = events[events["kind"] == kind]
    return list(zip(chosen["time_s"], chosen["detail"], chosen["participant_id"],
                    strict=True))


# --- Today --------------------------------------------------------------------------


def test_today_shows_the_stores_figures(filled_store: FilledStore,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(filled_store.path, monkeypatch)
    today = filled_store.daily().loc[filled_store.today.isoformat()]
    assert metric(app, "Sitting today") == duration(float(today["sitting_min"]))
    text = page_text(app)
    assert f"Longest sitting bout **{duration(float(today['longest_sitting_bout_min']))}**" \
        in text
    assert f"bouts ≥ 30 min **{int(today['sitting_bouts_30min'])}**" in text
    # Breaks and streaks as the coach recorded them in the store (not recomputed here).
    ends = [detail for when, detail, _ in stored_events(filled_store.path, "streak_end")
            if datetime.fromtimestamp(when, filled_store.tz).date() == filled_store.today]
    taken = sum(detail.startswith(("break", "rest")) for detail in ends)
    owed = sum(float(detail.split("; ")[1].split()[0]) >= 30 for detail in ends)
    assert taken > 0
    assert metric(app, "Breaks taken / owed") == f"{taken} / {owed}"
    assert "The collector is not running" in text
    assert len(app.get("vega_lite_chart")) == 1


def test_a_day_that_ran_ahead_of_the_clock_shows_where_its_data_ends(
        filled_store: FilledStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo replays a whole working day in minutes; after its collector stops, the
    # wall clock can be hours before the day's last data (the streak read "-9 h 53 min").
    import dashboard.day

    early = datetime.combine(filled_store.today, datetime.min.time(),
                             filled_store.tz).timestamp() + 60
    monkeypatch.setattr(dashboard.day, "timeline_now", lambda status: early)
    app = open_app(filled_store.path, monkeypatch)
    streak = metric(app, "Sitting streak")
    assert not streak.startswith("-"), streak
    assert metric(app, "Sitting today") == duration(
        float(filled_store.daily().loc[filled_store.today.isoformat()]["sitting_min"]))


def test_an_earlier_day_can_be_chosen(filled_store: FilledStore,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(filled_store.path, monkeypatch)
    yesterday = filled_store.days[1].day
    app.date_input(key="today_day").set_value(yesterday).run()
    figures = filled_store.daily().loc[yesterday.isoformat()]
    assert metric(app, "Sitting") == duration(float(figures["sitting_min"]))
    # Yesterday had 30 minutes without data in the middle of the day.
    assert "not worn / no data **30 min**" in page_text(app)
    assert not [b for b in app.button if b.label.startswith("Snooze")]


def test_snooze_and_meeting_buttons_write_the_events_the_collector_reads(
        store_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(store_copy, monkeypatch)
    before = time.time()
    app.button(key="snooze_30").click().run()
    [(when, detail, who)] = stored_events(store_copy, "snooze")
    assert who == "me" and before - 1 <= when <= time.time() + 1
    assert float(detail.removeprefix("until=")) == pytest.approx(when + 30 * 60, abs=1)
    assert "Snoozed until" in page_text(app)

    app.button(key="meeting").click().run()
    [(when, detail, _)] = stored_events(store_copy, "meeting")
    assert float(detail.removeprefix("until=")) == pytest.approx(when + 60 * 60, abs=1)
    assert "In a meeting until" in page_text(app)
    app.button(key="meeting_end").click().run()
    assert len(stored_events(store_copy, "meeting_end")) == 1
    assert "In a meeting until" not in page_text(app)
    assert "Snoozed until" in page_text(app)  # the snooze still runs


def test_a_running_collector_is_shown_live(store_copy: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    status = {"updated": time.time(), "connected": True, "band": "Polar Sense",
              "battery": 81, "posture": "sitting", "streak_min": 42.0,
              "last_sample": time.time() - 1, "location": "thigh"}
    with Store.open(store_copy) as store:
        store.set_meta("collector_status", json.dumps(status))
    app = open_app(store_copy, monkeypatch)
    assert metric(app, "Now") == "sitting"
    assert metric(app, "Sitting streak") == "42 min"
    assert "Live from Polar Sense, battery 81 %" in page_text(app)


# --- History ------------------------------------------------------------------------


def test_history_shows_the_stores_daily_figures_against_the_goal(
        filled_store: FilledStore, monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(filled_store.path, monkeypatch, "pages_history.py")
    daily = filled_store.daily()
    assert metric(app, "Sitting per day") == duration(float(daily["sitting_min"].mean()))
    assert metric(app, "Longest bout") == duration(
        float(daily["longest_sitting_bout_min"].max()))
    assert metric(app, "Days over the goal") == f"{(daily['sitting_min'] > 360).sum()} of 3"
    assert len(app.get("vega_lite_chart")) == 5
    # One row per Monday-to-Sunday week with data (two or three, by the weekday today).
    weeks = {d.day - timedelta(days=d.day.weekday()) for d in filled_store.days}
    assert len(app.table[0].value) == len(weeks)

    app.number_input(key="sitting_goal_h").set_value(7.0).run()
    assert metric(app, "Days over the goal") == f"{(daily['sitting_min'] > 420).sum()} of 3"


# --- Suggestions --------------------------------------------------------------------


def test_suggestions_show_what_the_sensor_saw_and_take_a_manual_mark(
        store_copy: Path, filled_store: FilledStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(store_copy, monkeypatch, "pages_suggestions.py")
    breaks = [t for t, _, _ in stored_events(store_copy, "break")
              if datetime.fromtimestamp(t, filled_store.tz).date() == filled_store.today]
    text = page_text(app)
    assert f"the sensor saw {len(breaks)} breaks from sitting" in text
    assert "Not seen today. The sensor looks for a lying bout" in text  # no lying rest
    assert text.count(DISCLAIMER) == 1

    app.button(key="done_psoas-wall-stretch").click().run()
    assert [d for _, d, _ in stored_events(store_copy, "suggestion_done")] == \
        ["psoas-wall-stretch"]
    assert "Done today] (marked by you)" in page_text(app)


# --- Export -------------------------------------------------------------------------


def test_export_offers_every_table_and_builds_what_the_command_writes(
        filled_store: FilledStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    app = open_app(filled_store.path, monkeypatch, "pages_export.py")
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels == ["Windows CSV", "Bouts CSV", "Transitions CSV", "Daily summary CSV",
                      "Events CSV", "activPAL events CSV", "Raw samples CSV"]
    assert "Raw samples: 720,000 in this range" in page_text(app)
    first, last = filled_store.days[0].day, filled_store.today
    for kind in ("daily", "transitions", "events"):
        output = tmp_path / f"{kind}.csv"
        assert cli_main(["export", kind, "--db", str(filled_store.path), "-o", str(output),
                         "--from", str(first), "--to", str(last), "--tz",
                         str(filled_store.tz), "--participant", "me"]) == 0
        assert csv_bytes(filled_store.path, kind, first, last, filled_store.tz, "me") == \
            output.read_bytes()


# --- Settings -----------------------------------------------------------------------


def test_settings_are_validated_before_anything_is_written(
        filled_store: FilledStore, monkeypatch: pytest.MonkeyPatch,
        own_settings_file: Path) -> None:
    own_settings_file.unlink(missing_ok=True)
    app = open_app(filled_store.path, monkeypatch, "pages_settings.py")
    app.text_input[0].set_value("9 to 5")  # working hours
    app.button[0].click().run()
    assert "Not saved: coach.working_hours" in app.error[0].value
    assert not own_settings_file.exists()

    app.text_input[0].set_value("08:00-16:00")
    app.number_input[0].set_value(0.0)  # nudge threshold
    app.button[0].click().run()
    assert "Not saved: coach.sitting_threshold_min" in app.error[0].value
    assert not own_settings_file.exists()

    app.number_input[0].set_value(45.0)
    app.multiselect[0].set_value(["mon", "wed"])
    app.button[0].click().run()
    assert not app.error
    saved = load_settings(own_settings_file)
    assert saved.coach.sitting_threshold_min == 45.0
    assert saved.coach.working_hours == "08:00-16:00"
    assert saved.coach.working_days == ("mon", "wed")
    assert "Saved to" in app.success[0].value
    own_settings_file.unlink()


def test_a_broken_settings_file_is_named_and_left_alone(
        filled_store: FilledStore, monkeypatch: pytest.MonkeyPatch,
        own_settings_file: Path) -> None:
    own_settings_file.write_text('[coach]\nbreak_min = "two"\n')
    try:
        app = open_app(filled_store.path, monkeypatch, "pages_settings.py")
        assert "coach.break_min: expected a number" in app.error[0].value
        assert own_settings_file.read_text() == '[coach]\nbreak_min = "two"\n'
    finally:
        own_settings_file.unlink()


# --- Which store, and stores in a bad state -------------------------------------------


def test_db_argument_wins_over_the_environment(filled_store: FilledStore, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["app.py", "--db", str(filled_store.path)])
    app = open_app(tmp_path / "elsewhere.sqlite", monkeypatch)
    assert metric(app, "Sitting today")


def test_the_demos_dashboard_says_its_replay_ended_not_to_start_a_collector(
        filled_store: FilledStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.commands.dashboard import dashboard_command

    command = dashboard_command(filled_store.path, 8600, "127.0.0.1", demo=True)
    monkeypatch.setattr(sys, "argv", ["app.py", *command[command.index("--") + 1:]])
    text = page_text(open_app(filled_store.path, monkeypatch))
    assert "The demo's replay has ended" in text
    assert "The collector is not running" not in text


@pytest.mark.parametrize("made", ["missing", "empty store", "empty file"])
def test_without_data_it_says_how_to_start(made: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "new.sqlite"
    if made == "empty store":
        Store.open(db).close()
    elif made == "empty file":
        db.touch()
    for page in ("pages_today.py", "pages_history.py", "pages_export.py"):
        app = open_app(db, monkeypatch, page)
        text = page_text(app)
        assert "sitting-tracker collect" in text and "sitting-tracker demo" in text
    assert made != "missing" or not db.exists()


def pretend_a_newer_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if this version added a migration: today's stores become an older schema."""
    monkeypatch.setattr(store_module, "MIGRATIONS", [
        *store_module.MIGRATIONS, "CREATE TABLE annotations (time_s REAL, note TEXT);"])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(store_module.MIGRATIONS))


def test_an_older_store_is_upgraded_then_read(store_copy: Path, filled_store: FilledStore,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    today = filled_store.daily().loc[filled_store.today.isoformat()]
    pretend_a_newer_schema(monkeypatch)
    with pytest.raises(store_module.StoreError, match="needs upgrading"):
        Store.open(store_copy, readonly=True)
    app = open_app(store_copy, monkeypatch)
    assert metric(app, "Sitting today") == duration(float(today["sitting_min"]))
    new = store_module.SCHEMA_VERSION
    assert f"Upgraded the store from schema {new - 1} to {new}" in page_text(app)
    with sqlite3.connect(store_copy) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == new
    connection.close()


@pytest.mark.parametrize(("content", "message"), [
    (b"not a database at all, " * 200, "not a tracker store, or damaged"),
    ("foreign", "not a tracker store; nothing was changed"),
    ("newer", "written by a newer version"),
])
def test_a_damaged_foreign_or_newer_file_is_explained_and_not_written(
        content: bytes | str, message: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "odd.sqlite"
    if content == "foreign":
        with sqlite3.connect(db) as connection:
            connection.execute("CREATE TABLE photos (name TEXT)")
        connection.close()
    elif content == "newer":
        Store.open(db).close()
        with sqlite3.connect(db) as connection:
            connection.execute("PRAGMA user_version = 99")
        connection.close()
    else:
        assert isinstance(content, bytes)
        db.write_bytes(content)
    before = db.read_bytes()
    app = open_app(db, monkeypatch)
    assert message in app.error[0].value
    assert "sitting-tracker collect" not in page_text(app)  # not mistaken for "no data yet"
    assert db.read_bytes() == before
    app.switch_page("pages_settings.py").run()
    assert app.button[0].label == "Save"  # the settings stay reachable


@pytest.mark.parametrize(("where", "message"), [
    ("mysql://h/db", "No store to show: $SITTING_TRACKER_DB: mysql://h/db: unsupported "
                     "database URL scheme 'mysql' (use a file path or postgresql://...)"),
    ("folder", "is a folder, not a store file"),
])
def test_a_store_setting_that_names_no_store_file_is_explained(
        where: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another database's URL (it made a folder `mysql:`) or a folder (it said 'disk I/O
    error'): said on the page, nothing created."""
    app = open_app(tmp_path if where == "folder" else where, monkeypatch)
    assert message in app.error[0].value
    assert list(tmp_path.iterdir()) == []


def hold_exclusive_lock(db: Path) -> sqlite3.Connection:
    """A writer mid-transaction in rollback-journal mode: readers get `database is
    locked` (in WAL mode, which the collector uses, readers never do)."""
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()
    writer = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN EXCLUSIVE")
    return writer


def test_a_store_locked_mid_write_is_retried(store_copy: Path, filled_store: FilledStore,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    writer = hold_exclusive_lock(store_copy)
    threading.Timer(1.0, writer.rollback).start()
    app = open_app(store_copy, monkeypatch)
    writer.close()
    today = filled_store.daily().loc[filled_store.today.isoformat()]
    assert metric(app, "Sitting today") == duration(float(today["sitting_min"]))


def test_a_store_that_stays_locked_says_so_then_recovers(
        store_copy: Path, filled_store: FilledStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    writer = hold_exclusive_lock(store_copy)
    app = open_app(store_copy, monkeypatch)
    assert "locked by another program" in app.warning[0].value
    writer.rollback()
    writer.close()
    app.run()
    today = filled_store.daily().loc[filled_store.today.isoformat()]
    assert metric(app, "Sitting today") == duration(float(today["sitting_min"]))


def test_the_launcher_serves_on_loopback_without_usage_statistics() -> None:
    from tracker.commands.dashboard import dashboard_command, is_loopback

    command = dashboard_command(Path("s.sqlite"), 8600, "127.0.0.1")
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"
    assert command[command.index("--server.headless") + 1] == "true"
    assert command[-2:] == ["--db", str(Path("s.sqlite").resolve())]
    assert is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")


def test_a_network_address_is_warned_about(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from tracker.commands import dashboard

    launched: list[list[str]] = []

    class Launched:  # Streamlit, started and at once stopped
        def __init__(self, command: list[str], **_options: object) -> None:
            launched.append(command)

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(subprocess, "Popen", Launched)
    parser = argparse.ArgumentParser()
    dashboard.add_parser(parser.add_subparsers())
    args = parser.parse_args(["dashboard", "--address", "0.0.0.0", "--port", "8600"])
    assert args.run(args) == 0
    assert "serves your health data to the network" in capsys.readouterr().err
    assert launched[0][launched[0].index("--server.address") + 1] == "0.0.0.0"


# --- the pure aggregation behind the pages --------------------------------------------


def test_the_timeline_covers_the_day_without_overlap(filled_store: FilledStore) -> None:
    from dashboard.aggregate import NO_DATA, day_bounds, timeline_segments

    yesterday = filled_store.days[1]
    start, end = day_bounds(yesterday.day, filled_store.tz)
    with Store.open(filled_store.path, readonly=True) as store:
        windows = store.windows(start, end)
    segments = timeline_segments(windows, start, end)
    assert segments["start"].iloc[0] == start and segments["end"].iloc[-1] == end
    assert (segments["start"].to_numpy()[1:] == segments["end"].to_numpy()[:-1]).all()
    gap = segments[segments["label"] == "unknown"]
    assert len(gap) == 1 and gap["minutes"].iloc[0] == pytest.approx(30, abs=0.2)
    assert segments["label"].iloc[0] == NO_DATA  # the night before the band was put on


def test_the_heatmap_spreads_each_days_sitting_over_its_hours() -> None:
    from zoneinfo import ZoneInfo

    import pandas as pd

    from dashboard.aggregate import sitting_by_weekday_hour

    berlin = ZoneInfo("Europe/Berlin")
    monday_nine = datetime(2024, 6, 3, 9, 30, tzinfo=berlin).timestamp()
    bouts = pd.DataFrame({  # Monday 09:30-11:00 sitting, then walking; Tuesday 09:00-09:30
        "start": [monday_nine, monday_nine + 5400, monday_nine + 86400 - 1800],
        "end": [monday_nine + 5400, monday_nine + 6000, monday_nine + 86400],
        "label": ["sitting", "walking", "sitting"]})
    table = sitting_by_weekday_hour(bouts, berlin).set_index(["day", "hour"])["minutes"]
    assert table[("Mon", 9)] == pytest.approx(30) and table[("Mon", 10)] == pytest.approx(60)
    assert table[("Mon", 11)] == 0 and table[("Tue", 9)] == pytest.approx(30)
    assert table.sum() == pytest.approx(120)


def test_a_meeting_end_closes_the_meeting_but_not_a_snooze() -> None:
    import pandas as pd

    from dashboard.aggregate import active_pause

    events = pd.DataFrame({"time_s": [100.0, 200.0, 300.0],
                           "kind": ["snooze", "meeting", "meeting_end"],
                           "detail": ["until=1000", "until=4000", ""]})
    assert active_pause(events, 250.0) == ("meeting", 4000.0)
    assert active_pause(events, 350.0) == ("snooze", 1000.0)
    assert active_pause(events, 1500.0) is None


# --- A study's store: several participants --------------------------------------------


def test_a_store_with_several_participants_can_switch_and_export_the_study(
        store_copy: Path, filled_store: FilledStore, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.open(store_copy) as store:
        mine = store.windows(participant="me")
        theirs = mine.rename(columns={"start_s": "start", "end_s": "end"}).tail(720)  # today
        store.add_windows(theirs.assign(label="standing"), participant="P2", device="band2")
    app = open_app(store_copy, monkeypatch)
    chooser = app.sidebar.selectbox(key="participant")
    assert chooser.options == ["P2", "me"] and chooser.value == "me"
    mine_sitting = metric(app, "Sitting today")
    chooser.set_value("P2").run()
    assert not app.exception
    assert metric(app, "Sitting today") != mine_sitting
    assert metric(app, "Sitting today") == "0 min"
    assert "No windows on this day" not in page_text(app)

    app.switch_page("pages_export.py").run()
    app.radio(key="export_whose").set_value(app.radio(key="export_whose").options[1]).run()
    assert "Every participant" in page_text(app)
    study = csv_bytes(store_copy, "windows", filled_store.today, filled_store.today,
                      filled_store.tz, None).decode()
    assert {line.split(",")[0] for line in study.splitlines()[1:]} == {"P2", "me"}


# --- A study's database ---------------------------------------------------------------


def test_a_database_connection_dropped_by_the_server_is_made_again(
        pg_url: str, filled_store: FilledStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server restart (or an idle-session timeout) drops the dashboard's connection:
    the next refresh connects again rather than failing until the dashboard restarts."""
    import psycopg

    fill_store(pg_url, filled_store.days[-1:], filled_store.tz).close()
    app = open_app(pg_url, monkeypatch)
    shown = metric(app, "Sitting today")
    with psycopg.connect(pg_url, autocommit=True) as admin:
        dropped = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'sitting-tracker'").fetchone()
    assert dropped is not None and dropped[0] >= 1
    app.run()
    assert not app.exception, app.exception[0].message
    assert not app.error, app.error[0].value
    assert metric(app, "Sitting today") == shown


def test_a_database_out_of_reach_is_said_and_tried_again(
        pg_url: str, filled_store: FilledStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the server cannot be reached the page says so in one line (no traceback)
    and shows the figures again once it can."""
    import psycopg

    fill_store(pg_url, filled_store.days[-1:], filled_store.tz).close()
    app = open_app(pg_url, monkeypatch)
    shown = metric(app, "Sitting today")
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE application_name = 'sitting-tracker'")
    opened = Store.open

    def unreachable(*args: object, **kwargs: object) -> Store:
        raise store_module.StoreError("cannot connect (connection refused)")

    monkeypatch.setattr(Store, "open", unreachable)
    app.run()
    assert not app.exception, app.exception[0].message
    assert "cannot be read right now" in app.error[0].value
    assert "connection refused" in app.error[0].value
    monkeypatch.setattr(Store, "open", opened)
    app.run()
    assert not app.exception and not app.error
    assert metric(app, "Sitting today") == shown
