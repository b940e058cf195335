"""Shared test helpers: small real recordings cut from the training data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests import postgres
from tests.postgres import Server

REPO = Path(__file__).resolve().parents[1]


def write_csv(path: Path, t: np.ndarray, xyz: np.ndarray) -> Path:
    pd.DataFrame({"t": t, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}).to_csv(
        path, index=False)
    return path


@pytest.fixture
def still_recording() -> tuple[np.ndarray, np.ndarray]:
    """Two minutes at 50 Hz of a sensor at rest with realistic noise."""
    rng = np.random.default_rng(7)
    t = np.arange(0, 120, 0.02)
    xyz = (np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.02, (len(t), 3))).astype(np.float32)
    return t, xyz


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    """A private PostgreSQL server for the session (tests/postgres.py); skips, saying
    why, where PostgreSQL is not installed."""
    yield from postgres.postgres_server()


@pytest.fixture
def pg_url(postgres_server: Server) -> Iterator[str]:
    """URL of a new, empty database on the private server, dropped after the test."""
    yield from postgres.fresh_database(postgres_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_at(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where to open a store: a new SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "s.sqlite"
    url: str = request.getfixturevalue("pg_url")
    return url
