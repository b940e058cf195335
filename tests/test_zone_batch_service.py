"""A stored time zone that a second classify would replace, a batch whose study table
cannot be written, export's zone note on a failed export, and the settings file of the
collector service."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tracker.cli import main
from tracker.store import Store
from tracker.timezones import STORED_ZONE_KEY

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "samples" / "waist-hapt-subject01.csv"


def short_recording(path: Path, start: float = 0.0) -> Path:
    """Two minutes of the sample, `t` from `start`."""
    frame = pd.read_csv(SAMPLE, nrows=6_000)[["t", "x", "y", "z"]]
    frame["t"] = frame["t"] - frame["t"].iloc[0] + start
    frame.to_csv(path, index=False)
    return path


# ---------------------------------------------------------------- classify --tz

def classify(tmp_path: Path, zone: str, *extra: str) -> int:
    return main(["classify", str(tmp_path / "rec.csv"), "--location", "waist", "-o",
                 str(tmp_path / f"{zone.replace('/', '-')}.csv"), "--db",
                 str(tmp_path / "s.sqlite"), "--start", "2024-05-06T10:00", "--tz", zone,
                 "-q", *extra])


def stored_zone_and_windows(db: Path) -> tuple[str | None, int]:
    with Store.open(db, readonly=True) as store:
        return (store.meta(STORED_ZONE_KEY, participant="me", device="rec"),
                len(store.windows()))


def test_classify_refuses_to_replace_the_zone_a_device_is_stored_in(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The store keeps one zone per participant's device, which `export` cuts all its
    days in: a second --tz must not move the days of the first recording silently."""
    short_recording(tmp_path / "rec.csv")
    db = tmp_path / "s.sqlite"
    assert classify(tmp_path, "Europe/Berlin") == 0
    before = stored_zone_and_windows(db)
    capsys.readouterr()

    assert classify(tmp_path, "Europe/Oslo") == 2
    assert capsys.readouterr().err.splitlines() == [
        f"sitting-tracker classify: error: {db}: participant 'me', device 'rec' is "
        "stored in time zone Europe/Berlin, not Europe/Oslo (--tz); export counts all "
        "its days in one zone: pass --tz Europe/Berlin, or --replace-tz to count them "
        "all in Europe/Oslo"]
    assert stored_zone_and_windows(db) == before
    assert not (tmp_path / "Europe-Oslo.csv").exists()

    # The stored zone adds to it; --replace-tz says the change is meant.
    assert classify(tmp_path, "Europe/Berlin") == 0
    assert classify(tmp_path, "Europe/Oslo", "--replace-tz") == 0
    assert stored_zone_and_windows(db)[0] == "Europe/Oslo"


def test_another_device_of_the_participant_keeps_its_own_zone(tmp_path: Path) -> None:
    short_recording(tmp_path / "rec.csv")
    assert classify(tmp_path, "Europe/Berlin") == 0
    assert classify(tmp_path, "Europe/Oslo", "--device", "other") == 0
