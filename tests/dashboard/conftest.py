"""A store filled once per test session by the real pipeline: the office day of real
thigh recordings, classified, stored as three days (today, yesterday with a gap of no
data, and eight days ago), with the coach's replayed events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from pathlib import Path

import pandas as pd
import pytest

from dashboard.sample_days import StoredDay, fill_store
from tracker.bouts import daily_summary
from tracker.store import Store
from tracker.timezones import local_timezone


@dataclass(frozen=True)
class FilledStore:
    path: Path
    tz: tzinfo
    today: date
    days: tuple[StoredDay, ...]

    def daily(self) -> pd.DataFrame:
        """The store's own daily figures (as `export daily` computes them), by date."""
        with Store.open(self.path, readonly=True) as store:
            bouts = store.bouts().rename(columns={"start_s": "start", "end_s": "end"})
        bouts["duration_s"] = bouts["end"] - bouts["start"]
        return daily_summary(bouts, self.tz).set_index("date")


@pytest.fixture(scope="session", autouse=True)
def own_settings_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Never read or write the settings of the person running the tests."""
    path = tmp_path_factory.mktemp("config") / "config.toml"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SITTING_TRACKER_CONFIG", str(path))
        patch.delenv("SITTING_TRACKER_DB", raising=False)
        yield path


@pytest.fixture(scope="session")
def filled_store(tmp_path_factory: pytest.TempPathFactory) -> FilledStore:
    tz = local_timezone()
    today = date.today()
    days = (StoredDay(today - timedelta(days=8), 9.5),
            StoredDay(today - timedelta(days=1), 8.5, cut_minutes=(100.0, 130.0)),
            StoredDay(today, 9.0, with_raw=True))
    path = tmp_path_factory.mktemp("store") / "tracker.sqlite"
    fill_store(path, days, tz).close()
    return FilledStore(path=path, tz=tz, today=today, days=days)
