"""The demo with its dashboard stops cleanly on SIGTERM or SIGINT sent to it alone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tracker.emulator import find_dbus_daemon

pytestmark = [
    pytest.mark.skipif(find_dbus_daemon() is None,
                       reason="dbus-daemon not found; run scripts/install-system-deps.sh"),
    pytest.mark.timeout(180),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_demo_stops_with_its_children(tmp_path: Path, sig: signal.Signals) -> None:
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "demo", "--speed", "600", "--duration", "600",
         "--db", str(tmp_path / "demo.sqlite"), "--port", str(port)],
        stdout=subprocess.PIPE, text=True)
    assert demo.stdout is not None
    deadline = time.monotonic() + 120
    for line in demo.stdout:
        if "stays up until Ctrl-C" in line or time.monotonic() > deadline:
            break
    with socket.create_connection(("127.0.0.1", port), timeout=10):
        pass  # the dashboard is serving
    demo.send_signal(sig)
    assert demo.wait(timeout=60) in (0, 130)  # 130: interrupted, as after Ctrl-C
    time.sleep(1)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_ctrl_c_during_the_replay_says_it_stopped_not_that_the_replay_finished(
        tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "demo", "--speed", "60", "--no-dashboard",
         "--db", str(tmp_path / "demo.sqlite")],
        stdout=subprocess.PIPE, text=True)
    assert demo.stdout is not None
    assert "replaying" in demo.stdout.readline()
    time.sleep(8)  # the collector connects and stores a little
    demo.send_signal(signal.SIGINT)
    out = demo.stdout.read()
    assert demo.wait(timeout=60) in (0, 130)
    assert "stopped before the end of the replay" in out
    assert "replay finished" not in out and "stays up" not in out


def test_demo_killed_outright_leaves_no_band_or_dashboard_behind(tmp_path: Path) -> None:
    # SIGKILL cannot be handled: the children must notice on their own.
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "tracker.cli", "demo", "--speed", "60", "--db",
         str(tmp_path / "demo.sqlite"), "--port", str(port)],
        stdout=subprocess.PIPE, text=True)
    assert demo.stdout is not None
    assert "dashboard" in demo.stdout.readline()
    children = _children(demo.pid)
    assert len(children) == 2, children  # the emulated band and the dashboard
    demo.kill()
    demo.wait(timeout=10)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in children if _alive(pid)]
    for pid in left:  # not to leave them running after a failure either
        os.kill(pid, signal.SIGTERM)
    assert not left


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
