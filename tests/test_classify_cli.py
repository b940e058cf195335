"""`sitting-tracker classify` as a user runs it: output contract, summary, bad input."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tracker.cli import main
from tracker.store import Store

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "samples" / "waist-hapt-subject01.csv"


def test_classifies_the_sample_and_prints_a_summary(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "labels.csv"
    assert main(["classify", str(SAMPLE), "--location", "waist", "--output", str(out)]) == 0
    summary = capsys.readouterr().out
    for line in ("sitting", "standing", "walking", "lying", "Longest sitting bout",
                 "Sitting bouts >= 30 min", "Sit-to-stand transitions", "Mean confidence"):
        assert line in summary
    labels = pd.read_csv(out)
    assert list(labels.columns[:3]) == ["start", "end", "label"]
    assert (np.diff(labels["start"]) > 0).all()
    assert set(labels["label"]) <= {"sitting", "standing", "walking", "lying", "nonwear",
                                    "unknown"}
    # Compare with the dataset's own annotation where it names a posture.
    truth = pd.read_csv(SAMPLE)
    truth = truth[truth["true_label"].isin(["sitting", "standing", "walking", "lying"])]
    middle = (labels["start"] + labels["end"]) / 2
    posture = truth.set_index("t")["true_label"]
    index = np.searchsorted(posture.index.to_numpy(), middle.to_numpy())
    near = np.abs(posture.index.to_numpy()[np.minimum(index, len(posture) - 1)] - middle) < 0.05
    agree = (posture.to_numpy()[np.minimum(index, len(posture) - 1)][near]
             == labels["label"].to_numpy()[near]).mean()
    assert agree > 0.85, agree


def test_parquet_input_and_db_output_then_export(tmp_path: Path) -> None:
    frame = pd.read_csv(SAMPLE)[["t", "x", "y", "z"]]
    parquet = tmp_path / "rec.parquet"
    frame.to_parquet(parquet)
    db = tmp_path / "s.sqlite"
    out = tmp_path / "labels.csv"
    assert main(["classify", str(parquet), "--location", "waist", "-o", str(out), "--db",
                 str(db), "--start", "2024-05-06T10:00", "--tz", "Europe/Berlin", "-q"]) == 0
    with Store.open(db, readonly=True) as store:
        windows = store.windows()
        assert len(windows) == len(pd.read_csv(out))
        assert windows["start_s"].min() == pytest.approx(
            pd.Timestamp("2024-05-06T10:00", tz="Europe/Berlin").timestamp())
        assert len(store.bouts()) > 5
        assert store.connection.execute("SELECT sum(n_samples) FROM raw_chunks").fetchone()[
            0] == len(frame)
    daily = tmp_path / "daily.csv"
    assert main(["export", "daily", "--db", str(db), "-o", str(daily), "--tz",
                 "Europe/Berlin"]) == 0
    rows = list(csv.DictReader(daily.open()))
    assert [r["date"] for r in rows] == ["2024-05-06"]


def test_export_counts_days_in_the_zone_the_data_was_classified_in(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(SAMPLE)[["t", "x", "y", "z"]]
    recording = tmp_path / "rec.csv"
    frame.to_csv(recording, index=False)
    db = tmp_path / "s.sqlite"

    def classify(device: str, zone: str) -> None:
        assert main(["classify", str(recording), "--location", "waist", "-o",
                     str(tmp_path / f"{device}.csv"), "--db", str(db), "--device", device,
                     "--start", "2024-05-06T23:30", "--tz", zone, "-q"]) == 0

    # 23:30 in Auckland: the day is the 6th there, the 6th at 11:30 in UTC.  Exported on
    # a machine in any zone, the days are Auckland's without a --tz.
    classify("band", "Pacific/Auckland")
    daily = tmp_path / "daily.csv"
    assert main(["export", "daily", "--db", str(db), "-o", str(daily)]) == 0
    rows = list(csv.DictReader(daily.open()))
    assert rows[0]["date"] == "2024-05-06" and rows[0]["day_start"].endswith("+12:00")
    assert "Pacific/Auckland" in capsys.readouterr().err
    # A second device classified in another zone: which one is for the user to say.
    classify("other", "Europe/Berlin")
    assert main(["export", "daily", "--db", str(db), "-o", str(daily)]) == 2
    assert "Europe/Berlin, Pacific/Auckland" in capsys.readouterr().err
    assert main(["export", "daily", "--db", str(db), "-o", str(daily), "--tz", "UTC"]) == 0
    assert {r["day_start"][-6:] for r in csv.DictReader(daily.open())} == {"+00:00"}


@pytest.mark.parametrize(("start", "message"), [
    ("2024-03-31T02:30", "does not exist in Europe/Berlin"),
    ("2024-10-27T02:30", "happens twice in Europe/Berlin"),
])
def test_a_start_at_a_daylight_saving_change_needs_its_offset(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], start: str, message: str) -> None:
    def classify(when: str) -> int:
        return main(["classify", str(SAMPLE), "--location", "waist", "-o",
                     str(tmp_path / "labels.csv"), "--db", str(tmp_path / "s.sqlite"),
                     "--start", when, "--tz", "Europe/Berlin", "-q"])

    assert classify(start) == 2
    error = capsys.readouterr().err
    assert message in error and f"{start}:00+02:00" in error, error
    assert classify(f"{start}+02:00") == 0
    with Store.open(tmp_path / "s.sqlite", readonly=True) as store:
        assert store.windows()["start_s"].min() == pytest.approx(
            pd.Timestamp(f"{start}+02:00").timestamp())


def test_db_needs_a_start_for_relative_time(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "labels.csv"
    db = tmp_path / "s.sqlite"
    command = ["classify", str(SAMPLE), "--location", "waist", "-o", str(out), "--db", str(db)]
    assert main(command) == 2
    assert "pass --start" in capsys.readouterr().err
    assert not out.exists()
    assert not list(tmp_path.glob("s.sqlite*"))  # the store made for the run went with it
    # A store that was there before is kept, unchanged.
    Store.open(db).close()
    assert main(command) == 2
    with Store.open(db, readonly=True) as store:
        assert store.windows().empty and store.raw_sample_count() == 0


@pytest.mark.parametrize(("content", "message"), [
    ("t,x,y\n0,0,0\n", "line 1: missing column z"),
    ("t,x,y,z\n0,0,0,1\n0.02,0,zero,1\n", "line 3: column y has a non-numeric value"),
    ("t,x,y,z\n0,0,0,1\n0.02,0,0,1\n0.02,0,0,1\n", "line 4: t=0.02 repeats"),
    ("", "file is empty"),
    ("t,x,y,z\n" + "".join(f"{i / 50},0,0,9.8\n" for i in range(100)), "m/s²"),
])
def test_bad_input_is_one_line_exit_2_no_traceback_no_output(tmp_path: Path, content: str,
                                                             message: str) -> None:
    recording = tmp_path / "bad.csv"
    recording.write_text(content)
    out = tmp_path / "labels.csv"
    result = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "classify", str(recording), "--location",
         "thigh", "--output", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(recording) in lines[0], lines
    assert "Traceback" not in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".labels.csv.*"))


def test_a_late_error_leaves_no_partial_output(tmp_path: Path) -> None:
    rows = [f"{i / 50},0.1,0.2,0.97" for i in range(120_000)]
    rows[110_000] = "2200.0,0.1,oops,0.97"
    recording = tmp_path / "long.csv"
    recording.write_text("t,x,y,z\n" + "\n".join(rows) + "\n")
    out = tmp_path / "labels.csv"
    out.write_text("an older result\n")
    assert main(["classify", str(recording), "--location", "thigh", "-o", str(out)]) == 2
    assert out.read_text() == "an older result\n"  # untouched


def test_unknown_location_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["classify", str(SAMPLE), "--location", "ankle", "-o", str(tmp_path / "x.csv")])
    assert caught.value.code == 2


def test_the_output_never_replaces_the_input_or_the_store(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recording = tmp_path / "rec.csv"
    recording.write_bytes(SAMPLE.read_bytes())
    assert main(["classify", str(recording), "--location", "waist", "-o", str(recording)]) == 2
    assert "is the input itself" in capsys.readouterr().err
    assert recording.read_bytes() == SAMPLE.read_bytes()
    # The store a run would create is refused too, before it is created.
    db = tmp_path / "store.sqlite"
    assert main(["classify", str(recording), "--location", "waist", "-o", str(db), "--db",
                 str(db), "--start", "2024-05-01T08:00"]) == 2
    assert "is the store itself" in capsys.readouterr().err
    assert not db.exists()


@pytest.mark.parametrize("name", ["labels.parquet", "labels.XLSX"])
def test_an_output_named_for_another_format_is_refused(
        tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    # The output is CSV: under a .parquet name every reader would fail on it.
    output = tmp_path / name
    assert main(["classify", str(SAMPLE), "--location", "waist", "-o", str(output)]) == 2
    assert "give it a .csv name" in capsys.readouterr().err
    assert not output.exists()


@pytest.mark.parametrize(("output", "message"), [
    ("folder", "is a folder"),
    ("a_file/labels.csv", "cannot write here"),
    ("x" * 300 + ".csv", "File name too long"),
])
def test_an_output_that_cannot_be_written_is_one_line(tmp_path: Path, output: str,
                                                      message: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "a_file").write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "classify", str(SAMPLE), "--location", "waist",
         "--output", str(tmp_path / output)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


@pytest.mark.parametrize(("extra", "message"), [
    (["--model", "MODEL"], "not a sitting-tracker model file"),
    (["--model", "THIGH"], "a model for the thigh, not the waist"),
    (["--rate", "1"], "supported rates are 10-200 Hz"),
    # 50 Hz data: at 10 Hz its 7 minutes would be read as 34
    (["--rate", "10"], "--rate 10 Hz does not match t, which has 50 samples a second"),
])
def test_a_bad_model_file_or_rate_is_one_line(tmp_path: Path, extra: list[str],
                                              message: str) -> None:
    not_a_model = tmp_path / "model.skops"
    not_a_model.write_text("t,x,y,z\n")
    thigh = REPO / "tracker" / "models" / "thigh.skops"
    extra = [str(not_a_model) if e == "MODEL" else str(thigh) if e == "THIGH" else e
             for e in extra]
    out = tmp_path / "labels.csv"
    result = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "classify", str(SAMPLE), "--location", "waist",
         "-o", str(out), *extra], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not out.exists()


def test_a_reader_that_goes_away_stops_it_quietly(tmp_path: Path) -> None:
    # `sitting-tracker classify ... | head -n 0`: the summary has nowhere to go.
    run = subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "classify", str(SAMPLE), "--location", "waist",
         "-o", str(tmp_path / "labels.csv")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert run.stdout is not None and run.stderr is not None
    run.stdout.close()
    err = run.stderr.read()
    assert run.wait(timeout=120) == 141
    assert "Traceback" not in err


def test_an_id_with_a_control_character_is_refused(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["classify", str(SAMPLE), "--location", "waist", "-o", str(tmp_path / "x.csv"),
              "--participant", "P017\r"])
    assert caught.value.code == 2
    assert "control character '\\r'" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_a_reconnect_inside_a_long_sitting_bout_leaves_one_bout(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 40 minutes of one person's real thigh sitting with 8 s missing after 18 minutes,
    # as a Bluetooth reconnect leaves it: still one bout of at least 30 minutes.
    from tracker.scenarios import posture_material

    rate = 20.0
    sitting = posture_material("thigh", "sitting", rate)
    xyz = np.resize(sitting, (int(40 * 60 * rate), 3))
    t = np.arange(len(xyz)) / rate
    t[t >= 18 * 60] += 8.0
    recording = tmp_path / "rec.csv"
    pd.DataFrame({"t": t, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}).to_csv(
        recording, index=False)
    out = tmp_path / "labels.csv"
    assert main(["classify", str(recording), "--location", "thigh", "-o", str(out)]) == 0
    summary = capsys.readouterr().out
    labels = pd.read_csv(out)
    assert "unknown" in set(labels["label"])  # the gap is not called sitting
    assert "Sitting bouts >= 30 min:  1 " in summary, summary


def test_a_rate_near_what_t_shows_evens_out_the_clock(tmp_path: Path) -> None:
    out = tmp_path / "labels.csv"
    assert main(["classify", str(SAMPLE), "--location", "waist", "-o", str(out), "--rate",
                 "52", "-q"]) == 0  # within 20 % of the 50 Hz the sample shows
    assert pd.read_csv(out)["end"].max() == pytest.approx(412, abs=20)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_device_is_one_line_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "classify", str(SAMPLE), "--location", "waist",
         "-o", "/dev/full"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "sitting-tracker classify: error: /dev/full: no space left on the device"]
    assert result.stdout == ""  # no summary of a file that was not written


def test_a_disk_that_fills_up_leaves_no_partial_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fakes.full_disk import fill_disk_after

    out = tmp_path / "small" / "labels.csv"
    out.parent.mkdir()
    out.write_text("an older result\n")
    fill_disk_after(monkeypatch, 2_000)
    assert main(["classify", str(SAMPLE), "--location", "waist", "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        f"sitting-tracker classify: error: {out}: no space left on the device"]
    assert out.read_text() == "an older result\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["labels.csv"]


def test_times_and_probabilities_are_written_without_float_noise(tmp_path: Path) -> None:
    # t made relative by subtracting a Unix start carries binary noise in its last
    # digits (0.3130000114440918); the windows are written to the microsecond.
    frame = pd.read_csv(SAMPLE)[["t", "x", "y", "z"]].iloc[:3000]
    frame["t"] = (1714545000.313 + frame["t"]) - 1714545000.0
    recording = tmp_path / "rec.csv"
    frame.to_csv(recording, index=False)
    out = tmp_path / "labels.csv"
    assert main(["classify", str(recording), "--location", "waist", "-o", str(out), "-q"]) == 0
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["start"] == "0.313" and rows[1]["start"] == "5.313"
    decimals = {column: max(len(r[column].partition(".")[2]) for r in rows)
                for column in rows[0] if column != "label"}
    assert decimals["start"] <= 6 and decimals["end"] <= 6
    assert all(decimals[c] <= 4 for c in decimals if c not in ("start", "end"))
