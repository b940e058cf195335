"""`sitting-tracker dashboard` stops its Streamlit server with it, however it is stopped:
a service manager or a plain `kill` sends SIGTERM to the command alone."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tracker.store import Store

pytestmark = pytest.mark.timeout(120)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serving(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def as_from_a_terminal() -> None:
    """Ctrl-C's signal as a command started in a terminal receives it: a test suite run
    in the background (as CI may) passes SIGINT on ignored, as shells do for background
    jobs, and Python then never turns it into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_dashboard_stops_with_the_command(tmp_path: Path, sig: signal.Signals) -> None:
    db = tmp_path / "s.sqlite"
    Store.open(db).close()
    port = free_port()
    command = subprocess.Popen([sys.executable, "-m", "tracker.cli", "dashboard", "--db",
                                str(db), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=as_from_a_terminal)
    deadline = time.monotonic() + 90
    while not serving(port):
        assert command.poll() is None and time.monotonic() < deadline
        time.sleep(0.5)
    command.send_signal(sig)  # to the command alone, not its process group
    command.wait(timeout=30)
    deadline = time.monotonic() + 15
    while serving(port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not serving(port), "Streamlit outlived the command"
