"""A private PostgreSQL server for the tests: a throwaway cluster in a temp dir.

`initdb` and `pg_ctl` come from Debian's `postgresql` package (scripts/install-system-
deps.sh --tests installs it), found in /usr/lib/postgresql/<version>/bin or on PATH. The
server listens on loopback only, on a free port, with a random password (scram-sha-256,
no trust), and is stopped and deleted at the end of the session. initdb refuses to run
as root, so a root test run runs the server as the package's unprivileged `postgres`
user. Tests using it skip, saying why, only when the binaries are not installed.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER_USER = "postgres"  # created by the Debian package; runs the server under root
ADMIN = "tracker_admin"


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    def major(path: str) -> int:
        name = Path(path).parent.parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=major, reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """One running cluster; `database()` makes a fresh database and gives its URL."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.password = secrets.token_urlsafe(18)
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
        self.data = self.root / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(SERVER_USER)
            except KeyError:
                shutil.rmtree(self.root)
                pytest.skip(f"running as root and there is no unprivileged {SERVER_USER!r} "
                            "user to run PostgreSQL (install Debian's postgresql package: "
                            "scripts/install-system-deps.sh --tests)")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", SERVER_USER, "--"]
            self._owner: tuple[int, int] | None = (user.pw_uid, user.pw_gid)
        else:
            self._owner = None
        self._count = 0

    def _run(self, *command: str) -> None:
        result = subprocess.run([*self.as_user, *command], capture_output=True, text=True,
                                timeout=120)
        if result.returncode:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(command[:2])} failed:\n{result.stdout}"
                               f"{result.stderr}\n{tail}")

    def start(self) -> None:
        secret = self.root / "pwfile"
        secret.write_text(self.password + "\n")
        if self._owner:
            os.chown(secret, *self._owner)
        try:
            self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", ADMIN,
                      "--pwfile", str(secret), "--auth", "scram-sha-256", "--encoding",
                      "UTF8", "--locale", "C.UTF-8", "--no-sync")
        finally:
            secret.unlink()
        # Throwaway data: no fsync. Loopback only; the socket stays in our temp dir.
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off "
                   "-c shared_buffers=32MB -c max_connections=120")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.root / "server.log"), "-w", "-t", "60", "-o", options, "start")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{ADMIN}:{self.password}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        self._count += 1
        name = f"test_{os.getpid()}_{self._count}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                      "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def postgres_server() -> Iterator[Server]:
    """Session fixture body: the running server (skips when PostgreSQL is missing)."""
    bin_dir = find_bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl in /usr/lib/postgresql/*"
                    "/bin or on PATH): run scripts/install-system-deps.sh --tests")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install 'psycopg[binary]'")
    server = Server(bin_dir)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(server.root, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        server.stop()


def fresh_database(server: Server) -> Iterator[str]:
    """Function fixture body: the URL of a new empty database, dropped afterwards."""
    url = server.database()
    try:
        yield url
    finally:
        server.drop(url)
