"""Busy times from a local iCalendar (.ics) file: meetings pause the nudges.

Recurring meetings (RRULE, with their exceptions) are expanded by
`recurring-ical-events`; events marked free (TRANSP:TRANSPARENT), cancelled, or lasting a
whole day are not busy time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

from tracker.coach import Pause


class CalendarError(ValueError):
    """The calendar file cannot be read."""


def busy_pauses(path: str | Path, start: float, end: float, tz: tzinfo) -> list[Pause]:
    """Pauses for the busy events overlapping [start, end) (Unix seconds)."""
    import icalendar
    import recurring_ical_events

    try:
        calendar = icalendar.Calendar.from_ical(Path(path).expanduser().read_bytes())
    except (OSError, ValueError) as error:
        raise CalendarError(f"{path}: cannot read the calendar ({error})") from None
    window = (datetime.fromtimestamp(start, tz), datetime.fromtimestamp(end, tz))
    pauses = []
    for event in recurring_ical_events.of(calendar).between(*window):
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT" or \
                str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        first = event.decoded("DTSTART")
        if not isinstance(first, datetime):
            continue  # an all-day event (a holiday, a birthday) is not a meeting
        if "DTEND" in event:
            last = event.decoded("DTEND")
        else:
            last = first + (event.decoded("DURATION") if "DURATION" in event
                            else timedelta(0))
        pauses.append(Pause(_stamp(first, tz), _stamp(last, tz), "calendar"))
    return sorted(pauses, key=lambda p: p.start)


def _stamp(moment: datetime | date, tz: tzinfo) -> float:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).timestamp()
