"""The Today page read for an earlier day: the timeline shows the day's data, not the
empty evening after it."""

from __future__ import annotations

import json
import math
from datetime import datetime

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.aggregate import day_bounds
from tests.dashboard.conftest import FilledStore
from tests.dashboard.test_app import open_app
from tracker.store import Store

HOUR_S = 3600.0


def timeline_domain(app: AppTest) -> list[str]:
    chart = next(e for e in app.main if getattr(e, "type", "") == "vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    return list(spec["layer"][0]["encoding"]["x"]["scale"]["domain"])


def test_an_earlier_days_timeline_ends_the_hour_after_its_data(
        filled_store: FilledStore, monkeypatch: pytest.MonkeyPatch) -> None:
    yesterday = filled_store.days[1].day
    start, end = day_bounds(yesterday, filled_store.tz)
    with Store.open(filled_store.path, readonly=True) as store:
        last = float(store.windows(start, end)["end_s"].max())
    app = open_app(filled_store.path, monkeypatch)
    app.date_input(key="today_day").set_value(yesterday).run()
    hour_after = datetime.fromtimestamp(math.ceil(last / HOUR_S) * HOUR_S, filled_store.tz)
    # It ran on to midnight: hours of grey "no data" after the band came off.
    assert timeline_domain(app)[1] == hour_after.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_breaks_taken_say_how_they_differ_from_the_daily_summarys_breaks(
        filled_store: FilledStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # A replayed office day: 7 breaks taken here, 8 breaks in `export daily` (and in
    # History's rate): a short stand between two sitting bouts is a break there only.
    app = open_app(filled_store.path, monkeypatch)
    figure = next(m for m in app.metric if m.label == "Breaks taken / owed")
    assert "History and `export daily` count every upright bout between two sitting " \
        "bouts as a break, however short" in figure.proto.help
