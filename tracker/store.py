"""The SQLite store: raw sample chunks, windows, bouts and events.

One file, WAL mode (readers such as the dashboard never block the collector), a
versioned schema upgraded in place by numbered migrations. The SQL is kept portable
(plain types, no SQLite-only syntax in the tables) so the same schema can later live in
PostgreSQL. Every row carries a participant id and a device id from the start.

Writes are idempotent: a row is keyed by (participant, device, start time), so writing
the same chunk or window twice leaves one row.
"""

from __future__ import annotations

import os
import sqlite3
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tracker.labels import POSTURES

DEFAULT_PARTICIPANT = "me"
DEFAULT_DEVICE = "default"
# The meta key under which the running collector reports its state every second.
COLLECTOR_STATUS_KEY = "collector_status"
# Raw samples are kept as int16 counts of 1/4096 g: ±8 g range, 0.24 mg resolution,
# finer than any band here delivers, and 2 bytes per sample-axis before compression.
RAW_SCALE_G = 1.0 / 4096.0


class StoreError(Exception):
    """The store cannot be used: not a tracker store, corrupted, or from a newer version."""


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
]
LABEL_SOURCES = ("calibration", "correction")
SCHEMA_VERSION = len(MIGRATIONS)
TABLES = ("raw_chunks", "windows", "bouts", "events", "labels")


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


class Store:
    """A tracker store in one SQLite file; create it with `Store.open(path)`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self._depth = 0  # nesting of transaction() blocks; only the outermost commits

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, readonly: bool = False) -> Store:
        """Open (and create or upgrade) the store at `path`."""
        path = Path(path)
        if not path.exists() and (readonly or not create):
            raise StoreError(f"{path}: no store here yet")
        if not readonly:
            path.parent.mkdir(parents=True, exist_ok=True)
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        try:
            connection = sqlite3.connect(uri, uri=True, timeout=10.0,
                                         check_same_thread=False)
            connection.execute("PRAGMA busy_timeout = 10000")
            if not readonly:
                connection.execute("PRAGMA journal_mode = WAL")
                # NORMAL in WAL mode: a power cut may lose the last transactions but
                # never corrupts the file.
                connection.execute("PRAGMA synchronous = NORMAL")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path}: not a tracker store or damaged ({error})") from None
        store = cls(connection, path)
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path}: written by a newer version (schema {version}, this "
                             f"version knows {SCHEMA_VERSION}); upgrade sitting-tracker")
        if version < SCHEMA_VERSION:
            if readonly:
                raise StoreError(f"{path}: schema {version} needs upgrading; open it once "
                                 "with a writing command (e.g. export) to upgrade")
            store._migrate(version)
        store._check_tables()
        return store

    def _migrate(self, version: int) -> None:
        if version == 0:
            tables = self.connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            if tables:
                raise StoreError(f"{self.path}: an SQLite file, but not a tracker store; "
                                 "refusing to write to it")
        for step in range(version, SCHEMA_VERSION):
            # One transaction per step: a crash mid-upgrade leaves the previous version.
            try:
                self.connection.executescript(
                    f"BEGIN; {MIGRATIONS[step]} PRAGMA user_version = {step + 1}; COMMIT;")
            except sqlite3.Error as error:
                self.connection.rollback()
                raise StoreError(f"{self.path}: upgrading to schema {step + 1} failed "
                                 f"({error})") from None

    def _check_tables(self) -> None:
        try:
            names = {row[0] for row in self.connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: damaged ({error})") from None
        missing = [t for t in TABLES if t not in names]
        if missing:
            raise StoreError(f"{self.path}: damaged: tables missing: {', '.join(missing)}")

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Everything inside is written together or not at all (blocks may nest)."""
        self._depth += 1
        try:
            yield self.connection
            if self._depth == 1:
                self.connection.commit()
        except BaseException:
            if self._depth == 1:
                self.connection.rollback()
            raise
        finally:
            self._depth -= 1

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
            connection.executemany(
                "INSERT OR REPLACE INTO raw_chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

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
            connection.executemany(
                "INSERT OR REPLACE INTO windows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

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
                "AND start_s >= ? AND start_s < ?", (participant, device, start_s, end_s))
            connection.executemany("INSERT OR REPLACE INTO bouts VALUES (?, ?, ?, ?, ?)", rows)

    def add_event(self, time_s: float, kind: str, detail: str = "", *,
                  participant: str = DEFAULT_PARTICIPANT,
                  device: str = DEFAULT_DEVICE) -> None:
        with self.transaction() as connection:
            connection.execute("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?)",
                               (participant, device, time_s, kind, detail))

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
                "INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (participant, device, float(start_s), float(end_s), label, source, location,
                 time.time()))

    def delete_labels(self, start_s: float, end_s: float, source: str, *,
                      participant: str = DEFAULT_PARTICIPANT) -> int:
        """Remove the spans of `source` starting within [start_s, end_s); how many went."""
        with self.transaction() as connection:
            cursor = connection.execute(
                "DELETE FROM labels WHERE participant_id = ? AND source = ? "
                "AND start_s >= ? AND start_s < ?",
                (participant, source, _finite(start_s), _finite(end_s)))
        return cursor.rowcount

    def set_meta(self, key: str, value: str) -> None:
        """Keep a small named value (collector status, progress marks)."""
        with self.transaction() as connection:
            connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # --- reading -------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?",
                                      (key,)).fetchone()
        return None if row is None else str(row[0])

    def _query(self, sql: str, params: Iterable[object]) -> pd.DataFrame:
        try:
            return pd.read_sql_query(sql, self.connection, params=tuple(params))
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: cannot read ({error})") from None

    def windows(self, start_s: float = -np.inf, end_s: float = np.inf,
                participant: str | None = None) -> pd.DataFrame:
        return self._query(
            "SELECT * FROM windows WHERE start_s >= ? AND start_s < ? "
            "AND (? IS NULL OR participant_id = ?) ORDER BY participant_id, device_id, start_s",
            (_finite(start_s), _finite(end_s), participant, participant))

    def bouts(self, start_s: float = -np.inf, end_s: float = np.inf,
              participant: str | None = None) -> pd.DataFrame:
        return self._query(
            "SELECT * FROM bouts WHERE end_s > ? AND start_s < ? "
            "AND (? IS NULL OR participant_id = ?) ORDER BY participant_id, device_id, start_s",
            (_finite(start_s), _finite(end_s), participant, participant))

    def events(self, start_s: float = -np.inf, end_s: float = np.inf,
               participant: str | None = None) -> pd.DataFrame:
        return self._query(
            "SELECT * FROM events WHERE time_s >= ? AND time_s < ? "
            "AND (? IS NULL OR participant_id = ?) ORDER BY time_s",
            (_finite(start_s), _finite(end_s), participant, participant))

    def labels(self, start_s: float = -np.inf, end_s: float = np.inf,
               participant: str | None = None, source: str | None = None) -> pd.DataFrame:
        """Stated postures (calibration, corrections) overlapping [start_s, end_s)."""
        return self._query(
            "SELECT * FROM labels WHERE end_s > ? AND start_s < ? "
            "AND (? IS NULL OR participant_id = ?) AND (? IS NULL OR source = ?) "
            "ORDER BY participant_id, device_id, start_s",
            (_finite(start_s), _finite(end_s), participant, participant, source, source))

    def raw_chunks(self, start_s: float = -np.inf, end_s: float = np.inf,
                   participant: str | None = None) -> Iterator[tuple[str, str, RawChunk]]:
        """Stored raw samples chunk by chunk (bounded memory), in time order."""
        cursor = self.connection.execute(
            "SELECT participant_id, device_id, n_samples, scale_g, t_data, xyz_data "
            "FROM raw_chunks WHERE end_s >= ? AND start_s < ? "
            "AND (? IS NULL OR participant_id = ?) ORDER BY participant_id, device_id, start_s",
            (_finite(start_s), _finite(end_s), participant, participant))
        for who, device, n, scale, t_data, xyz_data in cursor:
            yield who, device, decode_raw(n, scale, t_data, xyz_data)

    def raw_bytes_per_sample_axis(self) -> float:
        n, size = self.connection.execute(
            "SELECT sum(n_samples), sum(length(t_data) + length(xyz_data)) FROM raw_chunks"
        ).fetchone()
        return float(size) / (3 * n) if n else 0.0


def _finite(value: float) -> float:
    """SQLite has no infinity parameter; clamp to a huge finite bound."""
    return float(np.clip(value, -1e18, 1e18))


def default_store_path() -> Path:
    """The store used when none is named: $SITTING_TRACKER_DB, else the user data dir."""
    from_env = os.environ.get("SITTING_TRACKER_DB")
    if from_env:
        return Path(from_env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("sitting-tracker", appauthor=False) / "tracker.sqlite"
