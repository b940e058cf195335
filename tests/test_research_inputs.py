"""Recordings as they come from other devices and programs: header spelling, extra
columns, byte-order marks, Windows line endings, Parquet column names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tracker.cli import main
from tracker.recording import InputError, read_recording

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "samples" / "waist-hapt-subject01.csv"


def sample_frame(rows: int = 3000) -> pd.DataFrame:
    return pd.read_csv(SAMPLE, nrows=rows)[["t", "x", "y", "z"]]


def read_all(path: Path) -> tuple[np.ndarray, np.ndarray]:
    chunks = list(read_recording(path, chunk_rows=700))
    return np.concatenate([c.t for c in chunks]), np.concatenate([c.xyz for c in chunks])


def test_upper_case_header_bom_crlf_and_extra_columns_read_as_plain_t_x_y_z(
        tmp_path: Path) -> None:
    frame = sample_frame()
    plain = tmp_path / "plain.csv"
    frame.to_csv(plain, index=False)
    odd = frame.rename(columns=str.upper).assign(Temperature=31.5, Note="=cmd")
    spreadsheet = tmp_path / "spreadsheet.csv"
    spreadsheet.write_bytes(b"\xef\xbb\xbf" + odd.to_csv(index=False, lineterminator="\r\n")
                            .encode())
    parquet = tmp_path / "upper.parquet"
    odd.to_parquet(parquet)
    expected_t, expected_xyz = read_all(plain)
    for path in (spreadsheet, parquet):
        t, xyz = read_all(path)
        np.testing.assert_array_equal(t, expected_t)
        np.testing.assert_array_equal(xyz, expected_xyz)


@pytest.mark.parametrize(("header", "column", "names"), [
    ("t,x,y,z,X", "x", "x, X"),
    ("t,x,y,z,t", "t", "t, t"),
    ("T,x,y,z,t", "t", "T, t"),
])
def test_a_column_given_twice_in_a_csv_is_refused_naming_both(
        tmp_path: Path, header: str, column: str, names: str) -> None:
    path = tmp_path / "twice.csv"
    rows = "".join(f"{i / 50},0,0,1,{i}\n" for i in range(100))
    path.write_text(f"{header}\n{rows}")
    with pytest.raises(InputError) as caught:
        read_all(path)
    assert str(caught.value) == (f"{path}: line 1: column {column} appears twice "
                                 f"({names}); keep one")


def test_a_column_given_twice_in_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.parquet"
    sample_frame().assign(X=0.5).to_parquet(path)
    with pytest.raises(InputError) as caught:
        read_all(path)
    assert str(caught.value) == f"{path}: column x appears twice (x, X); keep one"


def test_classify_says_so_in_one_line_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "twice.csv"
    sample_frame().assign(X=0.5).to_csv(path, index=False)
    out = tmp_path / "labels.csv"
    assert main(["classify", str(path), "--location", "waist", "-o", str(out), "-q"]) == 2
    assert capsys.readouterr().err == (f"sitting-tracker classify: error: {path}: line 1: "
                                       "column x appears twice (x, X); keep one\n")
    assert not out.exists()


def test_a_clock_that_times_samples_per_packet_is_told_to_pass_rate(tmp_path: Path) -> None:
    # A band sending 25 Hz in packets of 5, each sample timed at its packet's arrival plus
    # 0.1 ms: the median step says 10 kHz, the samples per second 25.
    packet = np.repeat(np.arange(0, 60, 0.2), 5)
    t = packet + np.tile(np.arange(5) * 1e-4, len(packet) // 5)
    path = tmp_path / "packets.csv"
    pd.DataFrame({"t": t, "x": 0.0, "y": 0.0, "z": 1.0}).to_csv(path, index=False)
    with pytest.raises(InputError) as caught:
        read_all(path)
    assert str(caught.value) == (
        f"{path}: sample rate inferred from t is 1e+04 Hz; supported rates are 10-200 Hz; "
        "t has about 25 samples a second but most steps are much shorter: if the device "
        "times samples per packet, pass the rate it samples at with --rate (about 25)")


def coarse_clock_file(tmp_path: Path) -> Path:
    # 100 Hz from a clock that ticks every 50 ms: five samples share each time.
    t = np.repeat(np.arange(0, 60, 0.05), 5)
    path = tmp_path / "coarse.csv"
    pd.DataFrame({"t": t, "x": 0.0, "y": 0.0, "z": 1.0}).to_csv(path, index=False)
    return path


def test_rate_reads_a_coarse_clock_whose_samples_share_a_time(tmp_path: Path) -> None:
    chunks = list(read_recording(coarse_clock_file(tmp_path), rate_hz=100.0, chunk_rows=700))
    t = np.concatenate([c.t for c in chunks])
    assert len(t) == 6000
    np.testing.assert_allclose(np.diff(t), 0.01)


def test_without_rate_a_repeated_time_names_the_option(tmp_path: Path) -> None:
    path = coarse_clock_file(tmp_path)
    with pytest.raises(InputError) as caught:
        read_all(path)
    assert str(caught.value) == (
        f"{path}: line 3: t=0.0 repeats the previous timestamp (t=0.0); time must increase "
        "from row to row (a clock too coarse for the sample rate: pass --rate)")


def test_rate_still_refuses_time_going_back(tmp_path: Path) -> None:
    path = tmp_path / "back.csv"
    t = np.arange(0, 60, 0.01)
    t[3000] = 1.0
    pd.DataFrame({"t": t, "x": 0.0, "y": 0.0, "z": 1.0}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"line 3002: t=1\.0 goes back in time"):
        list(read_recording(path, rate_hz=100.0))


def test_rate_refuses_a_t_that_never_advances(tmp_path: Path) -> None:
    path = tmp_path / "still.csv"
    pd.DataFrame({"t": np.zeros(500), "x": 0.0, "y": 0.0, "z": 1.0}).to_csv(path, index=False)
    with pytest.raises(InputError) as caught:
        list(read_recording(path, rate_hz=50.0))
    assert str(caught.value) == (f"{path}: t does not advance between gaps; --rate needs t "
                                 "to show the rate")


@pytest.mark.parametrize(("first_line", "hint"), [
    ("0.0,0.91,-0.11,0.51", "the first line holds numbers, not a header: add the line "
     "t,x,y,z before it"),
    ("t;x;y;z", "the columns are separated by ';', not commas: save the file as "
     "comma-separated CSV"),
    ("T\tX\tY\tZ", "the columns are separated by tabs, not commas: save the file as "
     "comma-separated CSV"),
])
def test_a_header_that_is_not_a_comma_separated_one_says_what_it_is(
        tmp_path: Path, first_line: str, hint: str) -> None:
    path = tmp_path / "rec.csv"
    path.write_text(first_line + "\n0.02,0.91,-0.11,0.51\n")
    with pytest.raises(InputError) as caught:
        read_all(path)
    assert str(caught.value).startswith(f"{path}: line 1: missing columns t, x, y, z; ")
    assert str(caught.value).endswith(f"; {hint}")
