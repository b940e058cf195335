"""The dashboard counts a participant's days in the zone their band's data was classified
or collected in, as `export` does, not in the zone of the machine that shows it (an
analyst abroad, a study's store read elsewhere)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.dashboard.test_app import open_app, page_text
from tracker.cli import main as cli_main
from tracker.timezones import local_timezone

RECORDING = Path(__file__).resolve().parents[2] / "data" / "samples" / \
    "waist-hapt-subject01.csv"
DAY = date(2026, 3, 10)


def far_zone() -> tuple[str, str]:
    """A zone and a start time in it on DAY whose moment falls on another date here."""
    noon = datetime.combine(DAY, datetime.min.time(), local_timezone()) + timedelta(hours=12)
    offset = noon.utcoffset() or timedelta(0)
    if offset < timedelta(hours=2):  # 02:00 at UTC+14 is the day before west of UTC+12
        return "Pacific/Kiritimati", f"{DAY}T02:00"
    return "Pacific/Pago_Pago", f"{DAY}T22:00"  # UTC-11: the day after east of UTC-9


@pytest.fixture
def abroad(tmp_path: Path) -> tuple[Path, str]:
    zone, start = far_zone()
    db = tmp_path / "study.sqlite"
    assert cli_main(["classify", str(RECORDING), "--location", "waist", "-q",
                     "-o", str(tmp_path / "labels.csv"), "--db", str(db),
                     "--participant", "p01", "--start", start, "--tz", zone]) == 0
    assert datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(zone)).astimezone(
        local_timezone()).date() != DAY
    return db, zone


def test_today_shows_the_day_in_the_bands_zone(abroad: tuple[Path, str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = abroad
    app = open_app(db, monkeypatch)
    assert app.date_input(key="today_day").value == DAY


def test_export_counts_days_in_the_bands_zone(abroad: tuple[Path, str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    db, zone = abroad
    app = open_app(db, monkeypatch, "pages_export.py")
    assert app.date_input(key="export_days").value == (DAY, DAY)
    assert f"local days {DAY} to {DAY} ({zone})" in page_text(app)


def test_each_participant_is_shown_in_their_own_zone(abroad: tuple[Path, str],
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    db, zone = abroad
    assert cli_main(["classify", str(RECORDING), "--location", "waist", "-q",
                     "-o", str(tmp_path / "home.csv"), "--db", str(db),
                     "--participant", "p02", "--start", f"{DAY}T12:00",
                     "--tz", "UTC"]) == 0
    app = open_app(db, monkeypatch, "pages_export.py")
    assert f"({zone})" in page_text(app)
    app.sidebar.selectbox(key="participant").set_value("p02").run()
    assert not app.exception
    assert f"local days {DAY} to {DAY} (UTC)" in page_text(app)
