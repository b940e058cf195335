"""Reading recordings: every kind of bad input is one clear error naming file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tracker.recording import InputError, RecordingInfo, read_recording


def read_all(path: Path, **options: object) -> tuple[np.ndarray, np.ndarray, RecordingInfo]:
    info = RecordingInfo(path)
    chunks = list(read_recording(path, info=info, **options))  # type: ignore[arg-type]
    return (np.concatenate([c.t for c in chunks]), np.concatenate([c.xyz for c in chunks]),
            info)


def csv_text(tmp_path: Path, text: str, name: str = "rec.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_csv_in_chunks_with_extra_columns_and_spaces(tmp_path: Path) -> None:
    t = np.arange(0, 10, 0.02)
    frame = pd.DataFrame({"label": "x", "t": t, "x": 0.1, "y": 0.2, "z": 0.97})
    path = tmp_path / "rec.csv"
    frame.to_csv(path, index=False)
    got_t, got_xyz, info = read_all(path, chunk_rows=97)
    np.testing.assert_allclose(got_t, t)
    np.testing.assert_allclose(got_xyz[0], [0.1, 0.2, 0.97], rtol=1e-6)
    assert info.n_samples == len(t)
    assert info.rate_hz == pytest.approx(50.0)


def test_reads_parquet(tmp_path: Path) -> None:
    t = np.arange(0, 5, 0.01)
    path = tmp_path / "rec.parquet"
    pd.DataFrame({"t": t, "x": 0.0, "y": 1.0, "z": 0.0}).to_parquet(path)
    got_t, got_xyz, info = read_all(path)
    assert len(got_t) == len(t) and info.rate_hz == pytest.approx(100.0)
    assert got_xyz[:, 1].min() == 1.0


def test_a_spreadsheet_csv_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    # Excel's "CSV UTF-8" begins with an invisible BOM, which used to hide column t.
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(
        ["t,x,y,z\n", *(f"{i / 50},0,0,1\n" for i in range(100))]).encode())
    got_t, _, info = read_all(path)
    assert len(got_t) == 100 and info.rate_hz == pytest.approx(50.0)


def test_blank_lines_and_a_quoted_header_are_read(tmp_path: Path) -> None:
    rows = [f"{i / 50},0,0,1" for i in range(100)]
    rows.insert(40, "")  # an editor's stray line, and one at the end
    path = csv_text(tmp_path, '"t","x","y","z"\n' + "\n".join(rows) + "\n\n")
    got_t, _, info = read_all(path)
    assert len(got_t) == 100 and info.rate_hz == pytest.approx(50.0)
    # Line numbers still count the blank line.
    rows[60] = "1.2,0,oops,1"
    path = csv_text(tmp_path, "t,x,y,z\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match="line 62: column y has a non-numeric value"):
        read_all(path)
    rows[60] = "0.3,0,0,1"
    path = csv_text(tmp_path, "t,x,y,z\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"line 62: t=0\.3 goes back in time"):
        read_all(path)


def test_a_foreign_header_is_shown_short_and_printable(tmp_path: Path) -> None:
    path = csv_text(tmp_path, "a\x07b," + "c" * 500 + "\n1,2\n")
    with pytest.raises(InputError) as caught:
        read_all(path)
    message = str(caught.value)
    assert "found a?b,ccc" in message and len(message) < 250 and "\x07" not in message


def test_date_times_in_a_parquet_t_column_are_named(tmp_path: Path) -> None:
    path = tmp_path / "rec.parquet"
    t = pd.date_range("2024-05-06 10:00", periods=100, freq="20ms")
    pd.DataFrame({"t": t, "x": 0.0, "y": 0.0, "z": 1.0}).to_parquet(path)
    with pytest.raises(InputError, match=r"row 1: column t holds date-times; t is seconds"):
        read_all(path)


def test_time_going_back_shows_both_times_in_full(tmp_path: Path) -> None:
    path = csv_text(tmp_path, "t,x,y,z\n1730710000.00,0,0,1\n1730710000.02,0,0,1\n"
                              "1730710000.01,0,0,1\n")
    with pytest.raises(InputError, match=r"line 4: t=1730710000.01 goes back in time "
                                         r"\(t=1730710000.02\)"):
        read_all(path)


def test_units_are_converted_to_g(tmp_path: Path) -> None:
    path = csv_text(tmp_path, "t,x,y,z\n" + "".join(
        f"{i / 20},0,0,9.80665\n" for i in range(100)))
    _, xyz, _ = read_all(path, units="m/s2")
    assert xyz[:, 2] == pytest.approx(1.0)


def test_rate_option_spaces_samples_evenly_but_keeps_gaps(tmp_path: Path) -> None:
    jitter = np.random.default_rng(1).uniform(-0.004, 0.004, 400)
    t = np.arange(400) * 0.02 + jitter
    t[200:] += 10.0  # a gap
    path = tmp_path / "rec.csv"
    pd.DataFrame({"t": t, "x": 0.0, "y": 0.0, "z": 1.0}).to_csv(path, index=False)
    got, _, _ = read_all(path, rate_hz=50.0, chunk_rows=150)
    np.testing.assert_allclose(np.diff(got[:200]), 0.02)
    np.testing.assert_allclose(np.diff(got[200:]), 0.02)
    assert got[200] == pytest.approx(t[200])


@pytest.mark.parametrize("seconds", [60, 8], ids=["checked-early", "short-recording"])
def test_a_rate_far_from_what_t_shows_is_refused(tmp_path: Path, seconds: int) -> None:
    t = np.arange(0, seconds, 0.02)
    path = tmp_path / "rec.csv"
    pd.DataFrame({"t": t, "x": 0.0, "y": 0.0, "z": 1.0}).to_csv(path, index=False)
    for wrong in (10.0, 62.0):  # 50 Hz in t: -80 % and +24 %
        with pytest.raises(InputError, match=f"--rate {wrong:g} Hz does not match t, which "
                           "has 50 samples a second"):
            read_all(path, rate_hz=wrong, chunk_rows=500)


def test_a_clock_that_times_samples_per_packet_is_compared_by_its_mean_rate(
        tmp_path: Path) -> None:
    # 50 Hz in packets of 5 samples, each timed at its packet's arrival plus 0.1 ms a
    # sample: the median step (0.1 ms) says 10 kHz, the samples per second 50.
    packet = np.repeat(np.arange(0, 60, 0.1), 5)
    t = packet + np.tile(np.arange(5) * 1e-4, len(packet) // 5)
    path = tmp_path / "rec.csv"
    pd.DataFrame({"t": t, "x": 0.0, "y": 0.0, "z": 1.0}).to_csv(path, index=False)
    got, _, info = read_all(path, rate_hz=50.0)
    np.testing.assert_allclose(np.diff(got), 0.02)
    assert info.rate_hz == 50.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("t,x,y\n0,0,0\n", "line 1: missing column z"),
        ("time,x,y,z\n0,0,0,1\n", "line 1: missing column t"),
        ("t,x,y,z\n" + "".join(f"{i / 50},0,0,1\n" for i in range(30)) + "0.7,0,abc,1\n",
         "line 32: column y has a non-numeric value 'abc'"),
        ("t,x,y,z\n2024-05-06 10:00:00.000,0,0,1\n",
         "line 2: column t has a non-numeric value '2024-05-06 10:00:00.000'; t is seconds: "
         "give date-times as Unix seconds"),
        ("t,x,y,z\n0,0,0,1\n0.02,0,,1\n", "line 3: missing, NaN or infinite value in column y"),
        ("t,x,y,z\n0,0,0,1\n0.02,0,nan,1\n", "line 3: missing, NaN or infinite value in column y"),
        ("t,x,y,z\n0,0,0,1\n0.02,1e300,0,1\n",
         "line 3: missing, NaN or infinite value in column x"),
        ("t,x,y,z\n0,0,0,1\n0.02,0,0,1\n0.01,0,0,1\n", "line 4: t=0.01 goes back in time"),
        ("t,x,y,z\n0,0,0,1\n0.02,0,0,1\n0.02,0,0,1\n", "line 4: t=0.02 repeats the previous"),
        ("t,x,y,z\n", "no samples"),
        ("", "file is empty"),
        ("t,x,y,z\n" + "".join(f"{i / 50},0,0,9.81\n" for i in range(50)),
         "looks like m/s², not g"),
        ("t,x,y,z\n" + "".join(f"{i / 50},0,0,1000\n" for i in range(50)), "milli-g"),
        ("t,x,y,z\n" + "".join(f"{i * 20},0,0,1\n" for i in range(50)),
         "most steps in t are longer than 2 s (median 20); t must be seconds; if it is in "
         "milliseconds, divide it by 1000"),
        ("t,x,y,z\n" + "".join(f"{i * 20_000_000},0,0,1\n" for i in range(50)),
         "if it is in nanoseconds, divide it by 10^9"),
        ("t,x,y,z\n" + "".join(f"{i * 1.5},0,0,1\n" for i in range(50)),
         "sample rate inferred from t is 0.667 Hz; supported rates are 10-200 Hz"),
    ],
)
def test_bad_csv_is_one_precise_error(tmp_path: Path, text: str, expected: str) -> None:
    path = csv_text(tmp_path, text)
    with pytest.raises(InputError) as caught:
        read_all(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert expected in message
    assert "\n" not in message


def test_line_numbers_count_across_chunks(tmp_path: Path) -> None:
    rows = [f"{i / 50},0,0,1" for i in range(1000)]
    rows[736] = f"{736 / 50},0,oops,1"
    path = csv_text(tmp_path, "t,x,y,z\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match="line 738: column y"):
        read_all(path, chunk_rows=100)


def test_time_must_increase_across_chunk_boundaries(tmp_path: Path) -> None:
    rows = [f"{i / 50},0,0,1" for i in range(300)]
    rows[100] = rows[99]  # the first row of the second chunk repeats the last of the first
    path = csv_text(tmp_path, "t,x,y,z\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"line 102: .* repeats the previous timestamp"):
        read_all(path, chunk_rows=100)


def test_bad_parquet_rows_are_named(tmp_path: Path) -> None:
    path = tmp_path / "rec.parquet"
    t = np.arange(0, 2, 0.02)
    z = np.ones_like(t)
    z[17] = np.nan
    pd.DataFrame({"t": t, "x": 0.0, "y": 0.0, "z": z}).to_parquet(path)
    with pytest.raises(InputError, match=r"rec.parquet: row 18: missing, NaN"):
        read_all(path)


def test_not_csv_or_parquet(tmp_path: Path) -> None:
    path = tmp_path / "rec.bin"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0binary")
    with pytest.raises(InputError, match="not a CSV or Parquet file"):
        read_all(path)
    fake = tmp_path / "rec.parquet"
    fake.write_text("t,x,y,z\n0,0,0,1\n")
    with pytest.raises(InputError, match="not a CSV or Parquet file"):
        read_all(fake)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_all(tmp_path / "nope.csv")


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_compressed_csv_reads_as_the_plain_file(tmp_path: Path, suffix: str) -> None:
    import bz2
    import gzip
    import lzma

    rows = [f"{i / 50},{np.sin(i / 7):.4f},0,1" for i in range(3000)]
    text = ("t,x,y,z\n" + "\n".join(rows) + "\n").encode()
    plain = tmp_path / "rec.csv"
    plain.write_bytes(text)
    packed = tmp_path / f"rec.csv{suffix}"
    packed.write_bytes({".gz": gzip, ".bz2": bz2, ".xz": lzma}[suffix].compress(text))
    t, xyz, info = read_all(packed, chunk_rows=500)
    t0, xyz0, _ = read_all(plain, chunk_rows=500)
    np.testing.assert_array_equal(t, t0)
    np.testing.assert_array_equal(xyz, xyz0)
    # progress counts the compressed bytes read, and ends at the file's size
    assert info.bytes_read == info.bytes_total == packed.stat().st_size


def test_compressed_csv_errors_name_the_line_or_the_damage(tmp_path: Path) -> None:
    import gzip

    rows = [f"{i / 50},0,0,1" for i in range(2000)]
    rows[1500] = f"{1500 / 50},0,oops,1"
    path = tmp_path / "rec.csv.gz"
    path.write_bytes(gzip.compress(("t,x,y,z\n" + "\n".join(rows) + "\n").encode()))
    with pytest.raises(InputError, match=r"rec\.csv\.gz: line 1502: column y"):
        read_all(path, chunk_rows=500)
    packed = gzip.compress(("t,x,y,z\n" + "\n".join(rows[:1000]) + "\n").encode())
    path.write_bytes(packed[: len(packed) // 2])  # a download that broke off
    with pytest.raises(InputError, match=r"rec\.csv\.gz: damaged \.gz file"):
        read_all(path, chunk_rows=100)
    path.write_bytes(b"t,x,y,z\n0,0,0,1\n")  # named .gz, but not compressed
    with pytest.raises(InputError, match=r"rec\.csv\.gz: cannot be decompressed as \.gz"):
        read_all(path)


def test_the_size_to_read_is_known_before_reading_starts(tmp_path: Path) -> None:
    # The progress bar is made before the (lazy) reader starts: it needs the total then.
    path = csv_text(tmp_path, "t,x,y,z\n" + "".join(f"{i / 50},0,0,1\n" for i in range(100)))
    info = RecordingInfo(path)
    assert info.bytes_total == path.stat().st_size and info.bytes_read == 0
