"""Where a store cannot be opened as asked, the commands say why in one line (exit 2):
a folder, no permission, a URL of another database. Reading commands read a store in
a folder they may not write wherever SQLite can."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracker.cli import main
from tracker.store import Store, StoreError, store_location

REPO = Path(__file__).resolve().parents[1]
# setpriv runs a command as `nobody`: root may write anywhere, so a read-only folder
# only shows as one to another user.
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def as_reader(*args: str) -> subprocess.CompletedProcess[str]:
    """`sitting-tracker ARGS` run by a user who may not write what root made read-only."""
    return run_as_reader([sys.executable, "-m", "tracker.cli", *args])


def run_as_reader(command: list[str]) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        probe = subprocess.run([*NOBODY, sys.executable, "-c", "import tracker"], cwd=REPO,
                               capture_output=True)
        if probe.returncode != 0:
            pytest.skip("no unprivileged user can run this checkout (setpriv, nobody)")
        command = NOBODY + command
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": "/tmp"})


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder others may read and not write (made read-only by the test), and an
    output folder anyone may write; outside tmp_path, whose parents nobody may enter."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="shared-store-"))
    (folder / "out").mkdir(mode=0o777)
    (folder / "out").chmod(0o777)
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def _read_only_copy_with_empty_log(source: Path, folder: Path) -> Path:
    """The store in a read-only folder with an empty -wal beside it (as a collector's
    clean stop leaves it where the file system keeps the log) and no -shm."""
    store = folder / "ro" / "s.sqlite"
    store.parent.mkdir()
    shutil.copy(source, store)
    Path(f"{store}-wal").touch()
    store.parent.chmod(0o555)
    return store


def _filled_store(path: Path) -> None:
    with Store.open(path) as store:
        store.add_event(1.7e9, "note", "first")
        store.add_event(1.7e9 + 60, "note", "second")


def _read_only_copy_with_pending_log(source: Path, folder: Path) -> Path:
    """The store and its write-ahead log as a running collector leaves them (the newest
    rows in `-wal` only), copied without the `-shm` index, into a read-only folder."""
    store = folder / "ro" / "s.sqlite"
    store.parent.mkdir()
    writer = sqlite3.connect(source)
    writer.execute("PRAGMA wal_autocheckpoint = 0")  # keep the rows in the log
    writer.execute("INSERT INTO events (time_s, kind, detail, participant_id, device_id) "
                   "VALUES (1.8e9, 'note', 'newest', 'me', 'default')")
    writer.commit()
    shutil.copy(source, store)
    shutil.copy(f"{source}-wal", f"{store}-wal")
    writer.close()
    store.parent.chmod(0o555)
    return store


def test_export_reads_a_store_in_a_read_only_folder_with_an_empty_log(
        tmp_path: Path, shared: Path) -> None:
    """An empty -wal beside the file (left by a collector's clean stop on some systems)
    and no -shm: nothing is pending, so the file alone is read (it failed: 'not a tracker
    store or damaged (unable to open database file)')."""
    _filled_store(tmp_path / "s.sqlite")
    store = _read_only_copy_with_empty_log(tmp_path / "s.sqlite", shared)
    out = shared / "out" / "events.csv"
    result = as_reader("export", "events", "--db", str(store), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "first" in out.read_text() and "second" in out.read_text()
    status = as_reader("status", "--db", str(store))
    assert status.returncode == 1 and "no collector has written" in status.stdout
    assert sorted(p.name for p in store.parent.iterdir()) == ["s.sqlite", "s.sqlite-wal"]


def test_the_dashboard_reads_a_store_in_a_read_only_folder(tmp_path: Path,
                                                           shared: Path) -> None:
    """The dashboard checks the store with a probe of its own before opening it: read-only
    as well, so it too reads where it may not write (it said 'damaged')."""
    _filled_store(tmp_path / "s.sqlite")
    store = _read_only_copy_with_empty_log(tmp_path / "s.sqlite", shared)
    show = ("import sys; from pathlib import Path; from dashboard.context import open_store; "
            "store, _ = open_store(Path(sys.argv[1])); print(len(store.events()))")
    result = run_as_reader([sys.executable, "-c", show, str(store)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"


def test_a_pending_log_that_cannot_be_read_is_named_not_called_damage(
        tmp_path: Path, shared: Path) -> None:
    """Reading the file without its log would silently miss the newest rows: say that
    the folder is not writable, and what to do."""
    _filled_store(tmp_path / "s.sqlite")
    store = _read_only_copy_with_pending_log(tmp_path / "s.sqlite", shared)
    for args in (["export", "events", "-o", str(shared / "out" / "e.csv")], ["status"]):
        result = as_reader(*args, "--db", str(store))
        assert result.returncode == 2, result.stderr
        message = result.stderr.strip()
        assert "\n" not in message and "Traceback" not in message
        assert f"{store}: s.sqlite-wal holds changes not yet in the file" in message
        assert f"the folder {store.parent} is not writable" in message
        assert "damaged" not in message
    assert not (shared / "out" / "e.csv").exists()


def test_a_store_the_user_may_not_read_says_permission_denied(
        tmp_path: Path, shared: Path) -> None:
    store = shared / "s.sqlite"
    _filled_store(store)
    store.chmod(0o600)  # root's alone
    for args in (["export", "events", "-o", str(shared / "out" / "e.csv")], ["status"],
                 ["forget", "--participant", "me", "--yes"]):
        result = as_reader(*args, "--db", str(store))
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == (f"sitting-tracker {args[0]}: error: {store}: "
                                          "permission denied: cannot read the file")


def test_a_writing_command_in_a_read_only_folder_says_so(tmp_path: Path,
                                                         shared: Path) -> None:
    store = shared / "ro" / "s.sqlite"
    store.parent.mkdir()
    _filled_store(store)
    store.parent.chmod(0o555)
    result = as_reader("forget", "--participant", "me", "--yes", "--db", str(store))
    assert result.returncode == 2
    assert "permission denied: the file is read-only" in result.stderr
    assert "damaged" not in result.stderr


def test_db_naming_a_folder_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["status"], ["export", "events", "-o", str(tmp_path / "e.csv")],
                 ["forget", "--participant", "me", "--yes"]):
        assert main([*args, "--db", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert err == f"sitting-tracker {args[0]}: error: {tmp_path}: is a folder, not a " \
                      "store file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made in it


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite:///tmp/s.sqlite",
                                 "postgresql+psycopg://host/db"])
def test_a_url_of_another_database_is_refused_and_nothing_is_made(
        url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    recording = tmp_path / "r.csv"
    recording.write_text("t,x,y,z\n" + "".join(f"{i / 50},0,0,1\n" for i in range(3000)))
    scheme = url.split("://")[0]
    expected = f"unsupported database URL scheme '{scheme}' (use a file path or " \
               "postgresql://...)"
    for args in (["classify", str(recording), "--location", "thigh", "-o", "labels.csv"],
                 ["export", "events", "-o", "e.csv"], ["status"], ["collect"],
                 ["dashboard"]):
        assert main([*args, "--db", url]) == 2
        err = capsys.readouterr().err
        assert err == f"sitting-tracker {args[0]}: error: --db {url}: {expected}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_store_location_keeps_paths_and_postgresql_urls() -> None:
    assert store_location("postgresql://h/db") == "postgresql://h/db"
    assert store_location("postgres://h/db") == "postgres://h/db"
    assert store_location("C:/data/s.sqlite") == Path("C:/data/s.sqlite")
    assert store_location("~/s.sqlite") == Path.home() / "s.sqlite"
    with pytest.raises(StoreError, match=r"mysql://u:\*\*\*@h/db: unsupported database URL"):
        store_location("mysql://u:secret@h/db")  # no password in the message
    with pytest.raises(StoreError, match="unsupported database URL scheme 'mysql'"):
        Store.open("mysql://h/db")  # a caller passing the text itself


def test_a_name_with_uri_characters_is_a_plain_file_name(tmp_path: Path) -> None:
    """The store is opened by an SQLite URI: `?` and `#` in its name are escaped, not
    read as the URI's query."""
    path = tmp_path / "week #2?.sqlite"
    _filled_store(path)
    with Store.open(path, readonly=True) as store:
        assert len(store.events()) == 2
    # Its -wal and -shm beside it, and no file cut at the `?` or `#`.
    assert {p.name[:len(path.name)] for p in tmp_path.iterdir()} == {path.name}
