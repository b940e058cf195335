"""`sitting-tracker batch` on a small study folder of real recordings.

Dask clusters take a few seconds to start, so the folder is classified a few times in a
module fixture and the tests check what those runs produced.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from dask.distributed import LocalCluster

from tracker.batch import (
    DAILY_COLUMNS,
    Recording,
    Settings,
    classify_recording,
    discover,
    marker_path,
    read_marker,
    study_daily_table,
)
from tracker.cli import main
from tracker.export import COLUMNS

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "samples" / "waist-hapt-subject01.csv"  # 412 s of real waist data
TZ = "Europe/Berlin"
BERLIN = ZoneInfo(TZ)
RECORDINGS = {  # name -> (local start, first row, last row) of the sample
    "p01_waist.csv": ("2024-06-03T09:00", 0, 20_598),
    "p02.parquet": ("2024-06-03T14:30", 3_000, 18_000),
    # runs past midnight; kept compressed, as studies often keep their files
    "p03_waist.csv.gz": ("2024-06-04T23:57", 1_000, 20_598),
}
CORRUPT = "p04_waist.csv"
OPTIONS = ["--location", "waist", "--tz", TZ, "--quiet"]


def unix(local: str) -> float:
    return datetime.fromisoformat(local).replace(tzinfo=BERLIN).timestamp()


def write_study(folder: Path) -> Path:
    folder.mkdir()
    sample = pd.read_csv(SAMPLE)[["t", "x", "y", "z"]]
    for name, (start, first, last) in RECORDINGS.items():
        part = sample.iloc[first:last].copy()
        part["t"] = part["t"] - part["t"].iloc[0] + unix(start)
        if ".csv" in name:
            part.to_csv(folder / name, index=False)  # gzip-compressed for .csv.gz
        else:
            part.to_parquet(folder / name)
    (folder / CORRUPT).write_text("t,x,y,z\n1717398000.00,0.1,0.2,0.9\n"
                                  "1717398000.02,0.1,oops,0.9\n")
    (folder / "README.txt").write_text("not a recording\n")
    return folder


def outputs(out: Path) -> dict[str, bytes]:
    """Every file a user sees (the hidden .batch state left out)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.relative_to(out).as_posix().startswith(".batch")}


@dataclass
class Runs:
    study: Path
    two_workers: Path
    one_worker: Path
    first_codes: tuple[int, int]
    first_files: dict[str, bytes]
    mtimes: dict[str, int]
    rerun_code: int
    rerun_summary: str


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("batch")
    study = write_study(root / "study")
    two, one = root / "out2", root / "out1"
    codes = (main(["batch", str(study), "-o", str(two), "--workers", "2", *OPTIONS]),
             main(["batch", str(study), "-o", str(one), "--workers", "1", *OPTIONS]))
    first = outputs(two)
    mtimes = {p.as_posix(): p.stat().st_mtime_ns for p in two.rglob("*.csv")}
    # A second run into the same folder, with the summary printed this time.
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        rerun = main(["batch", str(study), "-o", str(two), "--workers", "2", "--location",
                      "waist", "--tz", TZ])
    return Runs(study, two, one, codes, first, mtimes, rerun, printed.getvalue())


def test_same_files_on_two_workers_as_on_one(runs: Runs) -> None:
    assert runs.first_codes == (1, 1)  # the corrupt file fails both runs, nothing else
    assert runs.first_files == outputs(runs.one_worker)
    assert sorted(runs.first_files) == [
        "bouts/p01_waist.csv", "bouts/p02.csv", "bouts/p03_waist.csv", "daily.csv",
        "failures.csv", "windows/p01_waist.csv", "windows/p02.csv", "windows/p03_waist.csv"]


def test_windows_are_what_classify_writes(runs: Runs, tmp_path: Path) -> None:
    for name in RECORDINGS:
        out = tmp_path / f"{name}.csv"
        assert main(["classify", str(runs.study / name), "--location", "waist", "-o",
                     str(out), "-q"]) == 0
        key = name.split(".", 1)[0]
        assert runs.first_files[f"windows/{key}.csv"] == out.read_bytes(), name


def test_the_corrupt_file_is_reported_and_the_rest_finish(runs: Runs) -> None:
    with (runs.two_workers / "failures.csv").open(newline="") as handle:
        failures = list(csv.DictReader(handle))
    assert len(failures) == 1
    assert failures[0]["recording"] == CORRUPT
    assert failures[0]["participant_id"] == "p04"
    assert failures[0]["error"] == (f"{runs.study.resolve() / CORRUPT}: line 3: column y "
                                    "has a non-numeric value 'oops'")
    assert not any("p04" in name for name in runs.first_files if name != "failures.csv")
    assert runs.rerun_code == 1
    assert f"{CORRUPT}: line 3: column y has a non-numeric value 'oops'" in runs.rerun_summary


def test_a_second_run_skips_finished_recordings(runs: Runs) -> None:
    assert "4 recordings: 0 classified, skipped 3" in runs.rerun_summary
    assert "1 failed" in runs.rerun_summary
    for path, mtime in runs.mtimes.items():
        if "/windows/" in path or "/bouts/" in path:
            assert Path(path).stat().st_mtime_ns == mtime, path
    assert outputs(runs.two_workers) == runs.first_files


def test_a_killed_run_leaves_nothing_partial_and_is_redone(runs: Runs, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # On a cluster that is already running, given by its address this time.
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        batch = ["batch", str(runs.study), "-o", str(out), "--scheduler",
                 cluster.scheduler_address, *OPTIONS]
        assert main(batch) == 1
        # What a run killed while writing p02 leaves: its temp file, an older windows
        # file (renamed into place) and no marker yet.
        (out / "windows" / ".p02.csv.x1y2.part").write_text("start,end,lab")
        (out / "windows" / "p02.csv").write_text("start,end\n")
        marker_path(out, "p02").unlink()
        kept = (out / "windows" / "p01_waist.csv").stat().st_mtime_ns
        assert main(batch) == 1
    assert outputs(out) == runs.first_files
    assert not list(out.rglob("*.part"))
    assert (out / "windows" / "p01_waist.csv").stat().st_mtime_ns == kept


def test_daily_table_has_one_row_per_participant_day(runs: Runs) -> None:
    daily = pd.read_csv(runs.two_workers / "daily.csv", dtype={"participant_id": str})
    assert set(daily.columns) == set(COLUMNS["daily"])
    assert list(daily.columns) == DAILY_COLUMNS
    assert list(zip(daily["participant_id"], daily["date"], strict=True)) == [
        ("p01", "2024-06-03"), ("p02", "2024-06-03"), ("p03", "2024-06-04"),
        ("p03", "2024-06-05")]
    assert daily["day_start"].iloc[0] == "2024-06-03T00:00:00.000+02:00"
    assert (daily["wear_min"] > 0).all()


def test_daily_rows_equal_export_daily(runs: Runs, tmp_path: Path) -> None:
    """The same figures as classifying into a store and running `export daily`."""
    db, out = tmp_path / "s.sqlite", tmp_path / "daily.csv"
    assert main(["classify", str(runs.study / "p03_waist.csv.gz"), "--location", "waist", "-o",
                 str(tmp_path / "w.csv"), "-q", "--db", str(db), "--participant", "p03",
                 "--tz", TZ]) == 0
    assert main(["export", "daily", "--db", str(db), "-o", str(out), "--tz", TZ]) == 0
    with out.open(newline="") as handle:
        expected = list(csv.DictReader(handle))
    with (runs.two_workers / "daily.csv").open(newline="") as handle:
        batch = [row for row in csv.DictReader(handle) if row["participant_id"] == "p03"]
    assert batch == expected


def test_recordings_one_after_another_share_a_day(tmp_path: Path) -> None:
    """A band swapped mid-day: one row for that day. Overlapping ones: kept apart."""
    sample = pd.read_csv(SAMPLE)[["t", "x", "y", "z"]]
    start = unix("2024-06-03T10:00")
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    halves = {"p09_a.csv": (0, 10_000, start), "p09_b.csv": (10_000, 20_598, start),
              "p08_a.csv": (0, 10_000, start), "p08_b.csv": (0, 10_000, start + 60)}
    for name, (first, last, t0) in halves.items():
        part = sample.iloc[first:last].copy()
        part["t"] = part["t"] - sample["t"].iloc[0] + t0
        part.to_csv(folder / name, index=False)
    settings = Settings(location="waist", tz=TZ)
    recordings, problems = discover(folder)
    assert not problems
    for recording in recordings:  # in this process: the task is a plain function
        assert classify_recording(recording, out, settings).error is None
    markers = [read_marker(out, r) for r in recordings]
    daily, notes = study_daily_table([m for m in markers if m], out, BERLIN)
    assert list(zip(daily["participant_id"], daily["device_id"], strict=True)) == [
        ("p08", "p08_a"), ("p08", "p08_b"), ("p09", "p09_a;p09_b")]
    assert len(notes) == 1 and "p08_a and p08_b overlap" in notes[0]
    whole = sum(m["days"][0]["wear_min"] for m in markers if m and m["participant"] == "p09")
    assert daily["wear_min"].iloc[2] == pytest.approx(whole)


def test_participant_rules(tmp_path: Path) -> None:
    for name in ("P01/thigh.csv", "P01/wrist.parquet", "P02/monday.csv.gz", "loose.csv",
                 ".hidden/x.csv", "P02/.x.csv", "notes.txt", "_odd.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("t,x,y,z\n")
    by_parent, problems = discover(tmp_path, "parent")
    assert [(r.key, r.participant, r.device) for r in by_parent] == [
        ("P01/thigh", "P01", "thigh"), ("P01/wrist", "P01", "wrist"),
        ("P02/monday", "P02", "monday")]
    assert [o.recording.name for o in problems] == ["_odd.csv", "loose.csv"]
    by_stem, problems = discover(tmp_path, "stem")
    assert [r.participant for r in by_stem] == ["thigh", "wrist", "monday", "loose"]
    assert [o.recording.name for o in problems] == ["_odd.csv"]
    assert isinstance(by_stem[0], Recording)


def test_files_of_one_name_in_different_folders_keep_apart(tmp_path: Path) -> None:
    for name in ("week1/p009.csv", "week2/p009.csv", "week2/p010.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("t,x,y,z\n")
    recordings, problems = discover(tmp_path, "stem")
    assert not problems
    # As device id the file name alone would make both p009 files look like one.
    assert [(r.participant, r.device) for r in recordings] == [
        ("p009", "week1/p009"), ("p009", "week2/p009"), ("p010", "p010")]


@pytest.mark.parametrize("setup, message", [
    ("missing", "no such folder"), ("empty", "no recordings found")])
def test_bad_input_folder_is_one_line_and_exit_2(tmp_path: Path, setup: str, message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "study"
    if setup == "empty":
        folder.mkdir()
    assert main(["batch", str(folder), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_other_settings_are_refused_on_resume(runs: Runs,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", str(runs.study), "-o", str(runs.one_worker), "--location",
                 "thigh", "--tz", TZ]) == 2
    assert "location 'waist' -> 'thigh'" in capsys.readouterr().err
    assert os.listdir(runs.one_worker / "windows")  # untouched


def test_relative_time_is_refused_with_the_file_named(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    pd.read_csv(SAMPLE)[["t", "x", "y", "z"]].to_csv(tmp_path / "in" / "p05.csv", index=False)
    [recording], _ = discover(tmp_path / "in")
    outcome = classify_recording(recording, tmp_path / "out",
                                 Settings(location="waist", tz=TZ))
    assert outcome.error is not None
    assert outcome.error.startswith(f"{recording.path}: t starts at 0, which is not Unix time")
    assert not list((tmp_path / "out").rglob("*.csv"))


def test_a_recording_whose_outputs_fill_the_disk_fails_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes.full_disk import fill_disk_after

    study = write_study(tmp_path / "study")
    [recording] = [r for r in discover(study)[0] if r.name == "p01_waist.csv"]
    fill_disk_after(monkeypatch, 2_000)
    out = tmp_path / "out"
    outcome = classify_recording(recording, out, Settings(location="waist", tz=TZ))
    assert outcome.error == f"{out / 'windows' / 'p01_waist.csv'}: no space left on the device"
    assert not [p for p in out.rglob("*") if p.is_file()]  # no output, no .part, no marker


def test_a_model_of_another_location_stops_the_study_before_it_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "study"
    study.mkdir()
    thigh = Path(__file__).resolve().parents[1] / "tracker" / "models" / "thigh.skops"
    assert main(["batch", str(study), "-o", str(tmp_path / "out"), "--location", "wrist",
                 "--model", str(thigh)]) == 2
    assert "a model for the thigh, not the wrist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
