"""`classify` as a researcher pipes it: the windows on stdout, the summary apart."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "samples" / "waist-hapt-subject01.csv"


def test_windows_written_to_stdout_are_not_mixed_with_the_summary(tmp_path: Path) -> None:
    to_file = tmp_path / "labels.csv"
    command = [sys.executable, "-m", "tracker.cli", "classify", str(SAMPLE), "--location",
               "waist"]
    subprocess.run([*command, "-o", str(to_file)], check=True, capture_output=True)
    piped = subprocess.run([*command, "-o", "/dev/stdout"], check=True, capture_output=True,
                           text=True, cwd=REPO)
    assert piped.stdout == to_file.read_text()
    assert "Longest sitting bout" in piped.stderr
    assert len(pd.read_csv(io.StringIO(piped.stdout))) > 50


def classify_into(db: Path, tmp_path: Path, start: str) -> int:
    from tracker.cli import main

    return main(["classify", str(SAMPLE), "--location", "waist", "-o",
                 str(tmp_path / "labels.csv"), "--db", str(db), "--start", start,
                 "--tz", "UTC", "-q"])


def stored_rows(db: Path) -> tuple[list[tuple[object, ...]], ...]:
    from tracker.store import Store

    with Store.open(db, readonly=True) as store:
        return tuple(store.query_rows(f"SELECT * FROM {table} ORDER BY 1, 2, 3")
                     for table in ("windows", "bouts", "raw_chunks"))


def test_a_recording_overlapping_one_stored_for_the_device_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "store.sqlite"
    assert classify_into(db, tmp_path, "2024-05-06T09:00") == 0
    assert classify_into(db, tmp_path, "2024-05-06T09:00") == 0  # the same again: replaced
    before = stored_rows(db)
    capsys.readouterr()
    # The same file with another --start: both would be counted, the day's sitting twice.
    assert classify_into(db, tmp_path, "2024-05-06T09:03") == 2
    assert capsys.readouterr().err == (
        f"sitting-tracker classify: error: {db}: participant 'me', device "
        "'waist-hapt-subject01' already has data from 2024-05-06T09:03:00+00:00 to "
        "2024-05-06T09:06:52+00:00, which this recording (2024-05-06T09:03:00+00:00 to "
        "2024-05-06T09:09:52+00:00) overlaps; a band records one time once: give this "
        "recording another --device, or --start if it is wrong\n")
    assert stored_rows(db) == before
