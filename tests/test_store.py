"""The store: WAL, schema versions, idempotent writes, compact raw samples.

Tests taking `store_at` run on SQLite and on PostgreSQL (tests/test_store_postgres.py
has the PostgreSQL side of the SQLite-only ones)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tracker.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError


def noisy_motion(seconds: float, rate: float = 50.0, start: float = 1.7e9) -> tuple[
        np.ndarray, np.ndarray]:
    """Sensor-like signal: gravity, slow body sway and 10 mg noise, quantised like a band."""
    rng = np.random.default_rng(5)
    t = start + np.arange(0, seconds, 1 / rate)
    sway = 0.05 * np.sin(2 * np.pi * 0.3 * (t - start))[:, None]
    xyz = np.array([0.1, -0.2, 0.97]) + sway + rng.normal(0, 0.01, (len(t), 3))
    return t, (np.round(xyz * 1000) / 1000).astype(np.float32)


def test_new_store_is_wal_with_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "tracker.sqlite"
    with Store.open(path) as store:
        assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_raw_samples_round_trip_compactly(store_at: str | Path) -> None:
    t, xyz = noisy_motion(600)
    with Store.open(store_at) as store:
        store.add_raw(t, xyz, device="band")
        chunks = list(store.raw_chunks())
        assert len(chunks) == 10  # one per minute
        got_t = np.concatenate([c.t for _, _, c in chunks])
        got_xyz = np.concatenate([c.xyz for _, _, c in chunks])
        np.testing.assert_allclose(got_t, t, atol=1e-6)
        np.testing.assert_allclose(got_xyz, xyz, atol=1 / 8192)
        assert store.raw_bytes_per_sample_axis() <= 2.0


def test_writes_are_idempotent(store_at: str | Path) -> None:
    t, xyz = noisy_motion(120)
    windows = pd.DataFrame({"start": [1.7e9, 1.7e9 + 5], "end": [1.7e9 + 5, 1.7e9 + 10],
                            "label": ["sitting", "standing"], "confidence": [0.9, 0.8]})
    with Store.open(store_at) as store:
        for _ in range(2):
            store.add_raw(t, xyz)
            store.add_windows(windows, location="thigh")
            store.add_event(1.7e9, "nudge", "30 min")
        count = store.connection.execute
        assert count("SELECT count(*) FROM raw_chunks").fetchone()[0] == 2
        assert count("SELECT sum(n_samples) FROM raw_chunks").fetchone()[0] == len(t)
        assert len(store.windows()) == 2 and len(store.events()) == 1
        assert store.windows()["label"].tolist() == ["sitting", "standing"]


def test_failed_transaction_leaves_nothing(store_at: str | Path) -> None:
    t, xyz = noisy_motion(60)
    with Store.open(store_at) as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.add_raw(t, xyz)
            store.add_event(1.7e9, "x")
            raise RuntimeError("crash in the middle")
        assert store.connection.execute("SELECT count(*) FROM raw_chunks").fetchone()[0] == 0
        assert store.events().empty


def test_refuses_foreign_damaged_and_newer_files(tmp_path: Path) -> None:
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE people (name TEXT)")
    with pytest.raises(StoreError, match="not a tracker store"):
        Store.open(foreign)
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"SQLite format 3\0" + b"\xff" * 2000)
    with pytest.raises(StoreError):
        Store.open(damaged)
    assert damaged.read_bytes()[16:20] == b"\xff" * 4  # nothing overwritten
    newer = tmp_path / "newer.sqlite"
    Store.open(newer).close()
    with sqlite3.connect(newer) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer version"):
        Store.open(newer)


def test_readonly_open_needs_an_existing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store here"):
        Store.open(tmp_path / "missing.sqlite", readonly=True)
    assert not (tmp_path / "missing.sqlite").exists()


def test_quantised_samples_are_exactly_what_the_store_returns(store_at: str | Path) -> None:
    from tracker.store import quantise

    t, xyz = noisy_motion(180)
    t = t + np.random.default_rng(1).uniform(0, 1e-3, len(t))  # irregular, sub-µs parts
    expected = quantise(t, xyz)
    with Store.open(store_at) as store:
        store.add_raw(t, xyz)
        chunks = [c for _, _, c in store.raw_chunks()]
    np.testing.assert_array_equal(np.concatenate([c.t for c in chunks]), expected.t)
    np.testing.assert_array_equal(np.concatenate([c.xyz for c in chunks]), expected.xyz)


def test_a_first_version_store_is_upgraded_with_its_data_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    connection = sqlite3.connect(path)
    connection.executescript(f"BEGIN; {MIGRATIONS[0]} PRAGMA user_version = 1; COMMIT;")
    connection.execute("INSERT INTO events VALUES ('me', 'default', 1.0, 'nudge', '')")
    connection.commit()
    connection.close()
    with Store.open(path) as store:
        assert store.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.events()["kind"].tolist() == ["nudge"]
        assert store.labels().empty


def test_stated_postures_are_kept_apart_from_the_classifier_windows(store_at: str | Path) -> None:
    with Store.open(store_at) as store:
        store.add_label(100.0, 160.0, "sitting", "calibration", location="thigh")
        store.add_label(200.0, 230.0, "standing", "correction")
        store.add_label(200.0, 260.0, "walking", "correction")  # a second thought replaces
        assert store.labels(source="correction")[["end_s", "label"]].values.tolist() == [
            [260.0, "walking"]]
        assert store.labels(150.0, 170.0)["source"].tolist() == ["calibration"]
        assert store.windows().empty
        for bad, match in (((0, 1, "dancing", "correction"), "unknown posture"),
                           ((0, 1, "sitting", "guess"), "unknown label source"),
                           ((5, 5, "sitting", "correction"), "must end after")):
            with pytest.raises(ValueError, match=match):
                store.add_label(*bad)
        assert store.delete_labels(0, 1000, "correction") == 1
        assert store.labels()["source"].tolist() == ["calibration"]
