"""A stored time zone that a second classify would replace, a batch whose study table
cannot be written, export's zone note on a failed export, and the settings file of the
collector service."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.full_disk import fill_disk_after
from tracker.batch import Settings, classify_recording, discover
from tracker.cli import main
from tracker.store import Store
from tracker.timezones import STORED_ZONE_KEY

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "samples" / "waist-hapt-subject01.csv"
MONDAY_9_BERLIN = 1717398000.0  # 2024-06-03T09:00+02:00


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


# ---------------------------------------------------------------- batch, daily.csv

def test_batch_lists_the_failed_recordings_when_daily_csv_cannot_be_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    study, out = tmp_path / "study", tmp_path / "out"
    study.mkdir()
    short_recording(study / "p01.csv", start=MONDAY_9_BERLIN)
    bad = study / "_unnamed.csv"  # no participant id in its name: fails
    bad.write_text("t,x,y,z\n")
    # p01 finished in an earlier run, so this one needs no cluster.
    [finished], _ = discover(study)
    assert classify_recording(finished, out, Settings(location="waist",
                                                      tz="Europe/Berlin")).error is None
    reason = f"{bad}: cannot tell the participant: the file name starts with '_'"
    # Room for the manifest and failures.csv, not for daily.csv's header.
    fill_disk_after(monkeypatch, 300)
    command = ["batch", str(study), "-o", str(out), "--location", "waist", "--tz",
               "Europe/Berlin"]

    assert main(command) == 2
    printed = capsys.readouterr()
    assert f"  {reason}" in printed.out.splitlines()
    assert printed.err.splitlines()[-1] == \
        f"sitting-tracker batch: error: {out / 'daily.csv'}: no space left on the device"
    assert not (out / "daily.csv").exists()
    assert [row["error"] for row in csv.DictReader((out / "failures.csv").open())] == [reason]

    assert main([*command, "--quiet"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"failed: {reason}",
        f"sitting-tracker batch: error: {out / 'daily.csv'}: no space left on the device"]


# ---------------------------------------------------------------- export's zone note

def test_export_says_which_zone_only_when_it_wrote_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    db, out = tmp_path / "s.sqlite", tmp_path / "daily.csv"
    with Store.open(db) as store:
        store.replace_bouts(pd.DataFrame({"start": [MONDAY_9_BERLIN],
                                          "end": [MONDAY_9_BERLIN + 3600],
                                          "label": ["sitting"]}), 0, 2e9,
                            participant="me", device="band")
        store.set_meta(STORED_ZONE_KEY, "Europe/Oslo", participant="me", device="band")
    note = "days in Europe/Oslo, the zone the data was classified or collected in " \
           "(--tz to change)"

    with monkeypatch.context() as full:
        fill_disk_after(full, 100)
        assert main(["export", "daily", "--db", str(db), "-o", str(out)]) == 2
        assert capsys.readouterr().err.splitlines() == [
            f"sitting-tracker export: error: {out}: no space left on the device"]
    assert main(["export", "daily", "--db", str(db), "-o", str(out)]) == 0
    assert capsys.readouterr().err.splitlines() == [note, f"wrote 1 daily rows to {out}"]


# ---------------------------------------------------------------- service install

def test_service_install_keeps_the_settings_file_this_shell_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A systemd service does not see $SITTING_TRACKER_CONFIG: it is written into the
    unit, or the service's collector reads other settings than this shell's commands."""
    from tracker.commands.service import unit_path

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("SITTING_TRACKER_DB", raising=False)
    settings = tmp_path / "my settings.toml"
    monkeypatch.setenv("SITTING_TRACKER_CONFIG", str(settings))
    assert main(["service", "install", "--no-start"]) == 0
    assert f"collect --config '{settings}'\n" in unit_path().read_text()

    # As the shell means it: relative to this folder, not to the service's.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SITTING_TRACKER_CONFIG", "settings.toml")
    monkeypatch.setenv("SITTING_TRACKER_DB", "s.sqlite")
    assert main(["service", "install", "--no-start"]) == 0
    where = tmp_path.resolve()
    assert f"collect --db {where / 's.sqlite'} --config {where / 'settings.toml'}\n" in \
        unit_path().read_text()

    monkeypatch.setenv("SITTING_TRACKER_CONFIG", "")  # empty counts as unset
    assert main(["service", "install", "--no-start"]) == 0
    assert "--config" not in unit_path().read_text()


def test_service_definitions_keep_paths_with_characters_each_system_reads_specially(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """systemd expands `%` specifiers and `$` variables in ExecStart= and reads C escapes,
    even inside quotes: written as they are, these would reach the collector as another
    path. A launchd plist is XML, which `&` and `<` would break."""
    from tracker.commands.service import unit_path

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("SITTING_TRACKER_CONFIG", raising=False)
    db = tmp_path / "100% $HOME\\a.sqlite"
    assert main(["service", "install", "--no-start", "--db", str(db)]) == 0
    assert f"collect --db '{tmp_path}/100%% $$HOME\\\\a.sqlite'\n" in unit_path().read_text()

    monkeypatch.setattr("sys.platform", "darwin")
    assert main(["service", "install", "--db", str(tmp_path / "R&D <1>.sqlite")]) == 0
    assert f"<string>{tmp_path}/R&amp;D &lt;1&gt;.sqlite</string>" in capsys.readouterr().out

    # Task Scheduler: /TR is one quoted argument; quotes inside it are written \".
    monkeypatch.setattr("sys.platform", "win32")
    monkeypatch.setattr("sys.executable", "C:\\Program Files\\Python\\python.exe")
    assert main(["service", "install", "--db", str(tmp_path / "My Data.sqlite")]) == 0
    assert ('/TR "\\"C:\\Program Files\\Python\\python.exe\\" -m tracker.cli collect '
            f'--db \\"{tmp_path}/My Data.sqlite\\""') in capsys.readouterr().out
