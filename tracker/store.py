"""The store: raw sample chunks, windows, bouts, events, stated postures.

By default one SQLite file in WAL mode (readers such as the dashboard never block the
collector); given a `postgresql://` URL, a PostgreSQL database that many collectors
share (tracker/store_backends.py holds the few differences). A versioned schema is
upgraded in place by numbered migrations, the same on both. Every row carries a
participant id and a device id.

Writes are idempotent: a row is keyed by (participant, device, start time), so writing
the same chunk or window twice leaves one row, even when the second write is a retry
racing the first on another connection.
"""

from __future__ import annotations

import sqlite3
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tracker.labels import POSTURES
from tracker.store_backends import (
    Backend,
    BackendError,
    Connection,
    PostgresBackend,
    SqliteBackend,
    is_database_url,
    redact,
    unsupported_url,
)

DEFAULT_PARTICIPANT = "me"
DEFAULT_DEVICE = "default"
# The meta key under which the running collector reports its state every second.
COLLECTOR_STATUS_KEY = "collector_status"
# Raw samples are kept as int16 counts of 1/4096 g: ±8 g range, 0.24 mg resolution,
# finer than any band here delivers, and 2 bytes per sample-axis before compression.
RAW_SCALE_G = 1.0 / 4096.0


class StoreError(Exception):
    """The store cannot be used: not a tracker store, corrupted, or from a newer version."""


class StoreMissing(StoreError):
    """There is no store at that place yet (no file, or a database without the schema)."""


class StoreOutdated(StoreError):
    """Opened read-only, but the schema is older than this version's: open it writable."""


MIGRATIONS: list[str] = [
    # 0 -> 1: the first schema.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE raw_chunks (
        participant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        n_samples INTEGER NOT NULL,
        scale_g REAL NOT NULL,
        t_data BLOB NOT NULL,
        xyz_data BLOB NOT NULL,
        PRIMARY KEY (participant_id, device_id, start_s)
    );
    CREATE TABLE windows (
        participant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        label TEXT NOT NULL,
        confidence REAL,
        p_sitting REAL,
        p_standing REAL,
        p_walking REAL,
        p_lying REAL,
        location TEXT,
        PRIMARY KEY (participant_id, device_id, start_s)
    );
    CREATE TABLE bouts (
        participant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        label TEXT NOT NULL,
        PRIMARY KEY (participant_id, device_id, start_s)
    );
    CREATE TABLE events (
        participant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        time_s REAL NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (participant_id, device_id, time_s, kind)
    );
    CREATE INDEX windows_by_time ON windows (start_s);
    CREATE INDEX bouts_by_time ON bouts (start_s);
    CREATE INDEX events_by_time ON events (time_s);
    """,
    # 1 -> 2: postures the wearer stated: calibration phases and corrections made in the
    # dashboard.  They never overwrite the classifier's windows; personal models learn
    # from them.
    """
    CREATE TABLE labels (
        participant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        label TEXT NOT NULL,
        source TEXT NOT NULL,
        location TEXT,
        created_s REAL NOT NULL,
        PRIMARY KEY (participant_id, device_id, start_s, source)
    );
    """,
    # 2 -> 3: small named values belong to a participant and device too, so collectors
    # sharing one database keep their own status and progress marks. The values of
    # older stores stay store-wide ('' for both).
    """
    CREATE TABLE meta_keyed (
        participant_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (participant_id, device_id, key)
    );
    INSERT INTO meta_keyed (participant_id, device_id, key, value)
        SELECT '', '', key, value FROM meta;
    DROP TABLE meta;
    ALTER TABLE meta_keyed RENAME TO meta;
    """,
]
LABEL_SOURCES = ("calibration", "correction")
SCHEMA_VERSION = len(MIGRATIONS)
TABLES = ("raw_chunks", "windows", "bouts", "events", "labels")
# Every table whose rows belong to a participant: what `forget` deletes from.
PARTICIPANT_TABLES = ("meta", *TABLES)
# Each table's columns in order, and the key a write replaces by.
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "meta": (("participant_id", "device_id", "key", "value"),
             ("participant_id", "device_id", "key")),
    "raw_chunks": (("participant_id", "device_id", "start_s", "end_s", "n_samples", "scale_g",
                    "t_data", "xyz_data"), ("participant_id", "device_id", "start_s")),
    "windows": (("participant_id", "device_id", "start_s", "end_s", "label", "confidence",
                 *(f"p_{p}" for p in POSTURES), "location"),
                ("participant_id", "device_id", "start_s")),
    "bouts": (("participant_id", "device_id", "start_s", "end_s", "label"),
              ("participant_id", "device_id", "start_s")),
    "events": (("participant_id", "device_id", "time_s", "kind", "detail"),
               ("participant_id", "device_id", "time_s", "kind")),
    "labels": (("participant_id", "device_id", "start_s", "end_s", "label", "source",
                "location", "created_s"),
               ("participant_id", "device_id", "start_s", "source")),
}
# Chunks read per query while iterating raw samples: bounded memory on both backends.
RAW_PAGE = 64


@dataclass(frozen=True)
class RawChunk:
    """Raw samples of one device as stored: time in Unix seconds, acceleration in g."""

    t: np.ndarray  # (n,) float64
    xyz: np.ndarray  # (n, 3) float32


def _counts_and_micros(t: np.ndarray, xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    micros = np.round(np.asarray(t, dtype=np.float64) * 1e6).astype(np.int64)
    counts = np.clip(np.round(np.asarray(xyz) / RAW_SCALE_G), -32768, 32767).astype("<i2")
    return micros, counts


def quantise(t: np.ndarray, xyz: np.ndarray) -> RawChunk:
    """Samples exactly as the store will give them back: the collector classifies these,
    so a live run and a later `classify` of the stored samples see identical input."""
    micros, counts = _counts_and_micros(t, xyz)
    return RawChunk(t=micros / 1e6, xyz=(counts * RAW_SCALE_G).astype(np.float32))


def encode_raw(t: np.ndarray, xyz: np.ndarray) -> tuple[bytes, bytes]:
    """Compress a chunk: delta-coded absolute microseconds and int16 counts, zlib'd."""
    micros, counts = _counts_and_micros(t, xyz)
    deltas = np.diff(micros, prepend=0)  # the first "delta" is the absolute time
    # Axis-major layout compresses better: each axis varies smoothly on its own.
    return (zlib.compress(deltas.astype("<i8").tobytes(), 6),
            zlib.compress(np.ascontiguousarray(counts.T).tobytes(), 6))


def decode_raw(n: int, scale_g: float, t_data: bytes, xyz_data: bytes) -> RawChunk:
    micros = np.cumsum(np.frombuffer(zlib.decompress(t_data), dtype="<i8"))
    counts = np.frombuffer(zlib.decompress(xyz_data), dtype="<i2").reshape(3, n).T
    return RawChunk(t=micros / 1e6, xyz=(counts * scale_g).astype(np.float32))


StoreLocation = Path | str  # a SQLite file, or a postgresql:// URL


def store_location(text: str | Path) -> StoreLocation:
    """A --db argument or setting as the store takes it: a PostgreSQL URL as given (a
    Path would fold its `//`), anything else as a file path. StoreError for a URL of any
    other scheme. As the type of a --db option that error leaves argument parsing
    (argparse catches only its own), so tracker.cli says it in one line, no usage."""
    if isinstance(text, str):
        problem = unsupported_url(text)
        if problem:
            raise StoreError(f"{redact(text)}: {problem}")
        if is_database_url(text):
            return text
    return Path(text).expanduser()


@dataclass(frozen=True)
class Forgotten:
    rows: dict[str, int]  # rows deleted per table
    note: str | None  # where copies of them may still be, if anywhere


class Store:
    """A tracker store; open it with `Store.open(path_or_url)`."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.location = backend.location  # for messages: the file, or the URL sans password
        self.path = Path(backend.location) if isinstance(backend, SqliteBackend) else None
        self._depth = 0  # nesting of transaction() blocks; only the outermost commits
        self._upserts = {table: backend.upsert(table, *COLUMNS[table]) for table in COLUMNS}

    @property
    def connection(self) -> Connection:
        """The underlying connection, taking sqlite3-style SQL (`?`) on both backends.
        Prefer query_rows/query_scalar/read_frame, which report errors as StoreError."""
        return self._backend.connection

    @property
    def lost(self) -> bool:
        """The connection to the database server broke (never for an SQLite file)."""
        return self._backend.lost

    @property
    def is_postgres(self) -> bool:
        return isinstance(self._backend, PostgresBackend)

    @classmethod
    def open(cls, location: StoreLocation, *, create: bool = True,
             readonly: bool = False) -> Store:
        """Open (and create or upgrade) the store at a file path or postgresql:// URL."""
        where = str(location)
        backend: Backend
        if isinstance(location, str):
            location = store_location(location)  # never a folder named `mysql:`
        try:
            if is_database_url(where):
                where = redact(str(location))  # messages never show the password
                backend = PostgresBackend(str(location), readonly=readonly)
            else:
                backend = SqliteBackend(Path(location), create=create, readonly=readonly)
        except BackendError as error:
            raise StoreError(f"{where}: {error}") from None
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{where}: not a tracker store or damaged ({error})") from None
        store = cls(backend)
        try:
            try:
                version = backend.schema_version()
            except backend.errors as error:
                raise StoreError(f"{store.location}: not a tracker store or damaged "
                                 f"({error})") from None
            store._check_version(version, create=create, readonly=readonly)
            if version < SCHEMA_VERSION:
                try:
                    backend.migrate(MIGRATIONS, version)
                except BackendError as error:
                    raise StoreError(f"{store.location}: {error}") from None
            store._check_tables()
        except BaseException:
            store.close()
            raise
        return store

    def _check_version(self, version: int, *, create: bool, readonly: bool) -> None:
        where = self.location
        if version > SCHEMA_VERSION:
            raise StoreError(f"{where}: written by a newer version (schema {version}, this "
                             f"version knows {SCHEMA_VERSION}); upgrade sitting-tracker")
        # An empty database is a store to be (the file case is checked on opening).
        if version == 0 and self.is_postgres and (readonly or not create):
            raise StoreMissing(f"{where}: no store here yet")
        if version < SCHEMA_VERSION and readonly:
            raise StoreOutdated(f"{where}: schema {version} needs upgrading; open it once "
                                "with a writing command (e.g. export) to upgrade")

    def _check_tables(self) -> None:
        try:
            names = self._backend.table_names()
        except self._backend.errors as error:
            raise StoreError(f"{self.location}: damaged ({error})") from None
        missing = [t for t in TABLES if t not in names]
        if missing:
            raise StoreError(f"{self.location}: damaged: tables missing: {', '.join(missing)}")

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Everything inside is written together or not at all (blocks may nest). A
        database error (locked, read-only, connection lost) comes out as StoreError."""
        self._depth += 1
        try:
            if self._depth == 1:
                self._backend.begin()
            yield self._backend.connection
            if self._depth == 1:
                self._backend.commit()
        except BaseException as error:
            if self._depth == 1:
                self._backend.rollback()
            if isinstance(error, self._backend.errors):
                raise StoreError(f"{self.location}: cannot write ({error})") from error
            raise
        finally:
            self._depth -= 1

    # --- locks -----------------------------------------------------------------------

    def try_lock(self, name: str) -> bool:
        """PostgreSQL only: hold the advisory lock `name` for as long as this store is
        open (or until unlock); False, at once, when another connection holds it."""
        return self._backend.try_lock(name)

    def unlock(self, name: str) -> None:
        self._backend.unlock(name)

    # --- writing -------------------------------------------------------------------

    def add_raw(self, t: np.ndarray, xyz: np.ndarray, *, chunk_s: float = 60.0,
                participant: str = DEFAULT_PARTICIPANT, device: str = DEFAULT_DEVICE) -> None:
        """Store raw samples, cut into chunks of about `chunk_s` seconds."""
        if len(t) == 0:
            return
        cuts = np.flatnonzero(np.diff(np.floor((t - t[0]) / chunk_s))) + 1
        rows = []
        for piece in np.split(np.arange(len(t)), cuts):
            t_data, xyz_data = encode_raw(t[piece], xyz[piece])
            rows.append((participant, device, float(t[piece[0]]), float(t[piece[-1]]),
                         len(piece), RAW_SCALE_G, t_data, xyz_data))
        with self.transaction() as connection:
            connection.executemany(self._upserts["raw_chunks"], rows)

    def add_windows(self, windows: pd.DataFrame, *, location: str | None = None,
                    participant: str = DEFAULT_PARTICIPANT,
                    device: str = DEFAULT_DEVICE) -> None:
        """Write windows (columns start, end, label, [confidence, p_<posture>])."""
        columns = ["confidence", *(f"p_{p}" for p in POSTURES)]
        frame = windows.reindex(columns=["start", "end", "label", *columns])
        rows = [(participant, device, float(r[0]), float(r[1]), str(r[2]),
                 *(None if pd.isna(v) else float(v) for v in r[3:]), location)
                for r in frame.itertuples(index=False)]
        with self.transaction() as connection:
            connection.executemany(self._upserts["windows"], rows)

    def delete_windows(self, start_s: float, end_s: float, *,
                       participant: str = DEFAULT_PARTICIPANT,
                       device: str = DEFAULT_DEVICE) -> None:
        """Remove the windows that start within [start_s, end_s)."""
        with self.transaction() as connection:
            connection.execute(
                "DELETE FROM windows WHERE participant_id = ? AND device_id = ? "
                "AND start_s >= ? AND start_s < ?",
                (participant, device, _finite(start_s), _finite(end_s)))

    def replace_bouts(self, bouts: pd.DataFrame, start_s: float, end_s: float, *,
                      participant: str = DEFAULT_PARTICIPANT,
                      device: str = DEFAULT_DEVICE) -> None:
        """Replace the bouts that start within [start_s, end_s) by `bouts`."""
        rows = [(participant, device, float(b.start), float(b.end), str(b.label))
                for b in bouts.itertuples(index=False)]
        with self.transaction() as connection:
            connection.execute(
                "DELETE FROM bouts WHERE participant_id = ? AND device_id = ? "
                "AND start_s >= ? AND start_s < ?",
                (participant, device, _finite(start_s), _finite(end_s)))
            connection.executemany(self._upserts["bouts"], rows)

    def add_event(self, time_s: float, kind: str, detail: str = "", *,
                  participant: str = DEFAULT_PARTICIPANT,
                  device: str = DEFAULT_DEVICE) -> None:
        with self.transaction() as connection:
            connection.execute(self._upserts["events"],
                               (participant, device, float(time_s), kind, detail))

    def add_label(self, start_s: float, end_s: float, label: str, source: str, *,
                  location: str | None = None, participant: str = DEFAULT_PARTICIPANT,
                  device: str = DEFAULT_DEVICE) -> None:
        """Record that the wearer was in posture `label` from start_s to end_s."""
        if label not in POSTURES:
            raise ValueError(f"unknown posture {label!r}; one of {', '.join(POSTURES)}")
        if source not in LABEL_SOURCES:
            raise ValueError(f"unknown label source {source!r}")
        if not end_s > start_s:
            raise ValueError("a labelled span must end after it starts")
        with self.transaction() as connection:
            connection.execute(
                self._upserts["labels"],
                (participant, device, float(start_s), float(end_s), label, source, location,
                 time.time()))

    def delete_labels(self, start_s: float, end_s: float, source: str, *,
                      participant: str = DEFAULT_PARTICIPANT,
                      location: str | None = None) -> int:
        """Remove the spans of `source` (stated at `location`, if given) starting within
        [start_s, end_s); how many went."""
        where = "" if location is None else " AND location = ?"
        with self.transaction() as connection:
            cursor = connection.execute(
                "DELETE FROM labels WHERE participant_id = ? AND source = ? "
                f"AND start_s >= ? AND start_s < ?{where}",
                (participant, source, _finite(start_s), _finite(end_s),
                 *(() if location is None else (location,))))
        return int(cursor.rowcount)

    def set_meta(self, key: str, value: str, *, participant: str = "",
                 device: str = "") -> None:
        """Keep a small named value (collector status, progress marks) of a participant's
        device; '' for both: of the whole store."""
        with self.transaction() as connection:
            connection.execute(self._upserts["meta"], (participant, device, key, value))

    def forget(self, participant: str) -> Forgotten:
        """Delete every row of `participant` in every table, all in one transaction, then
        have the database drop the deleted bytes where it can."""
        self._backend.before_delete()
        with self.transaction() as connection:
            counts = {table: int(connection.execute(
                f"DELETE FROM {table} WHERE participant_id = ?", (participant,)).rowcount)
                for table in PARTICIPANT_TABLES}
        return Forgotten(counts, self._backend.scrub() if any(counts.values()) else None)

    # --- reading -------------------------------------------------------------------

    def query_rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query in the store's SQL (`?` marks, on either backend)."""
        try:
            return [tuple(row) for row in self.connection.execute(sql, tuple(params))
                    .fetchall()]
        except self._backend.errors as error:
            raise StoreError(f"{self.location}: cannot read ({error})") from None

    def query_scalar(self, sql: str, params: Sequence[object] = ()) -> Any:
        """The first column of the first row (None without rows)."""
        rows = self.query_rows(sql, params)
        return rows[0][0] if rows else None

    def read_frame(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """A query's rows as a DataFrame, typed as pandas.read_sql_query types them (the
        same code for both backends, so both give the same columns and dtypes)."""
        try:
            cursor = self.connection.execute(sql, tuple(params))
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        except self._backend.errors as error:
            raise StoreError(f"{self.location}: cannot read ({error})") from None
        return pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns,
                                         coerce_float=True)

    def meta(self, key: str, *, participant: str = "", device: str = "") -> str | None:
        value = self.query_scalar(
            "SELECT value FROM meta WHERE participant_id = ? AND device_id = ? AND key = ?",
            (participant, device, key))
        return None if value is None else str(value)

    def meta_values(self, key: str, participant: str | None = None
                    ) -> list[tuple[str, str, str]]:
        """(participant, device, value) of `key` for every participant and device."""
        who, params = _participant_filter(participant)
        return [(str(p), str(d), str(v)) for p, d, v in self.query_rows(
            f"SELECT participant_id, device_id, value FROM meta WHERE key = ?{who} "
            "ORDER BY participant_id, device_id", (key, *params))]

    def windows(self, start_s: float = -np.inf, end_s: float = np.inf,
                participant: str | None = None) -> pd.DataFrame:
        who, params = _participant_filter(participant)
        return self.read_frame(
            f"SELECT * FROM windows WHERE start_s >= ? AND start_s < ?{who} "
            "ORDER BY participant_id, device_id, start_s",
            (_finite(start_s), _finite(end_s), *params))

    def bouts(self, start_s: float = -np.inf, end_s: float = np.inf,
              participant: str | None = None) -> pd.DataFrame:
        who, params = _participant_filter(participant)
        return self.read_frame(
            f"SELECT * FROM bouts WHERE end_s > ? AND start_s < ?{who} "
            "ORDER BY participant_id, device_id, start_s",
            (_finite(start_s), _finite(end_s), *params))

    def events(self, start_s: float = -np.inf, end_s: float = np.inf,
               participant: str | None = None) -> pd.DataFrame:
        who, params = _participant_filter(participant)
        # The tie-breakers make the order the same on both backends.
        return self.read_frame(
            f"SELECT * FROM events WHERE time_s >= ? AND time_s < ?{who} "
            "ORDER BY time_s, participant_id, device_id, kind",
            (_finite(start_s), _finite(end_s), *params))

    def labels(self, start_s: float = -np.inf, end_s: float = np.inf,
               participant: str | None = None, source: str | None = None) -> pd.DataFrame:
        """Stated postures (calibration, corrections) overlapping [start_s, end_s)."""
        who, params = _participant_filter(participant)
        if source is not None:
            who, params = f"{who} AND source = ?", (*params, source)
        return self.read_frame(
            f"SELECT * FROM labels WHERE end_s > ? AND start_s < ?{who} "
            "ORDER BY participant_id, device_id, start_s",
            (_finite(start_s), _finite(end_s), *params))

    def raw_chunks(self, start_s: float = -np.inf, end_s: float = np.inf,
                   participant: str | None = None) -> Iterator[tuple[str, str, RawChunk]]:
        """Stored raw samples chunk by chunk, in time order. Read a page of chunks at a
        time (bounded memory, no read held open while the caller writes)."""
        who, params = _participant_filter(participant)
        sql = ("SELECT participant_id, device_id, start_s, n_samples, scale_g, t_data, "
               f"xyz_data FROM raw_chunks WHERE end_s >= ? AND start_s < ?{who}")
        order = f" ORDER BY participant_id, device_id, start_s LIMIT {RAW_PAGE}"
        bounds = (_finite(start_s), _finite(end_s), *params)
        rows = self.query_rows(sql + order, bounds)
        while rows:
            for who_id, device, _, n, scale, t_data, xyz_data in rows:
                yield str(who_id), str(device), decode_raw(n, scale, bytes(t_data),
                                                           bytes(xyz_data))
            if len(rows) < RAW_PAGE:
                return
            last = rows[-1][:3]  # resume after the last key read
            rows = self.query_rows(
                sql + " AND (participant_id, device_id, start_s) > (?, ?, ?)" + order,
                (*bounds, *last))

    def raw_sample_count(self, start_s: float = -np.inf, end_s: float = np.inf,
                         participant: str | None = None) -> int:
        """Raw samples in the chunks overlapping [start_s, end_s)."""
        who, params = _participant_filter(participant)
        return int(self.query_scalar(
            f"SELECT coalesce(sum(n_samples), 0) FROM raw_chunks WHERE end_s >= ? "
            f"AND start_s < ?{who}", (_finite(start_s), _finite(end_s), *params)))

    def raw_bytes_per_sample_axis(self) -> float:
        n, size = self.query_rows(
            "SELECT sum(n_samples), sum(length(t_data) + length(xyz_data)) FROM raw_chunks"
        )[0]
        return float(size) / (3 * n) if n else 0.0

    def participants(self) -> list[str]:
        """Everyone with a row in any table that holds participants' rows."""
        union = " UNION ".join(f"SELECT participant_id FROM {t}" for t in PARTICIPANT_TABLES)
        return sorted(str(row[0]) for row in self.query_rows(union))

    def participant_rows(self, participant: str) -> dict[str, int]:
        """How many rows of `participant` each table holds."""
        return {table: int(self.query_scalar(
            f"SELECT count(*) FROM {table} WHERE participant_id = ?", (participant,)))
            for table in PARTICIPANT_TABLES}

    def rows_version(self, table: str, time_column: str, start_s: float, end_s: float,
                     participant: str) -> tuple[int, int, float]:
        """(count, newest row version, sum of times) of a participant's rows in a time
        range: changes with every insert, replacement or deletion among them (a cache
        key for readers such as the dashboard)."""
        row = self.query_rows(
            f"SELECT count(*), coalesce(max({self._backend.row_version}), 0), "
            f"coalesce(sum({time_column}), 0) FROM {table} "
            f"WHERE {time_column} >= ? AND {time_column} < ? AND participant_id = ?",
            (_finite(start_s), _finite(end_s), participant))[0]
        return int(row[0]), int(row[1]), float(row[2])


def _participant_filter(participant: str | None) -> tuple[str, tuple[str, ...]]:
    """The SQL condition (and its parameter) selecting one participant, or none."""
    if participant is None:
        return "", ()
    return " AND participant_id = ?", (participant,)


def _finite(value: float) -> float:
    """SQLite has no infinity parameter; clamp to a huge finite bound."""
    return float(np.clip(value, -1e18, 1e18))
