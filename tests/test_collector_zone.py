"""A collector started in another time zone than the band's days were counted in (a
trip, or the computer's zone set anew) counts them all in the new one from then on: the
store keeps one zone per band. That is said, not done silently."""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tracker.collector import Collector, CollectorOptions
from tracker.config import NotifySettings, Settings
from tracker.posture_model import load_default_model
from tracker.store import Store
from tracker.timezones import STORED_ZONE_KEY

SETTINGS = Settings(notify=NotifySettings(desktop=False, band=False))
MODEL = load_default_model("thigh", compact=True)


def start(db: Path, zone: str) -> None:
    """What a collector does with its zone as it starts."""
    collector = Collector(CollectorOptions(db=db, device="band", location="thigh",
                                           participant="p1"), SETTINGS, MODEL, ZoneInfo(zone))
    with Store.open(db) as store:
        collector.store = store
        collector._keep_zone()


def test_a_new_zone_is_kept_said_and_recorded(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "tracker.sqlite"
    with caplog.at_level(logging.WARNING):
        start(db, "Europe/Berlin")
        start(db, "Europe/Berlin")
    assert caplog.text == ""  # the same zone again is nothing to say
    with caplog.at_level(logging.WARNING):
        start(db, "America/New_York")
    assert "counted in Europe/Berlin; from now on all of them are counted in " \
        "America/New_York" in caplog.text
    with Store.open(db, readonly=True) as store:
        assert store.meta(STORED_ZONE_KEY, participant="p1", device="band") == \
            "America/New_York"
        events = store.events(participant="p1")
    changes = events[events["kind"] == "zone_changed"]
    assert changes["detail"].tolist() == ["Europe/Berlin -> America/New_York"]
