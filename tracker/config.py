"""The settings file shared by the collector, the dashboard and the commands.

A TOML file (default: the user config dir's `sitting-tracker/config.toml`) with three
tables. Every key is checked when the file is read: an unknown key, a wrong type or an
impossible hour is one clear `ConfigError` naming the key, at start-up, not a crash
hours later.

    [tracker]
    location = "thigh"              # thigh, waist or wrist
    db = "~/tracker.sqlite"         # a file or postgresql:// URL; $SITTING_TRACKER_DB
                                    # and --db win over it (tracker/store_choice.py)
    participant = "me"
    device = ""                     # band name or address; empty: the first supported band

    [coach]
    sitting_threshold_min = 30      # nudge after this much sitting without a break
    remind_every_min = 10           # then again this often until a break
    break_min = 2                   # an upright bout this long counts as a break
    streak_gap_tolerance_min = 2    # shorter data gaps do not end a sitting streak
    working_days = ["mon", "tue", "wed", "thu", "fri"]
    working_hours = "09:00-17:30"
    quiet_hours = "22:00-07:00"
    calendar_ics = ""               # a local .ics file whose busy times pause nudges

    [notify]
    desktop = true
    band = true                     # buzz the band where it can

    [custom_band]                   # optional: a band without a built-in profile
    name_prefix = "MyBand"          # (keys: see tracker/devices/custom.py)
    service_uuid = "..."
    data_uuid = "..."
    sample_format = "<hhh"
    scale_to_g = 0.000244140625
    sample_rate_hz = 25
    notification_interval_s = 0.2
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from datetime import time
from pathlib import Path
from typing import Any

from tracker.store_backends import unsupported_url

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOCATIONS = ("thigh", "waist", "wrist")


class ConfigError(Exception):
    """A setting that cannot be used, told as `file: key: problem`."""


@dataclass(frozen=True)
class TimeRange:
    """A daily time range; may wrap past midnight (22:00-07:00)."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_time_range(text: str) -> TimeRange:
    """'09:00-17:30' -> TimeRange; ValueError with a reason otherwise."""
    try:
        first, second = (part.strip() for part in text.split("-"))
        start, end = time.fromisoformat(first), time.fromisoformat(second)
    except ValueError:
        raise ValueError(f"{text!r} is not a time range like '09:00-17:30'") from None
    if start == end:
        raise ValueError(f"{text!r} is empty: start and end are the same")
    return TimeRange(start, end)


@dataclass(frozen=True)
class TrackerSettings:
    location: str = "thigh"
    db: str = ""
    participant: str = "me"
    device: str = ""


@dataclass(frozen=True)
class CoachSettings:
    sitting_threshold_min: float = 30.0
    remind_every_min: float = 10.0
    break_min: float = 2.0
    streak_gap_tolerance_min: float = 2.0
    working_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    working_hours: str = "09:00-17:30"
    quiet_hours: str = "22:00-07:00"
    calendar_ics: str = ""

    @property
    def working_range(self) -> TimeRange:
        return parse_time_range(self.working_hours)

    @property
    def quiet_range(self) -> TimeRange | None:
        return parse_time_range(self.quiet_hours) if self.quiet_hours else None


@dataclass(frozen=True)
class NotifySettings:
    desktop: bool = True
    band: bool = True


@dataclass(frozen=True)
class Settings:
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    coach: CoachSettings = field(default_factory=CoachSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    custom_band: dict[str, Any] | None = None  # a profile for a band we have none for


def default_config_path() -> Path:
    from_env = os.environ.get("SITTING_TRACKER_CONFIG")
    if from_env:
        return Path(from_env).expanduser()
    from platformdirs import user_config_path

    return user_config_path("sitting-tracker", appauthor=False) / "config.toml"


def _check_value(where: str, name: str, expected: Any, value: Any) -> Any:
    """The value converted to the field's type, or ConfigError."""
    if expected is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}.{name}: expected true or false, got {value!r}")
        return value
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}.{name}: expected a number, got {value!r}")
        return float(value)
    if expected is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}.{name}: expected a string, got {value!r}")
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.{name}: expected a list of strings, got {value!r}")
    return tuple(value)


_TYPES = {"bool": bool, "float": float, "str": str, "tuple[str, ...]": tuple}


def _section(where: str, cls: type, table: Any) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {table!r}")
    known = {f.name: _TYPES[str(f.type)] for f in fields(cls)}
    values = {}
    for name, value in table.items():
        if name not in known:
            raise ConfigError(f"{where}.{name}: unknown setting (known: {', '.join(known)})")
        values[name] = _check_value(where, name, known[name], value)
    return cls(**values)


def validate(settings: Settings) -> Settings:
    """Checks that need more than the type: ranges, hours, names."""
    tracker, coach = settings.tracker, settings.coach
    if tracker.location not in LOCATIONS:
        raise ConfigError(f"tracker.location: {tracker.location!r} is not one of "
                          f"{', '.join(LOCATIONS)}")
    db_problem = unsupported_url(tracker.db)
    if db_problem:
        raise ConfigError(f"tracker.db: {db_problem}")
    for name in ("sitting_threshold_min", "remind_every_min", "break_min"):
        value = getattr(coach, name)
        if not 0 < value <= 24 * 60:
            raise ConfigError(f"coach.{name}: {value:g} minutes is not between 0 and 1440")
    if not 0 <= coach.streak_gap_tolerance_min <= 60:
        raise ConfigError(f"coach.streak_gap_tolerance_min: {coach.streak_gap_tolerance_min:g}"
                          " minutes is not between 0 and 60")
    unknown_days = [d for d in coach.working_days if d not in WEEKDAYS]
    if unknown_days:
        raise ConfigError(f"coach.working_days: {', '.join(unknown_days)} not among "
                          f"{', '.join(WEEKDAYS)}")
    for name in ("working_hours", "quiet_hours"):
        text = getattr(coach, name)
        if name == "quiet_hours" and text == "":
            continue
        try:
            parse_time_range(text)
        except ValueError as error:
            raise ConfigError(f"coach.{name}: {error}") from None
    if coach.calendar_ics and not Path(coach.calendar_ics).expanduser().is_file():
        raise ConfigError(f"coach.calendar_ics: no such file {coach.calendar_ics!r}")
    if settings.custom_band is not None:
        from tracker.devices import make_custom_profile

        try:
            make_custom_profile(settings.custom_band)
        except (ValueError, TypeError) as error:
            raise ConfigError(f"[custom_band]: {error}") from None
    return settings


def settings_from_dict(data: dict[str, Any]) -> Settings:
    sections = {"tracker": TrackerSettings, "coach": CoachSettings, "notify": NotifySettings}
    parts: dict[str, Any] = {}
    for name, table in data.items():
        if name == "custom_band" and isinstance(table, dict):
            parts[name] = dict(table)  # checked whole, by the profile it describes
            continue
        if name not in sections:
            raise ConfigError(f"[{name}]: unknown section (known: "
                              f"{', '.join([*sections, 'custom_band'])})")
        parts[name] = _section(name, sections[name], table)
    return validate(Settings(**parts))


def load_settings(path: str | Path | None = None) -> Settings:
    """Settings from `path` (default config file); defaults where the file is absent."""
    path = Path(path) if path else default_config_path()
    try:
        if not path.exists():
            return Settings()
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    except OSError as error:  # no read permission, a folder, a folder we may not enter
        raise ConfigError(f"{path}: cannot read the settings file "
                          f"({error.strerror or error})") from None
    try:
        return settings_from_dict(data)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def save_settings(settings: Settings, path: str | Path | None = None) -> Path:
    """Validate and write settings (atomically) as TOML."""
    import tomli_w

    validate(settings)
    path = Path(path) if path else default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = asdict(settings)
    data["coach"]["working_days"] = list(settings.coach.working_days)
    if data["custom_band"] is None:
        del data["custom_band"]
    temporary = path.with_suffix(".toml.part")
    temporary.write_text(tomli_w.dumps(data), encoding="utf-8")
    os.replace(temporary, path)
    return path

