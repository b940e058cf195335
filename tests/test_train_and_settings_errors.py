"""Files `train` and the settings cannot use are one line naming them, exit 2: a model
output that cannot be written (a folder, a read-only folder, a full disk, leaving the
model that was there), a training file that is not one, a settings file that may not be
read. A personal model that may not be read is a warning, and the shipped model is used.

Permission cases run as an unprivileged user (tests/test_store_access.py's helpers):
root may read and write anywhere."""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tracker.model
import tracker.posture_model
from tests.fakes.full_disk import _FillingFile
from tests.test_store_access import as_reader, run_as_reader
from tracker.calibration import personal_model_path
from tracker.cli import main
from tracker.posture_model import PostureModel, compact_path, load_default_model
from tracker.training_data import HAPT_FILE, WISDM_FILE

REPO_DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder the unprivileged user may enter; outside tmp_path, whose parents it may
    not. Each test makes what it needs inside and takes permissions away there."""
    folder = Path(tempfile.mkdtemp(prefix="train-settings-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in (folder, *folder.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(folder)


def one_error_line(err: str) -> str:
    [line] = err.strip().splitlines()
    return line


# --- train: the model output -------------------------------------------------------------

def _trained_without_waiting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`train` gets the shipped thigh model at once instead of minutes of training; the
    list records each location trained."""
    trained: list[str] = []

    def train_location(location: str, data_dir: Path, progress: Any = print,
                       ) -> tuple[PostureModel, str]:
        trained.append(location)
        return load_default_model(location), "report"

    monkeypatch.setattr(tracker.model, "train_location", train_location)
    return trained


def _fill_disk_in_the_compact_copy(monkeypatch: pytest.MonkeyPatch, room: int) -> None:
    """The disk fills ``room`` bytes into the model's numpy-only copy, the second of the
    two files a save writes (the first, the .skops, is then whole)."""
    def filling_open(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        assert mode == "wb"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        return io.BufferedWriter(_FillingFile(fd, room), buffer_size=4096)

    monkeypatch.setattr(tracker.posture_model, "open", filling_open, raising=False)


def test_a_full_disk_leaves_the_model_that_was_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "thigh.skops"
    output.write_bytes(b"the model before")
    compact_path(output).write_bytes(b"its compact copy")
    _trained_without_waiting(monkeypatch)
    _fill_disk_in_the_compact_copy(monkeypatch, room=10_000)
    assert main(["train", "--location", "thigh", "-o", str(output)]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"sitting-tracker train: error: {output}: no space left on the device")
    assert output.read_bytes() == b"the model before"
    assert compact_path(output).read_bytes() == b"its compact copy"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thigh.skops", "thigh.trees.npz"]


def test_a_saved_model_is_whole_with_no_temporary_files_left(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "models" / "thigh.skops"
    _trained_without_waiting(monkeypatch)
    assert main(["train", "--location", "thigh", "-o", str(output)]) == 0
    assert f"saved the thigh model to {output}" in capsys.readouterr().out
    assert PostureModel.load(output).location == "thigh"
    assert PostureModel.load(compact_path(output)).location == "thigh"
    assert sorted(p.name for p in output.parent.iterdir()) == ["thigh.skops",
                                                               "thigh.trees.npz"]


def test_a_folder_as_the_output_is_refused_before_training(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    trained = _trained_without_waiting(monkeypatch)
    assert main(["train", "--location", "thigh", "-o", str(tmp_path)]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"sitting-tracker train: error: {tmp_path}: is a folder; give a file name for the "
        "output")
    assert trained == [] and list(tmp_path.iterdir()) == []


def test_a_read_only_folder_is_refused_before_training(shared: Path) -> None:
    folder = shared / "models"
    folder.mkdir()
    folder.chmod(0o555)
    output = folder / "thigh.skops"
    # Run for real: were the folder found only at the save, this would train for minutes.
    result = as_reader("train", "--location", "thigh", "-o", str(output))
    assert result.returncode == 2
    assert one_error_line(result.stderr) == (
        f"sitting-tracker train: error: {output}: cannot write here (Permission denied)")
    assert result.stdout == "" and list(folder.iterdir()) == []


# --- train: the training data ------------------------------------------------------------

def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(5000))


def _cut_short(path: Path) -> None:
    path.write_bytes((REPO_DATA / path.name).read_bytes()[:100_000])


def _without_the_label_column(path: Path) -> None:
    pd.read_parquet(REPO_DATA / HAPT_FILE).head(100).drop(columns="label").to_parquet(path)


@pytest.mark.parametrize(("location", "damage", "problem"), [
    ("waist", _random_bytes, "not a readable training file (not Parquet, or damaged or cut "
     "short)"),
    ("thigh", _cut_short, "not a readable training file (not Parquet, or damaged or cut "
     "short)"),
    ("waist", _without_the_label_column, "not a readable training file: it has no label "
     "column"),
], ids=["random-bytes", "cut-short", "no-label-column"])
def test_a_training_file_that_is_not_one_is_named(
        tmp_path: Path, location: str, damage: Any, problem: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    damaged = data / (HAPT_FILE if location == "waist" else WISDM_FILE)
    damage(damaged)
    output = tmp_path / "m.skops"
    assert main(["train", "--location", location, "--data", str(data), "-o",
                 str(output)]) == 2
    captured = capsys.readouterr()
    assert one_error_line(captured.err) == f"sitting-tracker train: error: {damaged}: {problem}"
    assert captured.out == "" and not output.exists()


def test_a_training_file_without_the_location_is_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    wrist_only = pd.read_parquet(REPO_DATA / WISDM_FILE, filters=[("device", "==", "wrist")])
    wrist_only.head(2000).to_parquet(data / WISDM_FILE)
    output = tmp_path / "m.skops"
    assert main(["train", "--location", "thigh", "--data", str(data), "-o",
                 str(output)]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"sitting-tracker train: error: {data / WISDM_FILE}: no thigh recordings long "
        "enough for a window")
    assert not output.exists()


# --- the settings file -------------------------------------------------------------------

def _settings_nobody_may_read(shared: Path) -> Path:
    config = shared / "config.toml"
    config.write_text('[tracker]\nlocation = "wrist"\n')
    config.chmod(0o000)
    return config


@pytest.mark.parametrize("command", [
    ["collect", "--device", "AA:BB:CC:DD:EE:FF"], ["status"], ["export", "daily", "-o",
                                                               "{shared}/daily.csv"],
    ["forget", "--participant", "p1", "--yes"], ["calibrate"], ["scan"],
    ["train", "--personal"],
], ids=lambda command: command[0])
def test_a_settings_file_that_may_not_be_read_is_named(shared: Path,
                                                       command: list[str]) -> None:
    config = _settings_nobody_may_read(shared)
    args = [arg.format(shared=shared) for arg in command]
    result = as_reader(*args, "--config", str(config))
    assert result.returncode == 2
    assert one_error_line(result.stderr) == (
        f"sitting-tracker {command[0]}: error: {config}: cannot read the settings file "
        "(Permission denied)")
    assert sorted(p.name for p in shared.iterdir()) == ["config.toml"]


def test_the_default_settings_file_in_a_folder_that_may_not_be_entered_is_named(
        shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = shared / "private" / "config.toml"
    config.parent.mkdir()
    config.write_text("[tracker]\n")
    config.parent.chmod(0o000)
    monkeypatch.setenv("SITTING_TRACKER_CONFIG", str(config))
    result = as_reader("status")
    assert result.returncode == 2
    assert one_error_line(result.stderr) == (
        f"sitting-tracker status: error: {config}: cannot read the settings file "
        "(Permission denied)")


def test_the_dashboard_says_why_it_uses_the_default_settings(shared: Path) -> None:
    config = _settings_nobody_may_read(shared)
    show = ("import sys; from pathlib import Path; "
            "from dashboard.context import load_dashboard_settings; "
            "settings, problem = load_dashboard_settings(Path(sys.argv[1])); "
            "print(settings.tracker.location, problem, sep=chr(10))")
    result = run_as_reader([sys.executable, "-c", show, str(config)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "thigh", f"{config}: cannot read the settings file (Permission denied)"]


def test_a_folder_as_the_settings_file_is_named(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--config", str(tmp_path)]) == 2
    assert one_error_line(capsys.readouterr().err) == (
        f"sitting-tracker status: error: {tmp_path}: cannot read the settings file "
        "(Is a directory)")


# --- the personal model ------------------------------------------------------------------

def test_a_personal_model_that_may_not_be_read_gives_way_to_the_shipped_one(
        shared: Path) -> None:
    """The collector carries on with the shipped model (see model_for) and says why."""
    db = shared / "tracker.sqlite"
    personal = personal_model_path(db, "thigh")
    personal.parent.mkdir()
    personal.write_bytes(b"not read")
    personal.parent.chmod(0o000)
    show = ("import logging, sys; logging.basicConfig(format='%(levelname)s %(message)s'); "
            "from tracker.calibration import model_for; "
            "model = model_for(sys.argv[1], 'thigh'); "
            "print(type(model).__name__, model.location)")
    result = run_as_reader([sys.executable, "-c", show, str(db)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "PostureModel thigh"
    assert one_error_line(result.stderr) == (
        f"WARNING cannot read the personal model {personal} (Permission denied): using the "
        "shipped model")
