"""The emulate contract, as a user runs it: emulate in one process, scan and stream in
others with the printed bus address exported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tracker.emulator import find_dbus_daemon

pytestmark = [
    pytest.mark.skipif(find_dbus_daemon() is None,
                       reason="dbus-daemon not found; run scripts/install-system-deps.sh"),
    pytest.mark.timeout(90),
]
CLI = [sys.executable, "-m", "tracker.cli"]


@pytest.fixture
def emulated_band() -> Iterator[dict[str, str]]:
    process = subprocess.Popen([*CLI, "emulate", "--profile", "h10", "--scenario",
                                "quick-demo", "--speed", "4"], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    assert first.startswith("DBUS_SYSTEM_BUS_ADDRESS=unix:")
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=first.split("=", 1)[1])
    yield env
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    socket_dir = first.split("path=", 1)[1].split(",")[0].rsplit("/", 1)[0]
    assert not os.path.exists(socket_dir)


def test_scan_then_stream_the_emulated_band(emulated_band: dict[str, str]) -> None:
    scan = subprocess.run([*CLI, "scan", "--timeout", "1.5"], env=emulated_band,
                          capture_output=True, text=True, timeout=60)
    assert scan.returncode == 0, scan.stderr
    assert "polar-h10" in scan.stdout and "Polar H10" in scan.stdout
    stream = subprocess.run([*CLI, "stream", "Polar H10", "--seconds", "4", "--speed", "4"],
                            env=emulated_band, capture_output=True, text=True, timeout=60)
    assert stream.returncode == 0, stream.stderr
    summary = stream.stdout.strip().splitlines()[-1]
    assert "(polar-h10)" in summary and "measured 50.0 Hz" in summary, summary
    assert "Traceback" not in stream.stderr


def test_stream_reports_a_missing_band_without_a_traceback(
        emulated_band: dict[str, str]) -> None:
    result = subprocess.run([*CLI, "stream", "Nonexistent Band", "--seconds", "1"],
                            env=emulated_band, capture_output=True, text=True, timeout=80)
    assert result.returncode == 1
    assert "no samples received from 'Nonexistent Band'" in result.stdout
    assert "Traceback" not in result.stderr
