"""service install/uninstall and status, as a user runs them."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tracker.cli import main
from tracker.store import Store


def test_service_install_writes_a_unit_and_uninstall_removes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    db = tmp_path / "my store.sqlite"
    assert main(["service", "install", "--no-start", "--db", str(db), "--device",
                 "Polar Sense"]) == 0
    unit = tmp_path / "systemd" / "user" / "sitting-tracker.service"
    text = unit.read_text()
    assert "-m tracker.cli collect --db" in text and f"'{db}'" in text
    assert "--device 'Polar Sense'" in text and "Restart=on-failure" in text
    assert main(["service", "uninstall", "--no-start"]) == 0
    assert not unit.exists()
    assert "removed" in capsys.readouterr().out


def test_status_reports_what_the_collector_wrote(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.sqlite"
    with Store.open(db) as store:
        store.set_meta("collector_status", json.dumps({
            "updated": time.time(), "pid": os.getpid(), "connected": True,
            "band": "Polar Sense A1B2C3D4", "profile": "polar-verity", "battery": 81,
            "posture": "sitting", "streak_min": 42.4, "samples_today": 123456,
            "last_error": "", "location": "thigh"}), participant="me", device="band")
    assert main(["status", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "running" in out and "not running" not in out
    assert "Polar Sense A1B2C3D4 (polar-verity), connected, battery 81 %" in out
    assert "sitting streak: 42 min" in out and "123,456" in out


def test_status_without_a_collector(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.sqlite"
    Store.open(db).close()
    assert main(["status", "--db", str(db)]) == 1
    assert "no collector has written" in capsys.readouterr().out
    assert main(["status", "--db", str(tmp_path / "missing.sqlite")]) == 2


def test_status_json_is_json_whether_or_not_a_collector_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A script parsing `status --json` gets an object either way (it got English text
    when no collector had reported); the exit code says which."""
    db = tmp_path / "s.sqlite"
    Store.open(db).close()
    assert main(["status", "--db", str(db), "--json"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer == {"reported": False, "running": False, "store": str(db),
                      "participant": None}
    report = {"updated": time.time(), "pid": os.getpid(), "battery": 80}
    with Store.open(db) as store:
        store.set_meta("collector_status", json.dumps(report), participant="me",
                       device="band")
    assert main(["status", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"reported": True, "running": True,
                                                   **report}


def test_service_install_keeps_the_store_this_shell_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A systemd service does not see $SITTING_TRACKER_DB: it is written into the unit,
    or the service's collector would write where `status` here does not look."""
    from tracker.commands.service import unit_path

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("SITTING_TRACKER_DB", str(tmp_path / "env.sqlite"))
    assert main(["service", "install", "--no-start"]) == 0
    assert f"collect --db {tmp_path / 'env.sqlite'}" in unit_path().read_text()
    monkeypatch.setenv("SITTING_TRACKER_DB", "postgresql://me:secret@h/db")
    assert main(["service", "install", "--no-start"]) == 2  # no password in a unit file
    monkeypatch.delenv("SITTING_TRACKER_DB")
    assert main(["service", "install", "--no-start"]) == 0
    assert "collect --db" not in unit_path().read_text()  # the settings, read when it starts
