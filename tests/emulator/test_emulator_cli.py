"""The ``emulate`` entry point as a real subprocess, used by bleak in this process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner

from tracker.emulator import find_dbus_daemon
from tracker.emulator.bands import BATTERY_LEVEL
from tracker.emulator.cli import emulate_main
from tracker.emulator.encoders import encode_new_alert
from tracker.emulator.infinitime_band import NEW_ALERT

pytestmark = [
    pytest.mark.skipif(
        find_dbus_daemon() is None,
        reason="dbus-daemon not found; run scripts/install-system-deps.sh",
    ),
    pytest.mark.timeout(30),
]

REPO = Path(__file__).resolve().parents[2]
LAUNCH = "import sys; from tracker.emulator.cli import emulate_main; sys.exit(emulate_main())"


def test_list_prints_profiles_and_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert emulate_main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in (
        "polar-verity-sense",
        "polar-h10",
        "infinitime",
        "still-sitting",
        "walking-synthetic",
        "SYNTHETIC",
    ):
        assert name in out


def test_unknown_profile_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert emulate_main(["--profile", "fitbit", "--scenario", "still-sitting"]) == 2
    assert "unknown profile" in capsys.readouterr().err


def _daemon_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_emulate_subprocess_serves_bleak_and_cleans_up_on_sigterm() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LAUNCH,
            "--profile",
            "infinitime",
            "--scenario",
            "walking-synthetic",
            "--speed",
            "5",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        match = re.fullmatch(r"DBUS_SYSTEM_BUS_ADDRESS=(unix:path=(/[^,]+)\S*)", first)
        assert match, first
        address, socket_path = match.group(1), Path(match.group(2))
        bin_dir = proc.stdout.readline().strip().split("=", 1)[1]
        daemon_pids = [
            int(p)
            for p in subprocess.run(
                ["pgrep", "-f", str(socket_path.parent)], capture_output=True, text=True
            ).stdout.split()
        ]
        assert daemon_pids

        saved = {k: os.environ.get(k) for k in ("DBUS_SYSTEM_BUS_ADDRESS", "PATH")}
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{saved['PATH']}"
        try:

            async def use_band() -> None:
                device = await BleakScanner.find_device_by_name("InfiniTime", timeout=5)
                assert device is not None
                async with BleakClient(device) as client:
                    assert len(await client.read_gatt_char(BATTERY_LEVEL)) == 1
                    await client.write_gatt_char(
                        NEW_ALERT, encode_new_alert("Stand up"), response=True
                    )

            asyncio.run(use_band())
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

        buzz_line = ""
        while not buzz_line.startswith("buzz"):
            buzz_line = proc.stdout.readline()
        assert "Stand up" in buzz_line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert not socket_path.parent.exists()
        assert not any(_daemon_alive(pid) for pid in daemon_pids)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
