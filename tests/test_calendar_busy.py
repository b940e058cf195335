"""Meetings in a local calendar file pause the nudges."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tracker.calendar_busy import busy_pauses
from tracker.coach import replay
from tracker.config import CoachSettings

TZ = ZoneInfo("Europe/Berlin")
ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//tests//EN
BEGIN:VEVENT
UID:standup
DTSTART;TZID=Europe/Berlin:20240603T092500
DTEND;TZID=Europe/Berlin:20240603T094500
RRULE:FREQ=DAILY;COUNT=5
SUMMARY:Stand-up
END:VEVENT
BEGIN:VEVENT
UID:focus
DTSTART;TZID=Europe/Berlin:20240603T110000
DTEND;TZID=Europe/Berlin:20240603T120000
TRANSP:TRANSPARENT
SUMMARY:Focus time (free)
END:VEVENT
BEGIN:VEVENT
UID:holiday
DTSTART;VALUE=DATE:20240604
DTEND;VALUE=DATE:20240605
SUMMARY:Holiday
END:VEVENT
END:VCALENDAR
"""


def test_recurring_busy_events_become_pauses_and_free_ones_do_not(tmp_path: Path) -> None:
    path = tmp_path / "work.ics"
    path.write_text(ICS)
    monday = datetime(2024, 6, 3, tzinfo=TZ).timestamp()
    pauses = busy_pauses(path, monday, monday + 3 * 86400, TZ)
    starts = [datetime.fromtimestamp(p.start, TZ).strftime("%a %H:%M") for p in pauses]
    assert starts == ["Mon 09:25", "Tue 09:25", "Wed 09:25"]
    assert all(p.end - p.start == 20 * 60 and p.reason == "calendar" for p in pauses)


def test_a_nudge_due_in_a_meeting_comes_when_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "work.ics"
    path.write_text(ICS)
    nine = datetime(2024, 6, 3, 9, tzinfo=TZ).timestamp()
    windows = [(nine + i * 5, nine + (i + 1) * 5, "sitting") for i in range(60 * 12)]
    events = replay(windows, CoachSettings(), TZ, busy_pauses(path, nine, nine + 3600, TZ))
    nudges = [(e.time - nine) / 60 for e in events if e.kind == "nudge"]
    assert nudges == [45.0]
    assert [e.detail for e in events if e.kind == "suppressed"] == ["calendar"]


def test_the_collector_reads_the_configured_calendar(tmp_path: Path) -> None:
    from datetime import timedelta

    from tracker.collector import Collector, CollectorOptions
    from tracker.config import Settings
    from tracker.posture_model import load_default_model

    now = datetime.now(TZ).replace(microsecond=0)
    start, end = now - timedelta(minutes=10), now + timedelta(minutes=20)
    path = tmp_path / "today.ics"
    path.write_text(ICS.replace("20240603T092500", start.strftime("%Y%m%dT%H%M%S"))
                    .replace("20240603T094500", end.strftime("%Y%m%dT%H%M%S")))
    settings = Settings(coach=CoachSettings(calendar_ics=str(path)))
    collector = Collector(CollectorOptions(db=tmp_path / "s.sqlite", device="x",
                                           location="thigh"),
                          settings, load_default_model("thigh", compact=True), TZ)
    pauses = collector._calendar_pauses()
    assert [(p.start, p.end) for p in pauses][:1] == [(start.timestamp(), end.timestamp())]
