"""Settings: defaults without a file, and one clear error naming the bad key."""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from pathlib import Path

import pytest

from tracker.config import (
    ConfigError,
    Settings,
    load_settings,
    parse_time_range,
    save_settings,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.toml")
    assert settings == Settings()
    assert settings.coach.sitting_threshold_min == 30


def test_reads_and_round_trips(tmp_path: Path) -> None:
    path = write(tmp_path, '[coach]\nsitting_threshold_min = 45\nworking_days = ["mon"]\n'
                 '[tracker]\nlocation = "waist"\n')
    settings = load_settings(path)
    assert settings.coach.sitting_threshold_min == 45.0
    assert settings.coach.working_days == ("mon",)
    assert settings.tracker.location == "waist"
    changed = replace(settings, coach=replace(settings.coach, break_min=5))
    save_settings(changed, path)
    assert load_settings(path) == changed


@pytest.mark.parametrize(("text", "message"), [
    ("[coach]\nsitting_treshold_min = 30\n", "coach.sitting_treshold_min: unknown setting"),
    ("[coach]\nbreak_min = \"two\"\n", "coach.break_min: expected a number"),
    ("[coach]\nworking_hours = \"09:00-25:00\"\n", "coach.working_hours: '09:00-25:00' is not"),
    ("[coach]\nquiet_hours = \"7-8\"\n", "coach.quiet_hours:"),
    ("[coach]\nworking_days = [\"monday\"]\n", "coach.working_days: monday not among"),
    ("[coach]\nsitting_threshold_min = -5\n", "coach.sitting_threshold_min: -5 minutes"),
    ("[notify]\ndesktop = \"yes\"\n", "notify.desktop: expected true or false"),
    ("[tracker]\nlocation = \"ankle\"\n", "tracker.location: 'ankle' is not one of"),
    ("[tracker]\ndb = \"mysql://h/db\"\n",
     "tracker.db: unsupported database URL scheme 'mysql' (use a file path or postgresql://"),
    ("[coach]\ncalendar_ics = \"/nowhere/cal.ics\"\n", "coach.calendar_ics: no such file"),
    ("[colector]\n", "[colector]: unknown section"),
    ("[coach\n", "not valid TOML"),
])
def test_bad_settings_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_time_ranges_wrap_midnight() -> None:
    night = parse_time_range("22:00-07:00")
    assert night.contains(time(23, 30)) and night.contains(time(6, 59))
    assert not night.contains(time(7, 0)) and not night.contains(time(12, 0))
    assert parse_time_range("09:00-17:30").contains(time(9, 0))


def test_a_custom_band_is_checked_and_matched(tmp_path: Path) -> None:
    from tracker.ble import band_profiles

    good = write(tmp_path, '[custom_band]\nname_prefix = "MyBand"\n'
                 'service_uuid = "0000aaaa-1111-2222-3333-444455556666"\n'
                 'data_uuid = "0000aaab-1111-2222-3333-444455556666"\n'
                 'sample_format = "<hhh"\nscale_to_g = 0.001\nsample_rate_hz = 25\n'
                 'notification_interval_s = 0.2\n')
    settings = load_settings(good)
    profiles = band_profiles(settings.custom_band)
    assert profiles[0].id == "custom"
    assert profiles[0].matches("MyBand 01", [], {}) and not profiles[0].matches("Other", [], {})
    frame = profiles[0].decode(bytes.fromhex("e803 0000 18fc"))
    assert frame.xyz.tolist() == [[1.0, 0.0, pytest.approx(-1.0)]]
    save_settings(settings, good)
    assert load_settings(good) == settings
    bad = write(tmp_path, '[custom_band]\nname_prefix = "MyBand"\nsample_format = "<hhh"\n')
    with pytest.raises(ConfigError, match=r"\[custom_band\]: custom profile config lacks"):
        load_settings(bad)
