"""A settings file that may not be read is one line naming it, exit 2. A personal model
that may not be read is a warning, and the shipped model is used.

Permission cases run as an unprivileged user (tests/test_store_access.py's helpers):
root may read and write anywhere."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_store_access import as_reader, run_as_reader
from tracker.calibration import personal_model_path
from tracker.cli import main


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
