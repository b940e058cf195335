"""Where a store's rows live: one SQLite file, or a PostgreSQL database.

The store's SQL is written once, in SQLite's spelling: `?` placeholders and SQLite's type
names. Each backend here knows the few things the two databases do differently:
connecting, where the schema version is kept, listing tables, running a migration,
replacing a row by key, and naming a row's version. Everything else is shared.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

if TYPE_CHECKING:
    import psycopg

URL_SCHEMES = ("postgresql://", "postgres://")
# The version table of a PostgreSQL store (SQLite keeps it in PRAGMA user_version).
VERSION_TABLE = "tracker_schema_version"
# pg_advisory_xact_lock key held while migrating: collectors starting together against a
# fresh database upgrade it one after the other, not all at once.
MIGRATION_LOCK = 0x5173_7472_6B72  # "Sstrkr"


class BackendError(Exception):
    """The database refused: not a tracker store, or an upgrade failed."""


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    @property
    def description(self) -> Any: ...


class Connection(Protocol):
    """What the store (and a few callers) use of a connection: sqlite3's API."""

    def execute(self, sql: str, params: Sequence[object] = ..., /) -> Any: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[object]], /) -> Any: ...


def is_database_url(location: str | Path) -> bool:
    """A PostgreSQL URL rather than a file path."""
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


# `scheme://`; two letters at least, so a Windows drive (`C:/...`) is still a path.
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")


def unsupported_url(location: str) -> str | None:
    """Why `location` cannot name a store, or None if it can: a URL other than
    PostgreSQL's (mysql://, sqlite:///...) would otherwise be taken as a file path, whose
    `//` folds into a folder named after the scheme."""
    match = _URL_SCHEME.match(location)
    if match is None or is_database_url(location):
        return None
    return (f"unsupported database URL scheme '{match.group(1)}' (use a file path or "
            "postgresql://...)")


def has_password(url: str) -> bool:
    from psycopg.conninfo import conninfo_to_dict

    return "password" in conninfo_to_dict(url)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    url = re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", url)
    return re.sub(r"(password=)[^&]*", r"\1***", url)


class SqliteBackend:
    """One SQLite file in WAL mode (readers such as the dashboard never block writers)."""

    name = "SQLite"
    lost = False  # a file does not go away like a server connection
    # A REPLACE deletes the old row and inserts a new one with a new rowid, which is
    # what the dashboard's cache keys notice (dashboard/data.py).
    row_version = "rowid"

    def __init__(self, path: Path, *, create: bool, readonly: bool) -> None:
        from tracker.store import StoreMissing

        self.location = str(path)
        try:
            is_folder, exists = path.is_dir(), path.exists()
        except OSError as error:  # a folder on the way this user may not enter
            raise BackendError(f"cannot reach it ({error.strerror or error})") from None
        if is_folder:
            raise BackendError("is a folder, not a store file")
        if not exists and (readonly or not create):
            raise StoreMissing(f"{path}: no store here yet")
        self.errors: tuple[type[Exception], ...] = (sqlite3.DatabaseError,)
        self.connection = connect_readonly(path) if readonly else _connect_writable(path)
        try:
            self.connection.execute("PRAGMA busy_timeout = 10000")
            if not readonly:
                self.connection.execute("PRAGMA journal_mode = WAL")
                # NORMAL in WAL mode: a power cut may lose the last transactions but
                # never corrupts the file.
                self.connection.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as error:
            self.connection.close()
            problem = _unwritable(path) if isinstance(error, sqlite3.OperationalError) \
                and not readonly else None
            if problem is None:
                raise
            raise BackendError(problem) from None

    def schema_version(self) -> int:
        return int(self.connection.execute("PRAGMA user_version").fetchone()[0])

    def table_names(self) -> set[str]:
        return {row[0] for row in self.connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}

    def migrate(self, migrations: Sequence[str], version: int) -> None:
        if version == 0 and self.table_names():
            raise BackendError("an SQLite file, but not a tracker store; refusing to write "
                               "to it")
        for step in range(version, len(migrations)):
            # One transaction per step: a crash mid-upgrade leaves the previous version.
            try:
                self.connection.executescript(
                    f"BEGIN; {migrations[step]} PRAGMA user_version = {step + 1}; COMMIT;")
            except sqlite3.Error as error:
                self.connection.rollback()
                raise BackendError(f"upgrading to schema {step + 1} failed ({error})") from None

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        marks = ", ".join("?" for _ in columns)
        return f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({marks})"

    def begin(self) -> None:
        """sqlite3 opens the transaction itself at the first write."""

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()

    def try_lock(self, name: str) -> bool:
        raise NotImplementedError("an SQLite store is locked with a file beside it")

    def unlock(self, name: str) -> None:
        raise NotImplementedError("an SQLite store is locked with a file beside it")

    def scrub(self) -> str | None:
        """After deleting rows: overwrite their bytes (secure_delete was on) and fold the
        WAL, which still holds the old pages, into the file. None, or what is left."""
        busy, _, _ = self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            return (f"{self.location}-wal still holds copies of the deleted rows until the "
                    "collector and dashboard on this store stop; run forget again then")
        return None

    def before_delete(self) -> None:
        self.connection.execute("PRAGMA secure_delete = ON")

    def close(self) -> None:
        self.connection.close()


class PgConnection:
    """A psycopg connection that takes the store's SQL as sqlite3 does (`?` marks)."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.raw = connection

    def execute(self, sql: str, params: Sequence[object] = ()) -> psycopg.Cursor[Any]:
        return self.raw.execute(_pg_sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> psycopg.Cursor[Any]:
        cursor = self.raw.cursor()
        cursor.executemany(_pg_sql(sql), [tuple(row) for row in rows])
        return cursor


@lru_cache(maxsize=256)
def _pg_sql(sql: str) -> str:
    # The store's SQL has no `?` or `%` inside string literals, so this is safe.
    return sql.replace("%", "%%").replace("?", "%s")


# SQLite's type names in the migrations, as PostgreSQL spells them. REAL is a 4-byte
# float in PostgreSQL (too coarse for Unix seconds); "C" collation orders and compares
# text bytewise, as SQLite does, so both sort participants and keys alike.
PG_TYPES = {"REAL": "DOUBLE PRECISION", "BLOB": "BYTEA", "TEXT": 'TEXT COLLATE "C"'}


def pg_migration(sql: str) -> str:
    return re.sub(r"\b(REAL|BLOB|TEXT)\b", lambda m: PG_TYPES[m.group(1)], sql)


def _uri(path: Path, query: str) -> str:
    """An SQLite URI for the file at `path`: `?`, `#` and `%` in a name are escaped."""
    return f"file:{quote(str(path))}?{query}"


def _connect_writable(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackendError(f"cannot create the folder {path.parent} "
                           f"({error.strerror or error})") from None
    try:
        return sqlite3.connect(_uri(path, "mode=rwc"), uri=True, timeout=10.0,
                               check_same_thread=False)
    except sqlite3.OperationalError:
        problem = _unwritable(path)
        if problem is None:
            raise
        raise BackendError(problem) from None


def connect_readonly(path: Path, timeout: float = 10.0) -> sqlite3.Connection:
    """A read-only connection to the store file at `path`, also for a reader who may not
    write its folder (an analyst reading a shared store), where SQLite cannot make the
    WAL index file (`-shm`). BackendError says why, where it cannot be read at all."""
    if path.is_dir():
        raise BackendError("is a folder, not a store file")
    if not os.access(path, os.R_OK):
        raise BackendError("permission denied: cannot read the file")
    connection = sqlite3.connect(_uri(path, "mode=ro"), uri=True, timeout=timeout,
                                 check_same_thread=False)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return connection
    except sqlite3.OperationalError as error:
        connection.close()
        # "readonly" or "unable to open": the -shm could not be made or opened. Anything
        # else (locked, damaged) is for the caller to report.
        if "readonly" not in str(error) and "unable to open" not in str(error):
            raise
        if _wal_pending(path):
            problem = _wal_unreadable(path)
            if problem is None:
                raise
            raise BackendError(problem) from None
    # With no write-ahead log pending the file alone is the whole store, so it is read
    # as it is.
    return sqlite3.connect(_uri(path, "immutable=1"), uri=True, check_same_thread=False)


def _wal_pending(path: Path) -> bool:
    wal = Path(f"{path}-wal")
    return wal.exists() and wal.stat().st_size > 0


def _wal_unreadable(path: Path) -> str | None:
    """Why the pending write-ahead log beside `path` cannot be read. Reading it needs its
    `-shm` index: readable if it exists, else created, which needs the folder writable.
    Reading the file alone instead would silently miss the newest rows."""
    wal, index = Path(f"{path}-wal"), Path(f"{path}-shm")
    for part in (wal, index):
        if part.exists() and not os.access(part, os.R_OK):
            return f"permission denied: cannot read {part.name}, part of the store"
    if not index.exists() and not os.access(path.parent, os.W_OK):
        return (f"{wal.name} holds changes not yet in the file, and SQLite cannot create "
                f"{index.name} to read them: the folder {path.parent} is not writable "
                f"(copy {path.name} and {wal.name} to a folder you may write, and read the "
                "copy)")
    return None


def _unwritable(path: Path) -> str | None:
    """Why a writing command cannot use the store file at `path`, if it is permissions:
    SQLite writes the file and makes its -wal and -shm files beside it."""
    if path.exists() and not os.access(path, os.R_OK):
        return "permission denied: cannot read the file"
    if path.exists() and not os.access(path, os.W_OK):
        return ("permission denied: the file is read-only (reading commands such as "
                "export and status can still read it)")
    if not os.access(path.parent, os.W_OK):
        return (f"permission denied: the folder {path.parent} is not writable, and SQLite "
                "keeps the store's -wal and -shm files beside it")
    return None


class PostgresBackend:
    """A PostgreSQL database (psycopg 3), shared by many collectors.

    The connection is in autocommit mode: a read is its own short transaction, so a
    long-lived reader (the dashboard) never holds one open; writes go through explicit
    BEGIN ... COMMIT blocks (`Store.transaction`)."""

    name = "PostgreSQL"
    # xmin is the transaction that wrote the row's current version: any update or
    # replacement changes it, as a new rowid does in SQLite.
    row_version = "xmin::text::bigint"

    def __init__(self, url: str, *, readonly: bool) -> None:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        self.location = redact(url)
        self.errors = (psycopg.Error,)
        given = conninfo_to_dict(url)
        # Everything in the URL (sslmode, sslrootcert, target_session_attrs...) goes to
        # libpq as written; only these two get a default when the URL has none.
        extra: dict[str, Any] = {}
        if "connect_timeout" not in given:
            extra["connect_timeout"] = 10
        if "application_name" not in given:
            extra["application_name"] = "sitting-tracker"
        try:
            raw = psycopg.connect(url, autocommit=True, **extra)
        except psycopg.Error as error:
            raise BackendError(f"cannot connect ({_first_line(error)})") from None
        if readonly:
            raw.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        self.connection = PgConnection(raw)

    @property
    def lost(self) -> bool:
        return bool(self.connection.raw.broken)

    def schema_version(self) -> int:
        # A catalog query, not to_regclass(): that may answer from this session's cache,
        # stale while another collector's migration commits.
        exists = self._scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
            f"current_schema() AND table_name = '{VERSION_TABLE}'")
        return int(self._scalar(f"SELECT max(version) FROM {VERSION_TABLE}") or 0) \
            if exists else 0

    def _scalar(self, sql: str) -> Any:
        row = self.connection.raw.execute(sql).fetchone()
        return None if row is None else row[0]

    def table_names(self) -> set[str]:
        return {row[0] for row in self.connection.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()")}

    def migrate(self, migrations: Sequence[str], version: int) -> None:
        import psycopg

        raw = self.connection.raw
        for step in range(version, len(migrations)):
            try:
                with raw.transaction():
                    raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                    # Another collector may have upgraded while this one waited.
                    done = self.schema_version()
                    if done > step:
                        continue
                    if done == 0 and self.table_names():
                        raise BackendError(
                            "a PostgreSQL database (schema) with tables of its own, but not "
                            "a tracker store; refusing to write to it (give the store a "
                            "database or schema of its own: ?options=-csearch_path%3Dname)")
                    if step == 0:
                        raw.execute(f"CREATE TABLE {VERSION_TABLE} (version INTEGER NOT NULL)")
                        raw.execute(f"INSERT INTO {VERSION_TABLE} VALUES (0)")
                    raw.execute(pg_migration(migrations[step]).encode())
                    raw.execute(f"UPDATE {VERSION_TABLE} SET version = %s", (step + 1,))
            except psycopg.Error as error:
                raise BackendError(f"upgrading to schema {step + 1} failed "
                                   f"({_first_line(error)})") from None

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        marks = ", ".join("?" for _ in columns)
        update = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in key)
        # Atomic under concurrency: two writers of the same key never both insert.
        return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {update}")

    def begin(self) -> None:
        self.connection.raw.execute("BEGIN")

    def commit(self) -> None:
        self.connection.raw.execute("COMMIT")

    def rollback(self) -> None:
        import psycopg

        # A connection that broke mid-transaction has nothing left to roll back.
        if not self.connection.raw.closed:
            with contextlib.suppress(psycopg.OperationalError):
                self.connection.raw.execute("ROLLBACK")

    def try_lock(self, name: str) -> bool:
        """Take the session-level advisory lock `name`, without waiting. The server
        drops it when this connection ends, however the process ends."""
        row = self.connection.raw.execute("SELECT pg_try_advisory_lock(%s)",
                                          (_lock_key(name),)).fetchone()
        return bool(row and row[0])

    def unlock(self, name: str) -> None:
        self.connection.raw.execute("SELECT pg_advisory_unlock(%s)", (_lock_key(name),))

    def before_delete(self) -> None:
        """PostgreSQL has no secure_delete; VACUUM afterwards frees the dead rows."""

    def scrub(self) -> str | None:
        import psycopg

        from tracker.store import PARTICIPANT_TABLES

        try:
            for table in PARTICIPANT_TABLES:  # outside a transaction: autocommit
                self.connection.raw.execute(f"VACUUM {table}")
        except psycopg.Error as error:
            return f"VACUUM failed ({_first_line(error)}); the server's autovacuum will do it"
        return None

    def close(self) -> None:
        self.connection.raw.close()


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for `name` (namespaced to this program)."""
    digest = hashlib.blake2b(f"sitting-tracker\0{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


Backend = SqliteBackend | PostgresBackend
