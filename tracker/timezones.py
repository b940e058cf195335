"""Which time zone a local calendar day is counted in."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local_timezone() -> tzinfo:
    """The machine's time zone, with its daylight-saving rules (not just today's offset)."""
    from tzlocal import get_localzone

    try:
        return get_localzone()
    except (LookupError, ValueError, ZoneInfoNotFoundError):
        return ZoneInfo("UTC")


# The store's meta key for the zone a participant's device was classified in: `export`
# counts days in it unless told otherwise, so a study classified in its own zone is not
# cut at the analyst's midnight.
STORED_ZONE_KEY = "timezone"


def zone_name(tz: tzinfo) -> str | None:
    """The IANA name of a zone (None for a fixed offset, which has no name to keep)."""
    key = getattr(tz, "key", None)
    return str(key) if key else None


def timezone_named(name: str | None) -> tzinfo:
    """An IANA zone such as 'Europe/Berlin'; the machine's zone for None or 'local'."""
    if name is None or name == "local":
        return local_timezone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use a name such as Europe/Berlin)") \
            from None


def parse_datetime(text: str, tz: tzinfo) -> datetime:
    """An ISO 8601 date-time; one without an offset is taken in `tz`."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {text!r} (e.g. 2024-05-01T08:30)") \
            from None
    if moment.tzinfo:
        return moment
    earlier, later = moment.replace(tzinfo=tz, fold=0), moment.replace(tzinfo=tz, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return earlier
    # A wall-clock time at a daylight-saving change: skipped (spring) or twice (autumn).
    # Guessing would put every stored time an hour off, so the user says which.
    exists = earlier.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == moment
    offsets = " or ".join(_offset_text(m) for m in (earlier, later))
    if exists:
        raise ValueError(f"{text} happens twice in {tz} (clocks go back): add the UTC "
                         f"offset, {offsets}")
    raise ValueError(f"{text} does not exist in {tz} (clocks go forward): add the UTC "
                     f"offset the recording's clock had, {offsets}")


def _offset_text(moment: datetime) -> str:
    offset = moment.isoformat()[-6:]
    return f"{moment.replace(tzinfo=None).isoformat()}{offset}"
