"""A private ``dbus-daemon`` that stands in for the system bus.

bleak's BlueZ backend talks to ``org.bluez`` on the *system* bus, found through
``DBUS_SYSTEM_BUS_ADDRESS``. Pointing that variable at a throw-away daemon lets bleak run
unmodified against the fake ``org.bluez`` in :mod:`tracker.emulator.bluez`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

INSTALL_HINT = "run scripts/install-system-deps.sh (it installs the dbus-daemon package)"

# Everything is allowed: the bus only ever carries the fake BlueZ and the clients under test.
_CONFIG_TEMPLATE = """<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

# bleak runs `bluetoothctl --version` once and warns when it is missing; >= 5.55 is what it wants.
_FAKE_BLUETOOTHCTL = """#!/bin/sh
echo "bluetoothctl: 5.66"
"""


class DBusDaemonNotFoundError(RuntimeError):
    """``dbus-daemon`` is not installed on this machine."""


def find_dbus_daemon() -> str | None:
    """Path of the ``dbus-daemon`` executable, or None."""
    found = shutil.which("dbus-daemon")
    if found:
        return found
    for candidate in ("/usr/bin/dbus-daemon", "/bin/dbus-daemon", "/usr/local/bin/dbus-daemon"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


class PrivateBus:
    """A ``dbus-daemon`` listening on a unix socket in its own temporary directory.

    Use as a (sync or async) context manager, or call :meth:`start` / :meth:`stop`.
    :attr:`bin_dir` holds a fake ``bluetoothctl`` to put first on ``PATH`` for bleak.
    """

    def __init__(self) -> None:
        self.address: str = ""
        self.tmp_dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bin_dir(self) -> Path:
        if self.tmp_dir is None:
            raise RuntimeError("bus not started")
        return self.tmp_dir / "bin"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """Start the daemon and return its address (``unix:path=...,guid=...``)."""
        if self._process is not None:
            return self.address
        daemon = find_dbus_daemon()
        if daemon is None:
            raise DBusDaemonNotFoundError(f"dbus-daemon not found on PATH; {INSTALL_HINT}")
        self.tmp_dir = Path(tempfile.mkdtemp(prefix="st-dbus-"))
        try:
            socket_path = self.tmp_dir / "bus"
            config = self.tmp_dir / "bus.conf"
            config.write_text(_CONFIG_TEMPLATE.format(socket=socket_path))
            self.bin_dir.mkdir()
            ctl = self.bin_dir / "bluetoothctl"
            ctl.write_text(_FAKE_BLUETOOTHCTL)
            ctl.chmod(0o755)
            # stderr goes to a file: as root the daemon warns "Failed to set fd limit",
            # which is harmless but would clutter a test run.
            with open(self.tmp_dir / "dbus-daemon.log", "wb") as log:
                self._process = subprocess.Popen(
                    [
                        daemon,
                        "--nofork",
                        "--nopidfile",
                        f"--config-file={config}",
                        "--print-address",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    start_new_session=True,  # a Ctrl-C meant for the caller must not kill it first
                )
            assert self._process.stdout is not None
            line = self._process.stdout.readline().decode().strip()
            if not line:
                raise RuntimeError(
                    "dbus-daemon exited without printing an address: "
                    + (self.tmp_dir / "dbus-daemon.log").read_text(errors="replace")
                )
            self.address = line
            return self.address
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Kill the daemon and delete the socket directory. Safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None

    def environ(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment for a bleak process: bus address set, fake bluetoothctl on PATH."""
        env = dict(os.environ if base is None else base)
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.address
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env

    @contextlib.contextmanager
    def applied_to_this_process(self) -> Iterator[None]:
        """Point this process's bleak at the bus (restored on exit).

        Must be entered before bleak opens its first bus connection in the event loop used
        (bleak keeps one BlueZ manager per event loop).
        """
        saved = {k: os.environ.get(k) for k in ("DBUS_SYSTEM_BUS_ADDRESS", "PATH")}
        os.environ.update(self.environ({k: v or "" for k, v in saved.items()}))
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def __enter__(self) -> PrivateBus:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> PrivateBus:
        # Starting takes milliseconds, but reading the address line blocks; keep the loop free.
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)
