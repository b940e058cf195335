"""CSV exports follow the contract: header, ISO 8601 with offset, seconds, no formulas."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from tracker.bouts import bouts_from_windows
from tracker.cli import main
from tracker.csvfiles import iso_times, with_iso_columns
from tracker.export import COLUMNS, EXPORT_KINDS, export
from tracker.store import Store

BERLIN = ZoneInfo("Europe/Berlin")


def day(hour: float, on: str = "2024-06-03") -> float:
    return datetime.fromisoformat(on).replace(tzinfo=BERLIN).timestamp() + hour * 3600


def fill(store: Store) -> None:
    rows = []
    for on in ("2024-06-03", "2024-06-04"):
        t = day(9, on)
        for label, minutes in (("sitting", 50), ("walking", 5), ("sitting", 70),
                               ("standing", 10)):
            for _ in range(minutes * 12):
                rows.append({"start": t, "end": t + 5, "label": label, "confidence": 0.9,
                             "p_sitting": 0.9 if label == "sitting" else 0.05})
                t += 5
    windows = pd.DataFrame(rows)
    store.add_windows(windows, location="thigh")
    store.replace_bouts(bouts_from_windows(windows), 0, 2e9)
    store.add_event(day(9.9), "nudge", "=HYPERLINK(\"http://x\")")
    store.add_event(day(10), "note", "-sat for 60 min")
    t = day(9) + np.arange(0, 30, 0.02)
    store.add_raw(t, np.tile([0.0, 0.0, 1.0], (len(t), 1)).astype(np.float32))


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "s.sqlite")
    fill(s)
    return s


@pytest.mark.parametrize("kind", EXPORT_KINDS)
def test_every_export_has_header_iso_times_and_seconds(store: Store, tmp_path: Path,
                                                       kind: str) -> None:
    out = tmp_path / f"{kind}.csv"
    rows = export(store, kind, out, BERLIN)
    assert out.read_text().splitlines()[0].split(",") == COLUMNS[kind]
    table = read(out)
    assert len(table) == rows > 0
    time_columns = [c for c in COLUMNS[kind] if f"{c}_s" in COLUMNS[kind]]
    assert time_columns
    for row in table:
        for column in time_columns:
            parsed = datetime.fromisoformat(row[column])
            assert parsed.utcoffset() is not None
            assert parsed.timestamp() == pytest.approx(float(row[f"{column}_s"]), abs=1e-3)
        for value in row.values():
            assert not (value[:1] in "=+@" and value[:1] != "") , value
            if value.startswith("-"):
                float(value)  # only numbers may start with a minus


def test_formula_cells_are_defused(store: Store, tmp_path: Path) -> None:
    export(store, "events", tmp_path / "e.csv", BERLIN)
    details = [row["detail"] for row in read(tmp_path / "e.csv")]
    assert details == ["'=HYPERLINK(\"http://x\")", "'-sat for 60 min"]


def test_daily_export_has_the_research_variables(store: Store, tmp_path: Path) -> None:
    export(store, "daily", tmp_path / "d.csv", BERLIN)
    days = read(tmp_path / "d.csv")
    assert [d["date"] for d in days] == ["2024-06-03", "2024-06-04"]
    first = days[0]
    assert float(first["sitting_min"]) == pytest.approx(120)
    assert float(first["sitting_bouts_30min"]) == 2
    assert float(first["sitting_bouts_60min"]) == 1
    assert float(first["longest_sitting_bout_min"]) == pytest.approx(70)
    assert float(first["breaks"]) == 1
    assert first["day_start"] == "2024-06-03T00:00:00.000+02:00"


def test_transitions_export_agrees_with_the_daily_counts(store: Store, tmp_path: Path) -> None:
    export(store, "transitions", tmp_path / "t.csv", BERLIN)
    export(store, "daily", tmp_path / "d.csv", BERLIN)
    found = read(tmp_path / "t.csv")
    # each day: sitting -> walking -> sitting -> standing
    assert [(row["kind"], row["from_label"], row["to_label"]) for row in found[:3]] == [
        ("sit_to_stand", "sitting", "walking"), ("stand_to_sit", "walking", "sitting"),
        ("sit_to_stand", "sitting", "standing")]
    assert found[0]["time"] == "2024-06-03T09:50:00.000+02:00"
    for day_row in read(tmp_path / "d.csv"):
        rises = [row for row in found if row["time"].startswith(day_row["date"])
                 and row["kind"] == "sit_to_stand"]
        assert len(rises) == float(day_row["sit_to_stand"]) == 2


def test_date_range_selects_local_days(store: Store, tmp_path: Path) -> None:
    export(store, "bouts", tmp_path / "b.csv", BERLIN, date(2024, 6, 4), date(2024, 6, 4))
    bouts = read(tmp_path / "b.csv")
    assert len(bouts) == 4
    assert all(b["start"].startswith("2024-06-04") for b in bouts)


def test_export_command(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store.close()
    out = tmp_path / "w.csv"
    code = main(["export", "windows", "--db", str(store.path), "--output", str(out),
                 "--from", "2024-06-03", "--to", "2024-06-03", "--tz", "Europe/Berlin"])
    assert code == 0
    assert len(read(out)) == 135 * 12
    assert main(["export", "windows", "--db", str(tmp_path / "none.sqlite"), "-o",
                 str(out)]) == 2
    assert "no store here" in capsys.readouterr().err
    assert main(["export", "bouts", "--db", str(store.path), "-o", str(out), "--from",
                 "2024-06-05", "--to", "2024-06-01"]) == 2


def test_an_empty_export_says_why(store: Store, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    # A header-only file and exit 0 (a day without wear is an answer), but a mistyped
    # participant id is named, with the ids the store holds.
    store.close()
    out = tmp_path / "w.csv"
    assert main(["export", "windows", "--db", str(store.path), "-o", str(out),
                 "--participant", "P0l7"]) == 0
    err = capsys.readouterr().err
    assert read(out) == []
    assert "nothing stored for participant 'P0l7'" in err and "'me'" in err
    assert main(["export", "windows", "--db", str(store.path), "-o", str(out),
                 "--from", "2025-01-01", "--to", "2025-01-02"]) == 0
    assert "nothing stored on those days" in capsys.readouterr().err
    assert main(["export", "windows", "--db", str(store.path), "-o", str(out)]) == 0
    assert "nothing stored" not in capsys.readouterr().err


def test_an_export_never_replaces_the_store(store: Store, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    store.close()
    before = store.path.read_bytes()
    same_file = tmp_path / "." / store.path.name
    assert main(["export", "daily", "--db", str(store.path), "-o", str(same_file)]) == 2
    assert "is the store itself" in capsys.readouterr().err
    assert store.path.read_bytes() == before
    with Store.open(store.path, readonly=True) as reopened:
        assert not reopened.windows().empty


def test_iso_times_follow_the_offset_across_a_dst_change_and_keep_gaps() -> None:
    # 2024-03-31 01:59:59.9994 and 03:00:00 in Berlin: the clocks jump from +01 to +02.
    seconds = np.array([1711846799.9994, np.nan, 1711846800.0, 0.0])
    assert iso_times(seconds, BERLIN).tolist()[::2] == [
        "2024-03-31T01:59:59.999+01:00", "2024-03-31T03:00:00.000+02:00"]
    assert pd.isna(iso_times(seconds, BERLIN)[1])
    assert iso_times(seconds[3:], ZoneInfo("America/St_Johns"))[0] == \
        "1969-12-31T20:30:00.000-03:30"


def test_iso_columns_line_up_with_a_slice_of_a_frame() -> None:
    frame = pd.DataFrame({"time_s": [0.0, 60.0, 120.0, 180.0]}).iloc[2:]
    out = with_iso_columns(frame, ZoneInfo("UTC"), ["time_s"])
    assert out["time"].tolist() == ["1970-01-01T00:02:00.000+00:00",
                                    "1970-01-01T00:03:00.000+00:00"]


def test_a_raw_export_reports_its_rows_as_it_writes(store: Store, tmp_path: Path) -> None:
    told: list[int] = []
    rows = export(store, "raw", tmp_path / "raw.csv", BERLIN, on_rows=told.append)
    assert told and sum(told) == rows == len(read(tmp_path / "raw.csv")) == 1500


def test_iso_times_round_to_the_millisecond_as_the_seconds_column_reads() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    times = iso_times(np.array([1714545000.02, 1714545600.07, 1714545000.9996]), berlin)
    assert times.tolist() == ["2024-05-01T08:30:00.020+02:00", "2024-05-01T08:40:00.070+02:00",
                              "2024-05-01T08:30:01.000+02:00"]


def test_a_terminated_export_leaves_no_partial_file(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    with Store.open(tmp_path / "big.sqlite") as big:
        t = 1714550000 + np.arange(0, 6 * 3600, 0.02)  # 1,080,000 samples: several seconds
        big.add_raw(t, np.tile([0.1, 0.2, 0.97], (len(t), 1)).astype(np.float32))
    out = tmp_path / "raw.csv"
    export = subprocess.Popen([sys.executable, "-m", "tracker.cli", "export", "raw", "--db",
                               str(tmp_path / "big.sqlite"), "-o", str(out)],
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".raw.csv.*.part")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".raw.csv.*.part")), "the export never started writing"
    export.terminate()
    _, err = export.communicate(timeout=60)
    assert export.returncode == 143, err
    assert "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".raw.csv.*"))


def test_outputs_write_through_links_and_pipes_with_a_plain_file_mode(tmp_path: Path) -> None:
    import os
    import threading

    from tracker.csvfiles import atomic_text_file

    target = tmp_path / "target.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    with atomic_text_file(link) as stream:
        stream.write("new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640  # an existing file keeps its mode

    old_umask = os.umask(0o022)
    try:
        with atomic_text_file(tmp_path / "fresh.csv") as stream:
            stream.write("x\n")
    finally:
        os.umask(old_umask)
    assert (tmp_path / "fresh.csv").stat().st_mode & 0o777 == 0o644  # not private 0600

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text()))
    reader.start()
    with atomic_text_file(pipe) as stream:
        stream.write("through\n")
    reader.join(timeout=10)
    assert received == ["through\n"] and not pipe.is_file()


def test_an_analyst_who_may_not_write_the_store_can_export_it(store: Store) -> None:
    """The store's folder belongs to someone else: SQLite cannot make its WAL index
    there, yet a read-only export must work (it failed: 'attempt to write a readonly
    database')."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    store.close()
    shared = Path(tempfile.mkdtemp(prefix="shared-store-"))
    out_dir = Path(tempfile.mkdtemp(prefix="analyst-"))
    try:
        shutil.copy(store.path, shared / "s.sqlite")
        command = [sys.executable, "-m", "tracker.cli", "export", "daily", "--db",
                   str(shared / "s.sqlite"), "-o", str(out_dir / "daily.csv")]
        if os.geteuid() == 0:  # root may write anywhere: export as nobody instead
            nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            probe = subprocess.run([*nobody, sys.executable, "-c", "import tracker"],
                                   cwd=Path(__file__).parents[1], capture_output=True)
            if probe.returncode != 0:
                pytest.skip("this checkout is not readable by an unprivileged user")
            os.chmod(out_dir, 0o777)
            command = nobody + command
        shared.chmod(0o555)
        (shared / "s.sqlite").chmod(0o444)
        result = subprocess.run(command, cwd=Path(__file__).parents[1], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert len(read(out_dir / "daily.csv")) >= 1
        assert sorted(p.name for p in shared.iterdir()) == ["s.sqlite"]
    finally:
        shared.chmod(0o755)
        shutil.rmtree(shared)
        shutil.rmtree(out_dir)


def test_bouts_say_how_long_the_sitting_bout_is_across_a_short_gap(tmp_path: Path) -> None:
    # 20 + 25 min of sitting around a 10 s reconnect: two rows, one 45-minute bout, as
    # `daily` counts it; another band's rows are joined on their own.
    def runs(*parts: tuple[str, float], at: float) -> pd.DataFrame:
        rows, t = [], at
        for label, minutes in parts:
            rows.append({"start": t, "end": t + minutes * 60, "label": label})
            t += minutes * 60
        return pd.DataFrame(rows)

    with Store.open(tmp_path / "s.sqlite") as store:
        store.replace_bouts(runs(("sitting", 20), ("unknown", 1 / 6), ("sitting", 25),
                                 ("standing", 5), at=day(9)), 0, 2e9, device="band")
        store.replace_bouts(runs(("sitting", 10), at=day(9)), 0, 2e9, device="other")
    out = tmp_path / "bouts.csv"
    assert main(["export", "bouts", "--db", str(tmp_path / "s.sqlite"), "-o", str(out),
                 "--tz", "Europe/Berlin"]) == 0
    rows = read(out)
    joined = [(r["device_id"], r["label"], r["joined_sitting_s"]) for r in rows]
    assert joined == [("band", "sitting", "2700.0"), ("band", "unknown", ""),
                      ("band", "sitting", "2700.0"), ("band", "standing", ""),
                      ("other", "sitting", "600.0")]


def test_a_disk_that_fills_up_is_one_line_and_leaves_the_old_file(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fakes.full_disk import fill_disk_after

    store.close()
    out = tmp_path / "small" / "raw.csv"
    out.parent.mkdir()
    out.write_text("an older export\n")
    fill_disk_after(monkeypatch, 10_000)  # the 1500 samples take about 100 kB
    assert main(["export", "raw", "--db", str(store.path), "-o", str(out), "--tz",
                 "Europe/Berlin"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"sitting-tracker export: error: {out}: no space left on the device"]
    assert out.read_text() == "an older export\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["raw.csv"]  # no .part left


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_an_export_to_a_full_device_is_one_line(store: Store,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    store.close()
    assert main(["export", "daily", "--db", str(store.path), "-o", "/dev/full", "--tz",
                 "Europe/Berlin"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "sitting-tracker export: error: /dev/full: no space left on the device"]


def test_numbers_are_written_without_float_noise(tmp_path: Path) -> None:
    # 50 s of sitting, then 1.94 s without data: differences of Unix times and sums of
    # minutes that print as 1.940000057220459 and 0.8333333333333334 unrounded.
    start = day(9) + 0.013
    with Store.open(tmp_path / "s.sqlite") as store:
        store.replace_bouts(pd.DataFrame({"start": [start, start + 50],
                                          "end": [start + 50, start + 51.94],
                                          "label": ["sitting", "unknown"]}), 0, 2e9)
        t = start + np.arange(60) / 52.0  # a 52 Hz band: its sample times need microseconds
        store.add_raw(t, np.tile([0.1, 0.2, 0.97], (len(t), 1)).astype(np.float32))
        for kind in ("bouts", "daily", "raw"):
            export(store, kind, tmp_path / f"{kind}.csv", BERLIN)
    bouts = read(tmp_path / "bouts.csv")
    assert [(b["duration_s"], b["joined_sitting_s"]) for b in bouts] == [("50.0", "50.0"),
                                                                         ("1.94", "")]
    assert bouts[1]["end_s"] == "1717398051.953"
    [daily] = read(tmp_path / "daily.csv")
    assert (daily["sitting_min"], daily["unknown_min"], daily["breaks_per_sedentary_hour"]) \
        == ("0.833", "0.032", "0.0")
    raw = read(tmp_path / "raw.csv")
    assert [float(r["time_s"]) for r in raw] == pytest.approx(t, abs=1e-6)
    assert all(len(r["time_s"].split(".")[1]) <= 6 for r in raw)
    assert raw[0]["x"] == "0.100097656"  # 410/4096 g, as the store keeps it: not rounded
