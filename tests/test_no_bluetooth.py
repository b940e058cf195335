"""A computer whose Bluetooth cannot be used (no BlueZ on the system bus, no adapter,
switched off) is said in one line a person can act on: by `scan` as an error, by the
collector once (not at every retry) and in `status`, and by `calibrate` when it gives up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tracker.ble import bluetooth_problem, describe_ble_error
from tracker.cli import main as cli_main
from tracker.commands import calibrate

CLI = [sys.executable, "-m", "tracker.cli"]
NOT_AVAILABLE = "Bluetooth is not available"


@pytest.fixture
def no_bluez(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A system bus address where nothing listens, as on a machine without BlueZ."""
    address = f"unix:path={tmp_path / 'no-system-bus'}"
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
    monkeypatch.setenv("SITTING_TRACKER_CONFIG", str(tmp_path / "config.toml"))
    return dict(os.environ)


def test_stack_failures_are_told_apart_from_a_band_that_is_away() -> None:
    from bleak.exc import BleakError

    assert NOT_AVAILABLE in (bluetooth_problem(FileNotFoundError(2, "No such file")) or "")
    assert "no Bluetooth adapter" in (
        bluetooth_problem(BleakError("No Bluetooth adapters found.")) or "")
    assert "switched off" in (bluetooth_problem(
        BleakError("[org.bluez.Error.NotReady] Resource Not Ready")) or "")
    away = LookupError("no band named or addressed 'Polar' in range")
    assert bluetooth_problem(away) is None
    assert describe_ble_error(away) == "no band named or addressed 'Polar' in range"
    assert describe_ble_error(TimeoutError()) == "TimeoutError"


def test_scan_says_bluetooth_is_not_available_in_one_line(no_bluez: dict[str, str]) -> None:
    result = subprocess.run([*CLI, "scan", "--timeout", "1"], env=no_bluez,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and NOT_AVAILABLE in result.stderr


def test_collect_without_a_band_named_says_it_in_one_line(no_bluez: dict[str, str],
                                                         tmp_path: Path) -> None:
    # With no --device and none in the settings, collect scans for the first band first.
    result = subprocess.run([*CLI, "collect", "--db", str(tmp_path / "s.sqlite")],
                            env=no_bluez, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and NOT_AVAILABLE in result.stderr


def test_the_collector_says_it_once_and_status_shows_it(no_bluez: dict[str, str],
                                                        tmp_path: Path) -> None:
    db = tmp_path / "tracker.sqlite"
    process = subprocess.Popen([*CLI, "collect", "--db", str(db), "--device", "Polar",
                                "--location", "thigh"], env=no_bluez, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(8)  # several retries (the back-off starts at a quarter second)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr
    assert stderr.count(NOT_AVAILABLE) == 1, stderr
    status = subprocess.run([*CLI, "status", "--db", str(db)], env=no_bluez,
                            capture_output=True, text=True, timeout=60)
    assert NOT_AVAILABLE in status.stdout


def test_calibrate_gives_up_naming_the_problem(no_bluez: dict[str, str], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(calibrate, "SAMPLES_WAIT_S", 4.0)
    code = cli_main(["calibrate", "--db", str(tmp_path / "tracker.sqlite"), "--device",
                     "Polar", "--location", "thigh"])
    assert code == 2
    error = capsys.readouterr().err
    assert f"within 4 s; last error: {NOT_AVAILABLE}" in error, error


def test_stream_stops_at_once_and_says_why(no_bluez: dict[str, str]) -> None:
    started = time.monotonic()
    result = subprocess.run([*CLI, "stream", "Polar", "--seconds", "5"], env=no_bluez,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2  # as scan: this computer's Bluetooth, not the band
    assert time.monotonic() - started < 20  # not the 30 s it waits for a slow band
    assert result.stderr.startswith(f"sitting-tracker stream: error: {NOT_AVAILABLE}")
    assert "still trying" not in result.stderr and "Traceback" not in result.stderr
