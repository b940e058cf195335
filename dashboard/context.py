"""Which store and settings the dashboard shows, and opening the store safely.

The store (a SQLite file or a postgresql:// URL) is opened read-only. A store from an
older schema is opened writable once, which runs the migrations, then read-only again.
A damaged or foreign file is reported and never written. `database is locked` (a
writer holding the file outside WAL mode, or mid-recovery) is retried for a few seconds
before it is reported.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tracker import store as store_schema
from tracker.config import ConfigError, Settings, load_settings
from tracker.store import (
    Store,
    StoreError,
    StoreLocation,
    StoreMissing,
    StoreOutdated,
    store_location,
)

if TYPE_CHECKING:
    from dashboard.data import Source
from tracker.store_backends import BackendError, connect_readonly, is_database_url, redact
from tracker.store_choice import choose_store

T = TypeVar("T")
LOCK_ATTEMPTS = 4
LOCK_WAIT_S = 0.5
# Short, so a locked file costs seconds, not the store's own 10 s busy timeout per try.
PROBE_TIMEOUT_S = 0.5


class StoreBusy(StoreError):
    """The store stayed locked by a writer through every retry."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The arguments after `--` in `streamlit run dashboard/app.py -- --db PATH`."""
    parser = argparse.ArgumentParser(prog="dashboard", add_help=False)
    parser.add_argument("--db")  # checked by store_path, where the page can say what is wrong
    parser.add_argument("--demo", action="store_true")
    return parser.parse_known_args(list(argv))[0]


def load_dashboard_settings(path: Path) -> tuple[Settings, str | None]:
    """The settings file's settings, or the defaults and the reason it is unusable."""
    try:
        return load_settings(path), None
    except ConfigError as error:
        return Settings(), str(error)


def store_path(cli_db: StoreLocation | None, settings: Settings) -> StoreLocation:
    """--db, else $SITTING_TRACKER_DB, else the config's tracker.db, else the default:
    the order of every command (tracker.store_choice). StoreError for a URL that names
    no store (mysql://)."""
    return choose_store(None if cli_db is None else store_location(cli_db),
                        lambda: settings)


def is_locked(error: BaseException) -> bool:
    text = str(error).lower()
    return "database is locked" in text or "database is busy" in text


def retry_locked(read: Callable[[], T], attempts: int = LOCK_ATTEMPTS,
                 wait_s: float = LOCK_WAIT_S) -> T:
    """`read()`, tried again while the store is locked; StoreBusy when it stays so."""
    for attempt in range(attempts):
        try:
            return read()
        except (sqlite3.OperationalError, StoreError) as error:
            if not is_locked(error):
                raise
            if attempt == attempts - 1:
                raise StoreBusy("the store is locked by another program (the collector "
                                "mid-write?); try again in a moment") from None
            time.sleep(wait_s)
    raise AssertionError("unreachable")


def schema_version(path: Path) -> tuple[int, int]:
    """(user_version, number of tables) read without the store's long busy timeout."""
    def probe() -> tuple[int, int]:
        try:
            # As the store opens it read-only: also in a folder this user may not write.
            connection = connect_readonly(path, timeout=PROBE_TIMEOUT_S)
            try:
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                tables = connection.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            finally:
                connection.close()
        except BackendError as error:  # a folder, no permission: said as it is
            raise StoreError(f"{path}: {error}; nothing was changed") from None
        except sqlite3.DatabaseError as error:
            if is_locked(error):
                raise
            raise StoreError(f"{path}: not a tracker store, or damaged ({error}); "
                             "nothing was changed") from None
        return int(version), int(tables)
    return retry_locked(probe)


def open_store(location: StoreLocation) -> tuple[Store | None, str | None]:
    """(read-only store, note) or (None, None) when there is no store or no data
    structure in it yet. Raises StoreError for damaged, foreign or newer files."""
    if isinstance(location, str) and is_database_url(location):
        return _open_database(location)
    path = Path(location)
    if not path.exists():
        return None, None
    version, tables = schema_version(path)
    if version == 0 and tables == 0:
        return None, None  # created but empty: the collector writes the schema
    if version == 0:
        raise StoreError(f"{path}: an SQLite file, but not a tracker store; nothing was "
                         "changed")
    note = None
    current = store_schema.SCHEMA_VERSION  # read here, so an upgrade can be tested
    if version < current:
        retry_locked(lambda: Store.open(path, create=False).close())
        note = f"Upgraded the store from schema {version} to {current}."
    return retry_locked(lambda: Store.open(path, readonly=True)), note


def _open_database(url: str) -> tuple[Store | None, str | None]:
    """open_store for a PostgreSQL store: the server answers for itself whether the
    schema is there, current or older."""
    try:
        return Store.open(url, readonly=True), None
    except StoreMissing:
        return None, None  # an empty database: the first collector writes the schema
    except StoreOutdated:
        Store.open(url, create=False).close()
        note = f"Upgraded the store to schema {store_schema.SCHEMA_VERSION}."
        return Store.open(url, readonly=True), note


def store_label(location: StoreLocation) -> str:
    """The store as shown on a page: never a password in the URL."""
    return redact(location) if isinstance(location, str) else str(location)


@dataclass
class SharedStore:
    """One read-only connection for every session; the lock keeps reads one at a time."""

    store: Store
    note: str | None
    lock: threading.Lock
    location: StoreLocation  # as given (a URL with its password): for connecting again

    def read(self, query: Callable[[Store], T]) -> T:
        with self.lock:
            try:
                return retry_locked(lambda: query(self.store))
            except StoreError:
                if not self.store.lost:
                    raise
            # The server dropped the connection (restarted, or ended an idle session):
            # connect again and read once more.  A server still away raises StoreError
            # here, which the page shows; the next refresh tries again.
            self.store.close()
            self.store = Store.open(self.location, readonly=True)
            return retry_locked(lambda: query(self.store))


@dataclass(frozen=True)
class DashboardContext:
    db_path: StoreLocation  # a file, or a postgresql:// URL (show it with store_label)
    config_path: Path
    settings: Settings
    settings_error: str | None
    tz: tzinfo
    shared: SharedStore | None  # None: no store yet, or one that cannot be read
    store_problem: str | None = None  # why the store cannot be read (shown already)
    demo: bool = False  # served by `sitting-tracker demo`: its collector stops by itself
    # Read once per run, for the days' zone and then for the page (None: not read).
    participants: list[str] | None = None  # everyone with data in the store
    shown_participant: str | None = None  # whose data the page shows unless chosen anew
    source: Source | None = None  # that participant's band, as pick_source found it
