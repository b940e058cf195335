"""Rough edges of status, stream, scan and forget, as a user meets them: a collector
that stopped long ago shown as if current, an error said twice, a listening time of
zero or nan accepted, and a mistyped participant id that `forget` passed over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tracker.cli import main
from tracker.store import Store

CLI = [sys.executable, "-m", "tracker.cli"]
NOT_AVAILABLE = "Bluetooth is not available"


def _report(db: Path, **fields: Any) -> dict[str, Any]:
    status = {"pid": os.getpid(), "connected": True, "band": "Polar Sense A1B2C3D4",
              "profile": "polar-verity", "battery": 81, "posture": "sitting",
              "streak_min": 42.4, "samples_today": 123456, "last_error": "",
              "location": "thigh", **fields}
    with Store.open(db) as store:
        store.set_meta("collector_status", json.dumps(status), participant="me",
                       device="band")
    return status


def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(ended.stdout)


def test_status_of_a_collector_that_stopped_hours_ago_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Its last report said 'connected' and 'sitting': shown as it was, the user reads
    that as now. The exit code is the one for no collector reporting."""
    db = tmp_path / "s.sqlite"
    updated = time.time() - 3 * 3600 - 60
    # Even a live process under its old id (ids are reused) does not make it current.
    _report(db, updated=updated, pid=os.getpid())
    assert main(["status", "--db", str(db)]) == 1
    at = datetime.fromtimestamp(updated).strftime("%H:%M")
    if datetime.fromtimestamp(updated).date() != datetime.now().date():
        at = datetime.fromtimestamp(updated).strftime("%Y-%m-%d %H:%M")
    assert capsys.readouterr().out.splitlines()[:4] == [
        f"collector:     not running since {at} (last report 3 h ago)",
        f"band:          Polar Sense A1B2C3D4 (polar-verity), not connected, battery "
        f"81 % at {at}",
        f"posture:       not known now; sitting at {at} (band worn at the thigh)",
        f"sitting streak: 42 min at {at}",
    ]


def test_status_of_a_collector_whose_process_ended_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A collector stopped a moment ago wrote its last report on the way out: recent,
    but its process is gone."""
    db = tmp_path / "s.sqlite"
    _report(db, updated=time.time(), pid=_dead_pid())
    assert main(["status", "--db", str(db)]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("collector:     not running since "), first


def test_status_of_a_collector_that_said_it_stopped_says_so_at_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The last report a collector writes on its way out says so: recent, from a process
    that may still run (the demo's, or one on another computer), yet nothing collects."""
    db = tmp_path / "s.sqlite"
    _report(db, updated=time.time(), pid=os.getpid(), stopped=True)
    assert main(["status", "--db", str(db)]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("collector:     not running since "), first


def test_status_of_a_running_collector_is_unchanged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.sqlite"
    _report(db, updated=time.time())
    assert main(["status", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("collector:     running (last report ")
    assert lines[1:4] == [
        "band:          Polar Sense A1B2C3D4 (polar-verity), connected, battery 81 %",
        "posture:       sitting (band worn at the thigh)",
        "sitting streak: 42 min",
    ]


def test_status_json_says_whether_the_collector_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A new field, "running"; "reported" and the collector's own fields keep their
    meaning, and the exit code matches the text's."""
    db = tmp_path / "s.sqlite"
    Store.open(db).close()
    assert main(["status", "--db", str(db), "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "reported": False, "running": False, "store": str(db), "participant": None}
    stale = _report(db, updated=time.time() - 3 * 3600)
    assert main(["status", "--db", str(db), "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {"reported": True, "running": False,
                                                   **stale}
    fresh = _report(db, updated=time.time())
    assert main(["status", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"reported": True, "running": True,
                                                   **fresh}


@pytest.fixture
def no_bluez(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A system bus address where nothing listens, as on a machine without BlueZ."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no-system-bus'}")
    monkeypatch.setenv("SITTING_TRACKER_CONFIG", str(tmp_path / "config.toml"))
    return dict(os.environ)


def test_stream_without_bluetooth_says_it_once_as_scan_does(
        no_bluez: dict[str, str]) -> None:
    stream = subprocess.run([*CLI, "stream", "Polar", "--seconds", "1"], env=no_bluez,
                            capture_output=True, text=True, timeout=60)
    scan = subprocess.run([*CLI, "scan", "--timeout", "1"], env=no_bluez,
                          capture_output=True, text=True, timeout=60)
    assert (stream.returncode, scan.returncode) == (2, 2)
    assert stream.stdout == ""
    [line] = stream.stderr.splitlines()
    assert line.startswith(f"sitting-tracker stream: error: {NOT_AVAILABLE}")
    assert line.replace("stream", "scan", 1) == scan.stderr.strip()


@pytest.mark.parametrize(("argv", "message"), [
    (["stream", "Polar", "--seconds", "0"], "argument --seconds: 0: must be more than 0 "
     "seconds"),
    (["stream", "Polar", "--seconds", "-3"], "argument --seconds: -3: must be more than 0 "
     "seconds"),
    (["stream", "Polar", "--seconds", "nan"], "argument --seconds: not a finite number: "
     "'nan'"),
    (["stream", "Polar", "--seconds", "inf"], "argument --seconds: not a finite number: "
     "'inf'"),
    (["stream", "Polar", "--speed", "0"], "argument --speed: 0: must be more than 0"),
    (["scan", "--timeout", "0"], "argument --timeout: 0: must be more than 0 seconds"),
    (["scan", "--timeout", "-1"], "argument --timeout: -1: must be more than 0 seconds"),
    (["scan", "--timeout", "nan"], "argument --timeout: not a finite number: 'nan'"),
    (["scan", "--timeout", "inf"], "argument --timeout: not a finite number: 'inf'"),
])
def test_listening_times_must_be_a_positive_number(
        argv: list[str], message: str, no_bluez: dict[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1] == \
        f"sitting-tracker {argv[0]}: error: {message}"
    assert captured.out == ""


def test_forget_of_an_id_not_stored_names_the_ids_that_are(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Repeating an erasure must not fail (exit 0), but a typo must not pass for one."""
    db = tmp_path / "s.sqlite"
    with Store.open(db) as store:
        for participant in ("P017", "P018"):
            store.add_raw(np.array([1.0, 1.02]), np.zeros((2, 3), np.float32),
                          participant=participant)
    before = db.read_bytes()
    assert main(["forget", "--participant", "P71", "--db", str(db), "--yes"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"nothing stored for participant 'P71' in {db}; the store holds 'P017', 'P018'"]
    assert db.read_bytes() == before
    for participant in ("P017", "P018"):
        assert main(["forget", "--participant", participant, "--db", str(db), "--yes"]) == 0
    capsys.readouterr()
    assert main(["forget", "--participant", "P017", "--db", str(db), "--yes"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"nothing stored for participant 'P017' in {db}; the store holds none"]
