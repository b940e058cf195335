"""The store on PostgreSQL: the same schema and results as on SQLite, many collectors
writing at once, crashes mid-write, the one-collector-per-band lock, and forgetting a
participant. The server is a private one the session starts (tests/postgres.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.postgres import Server
from tests.test_store import noisy_motion
from tracker.cli import main
from tracker.store import (
    MIGRATIONS,
    PARTICIPANT_TABLES,
    SCHEMA_VERSION,
    Store,
    StoreError,
    StoreMissing,
    StoreOutdated,
    quantise,
)
from tracker.store_backends import VERSION_TABLE, pg_migration

REPO = Path(__file__).resolve().parents[1]
psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: pip install "
                              "'psycopg[binary]' (a dependency of this package)")


def sql(url: str, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Run one statement on the database directly (not through the store)."""
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


# --- the schema ---------------------------------------------------------------------


def test_a_new_database_gets_the_schema_in_postgresql_types(pg_url: str) -> None:
    Store.open(pg_url).close()
    assert sql(pg_url, f"SELECT version FROM {VERSION_TABLE}") == [(SCHEMA_VERSION,)]
    types = dict(sql(pg_url, "SELECT table_name || '.' || column_name, data_type "
                             "FROM information_schema.columns WHERE table_schema = 'public'"))
    # REAL would be a 4-byte float in PostgreSQL: Unix seconds need 8.
    assert types["raw_chunks.start_s"] == types["windows.p_lying"] == "double precision"
    assert types["raw_chunks.t_data"] == "bytea"
    assert types["meta.participant_id"] == "text"
    Store.open(pg_url).close()  # opening again changes nothing
    assert sql(pg_url, f"SELECT count(*) FROM {VERSION_TABLE}") == [(1,)]


def fill(store: Store) -> None:
    t, xyz = noisy_motion(150)
    for who in ("p2", "p1"):
        store.add_raw(t, xyz, participant=who, device="band")
        store.add_windows(pd.DataFrame({
            "start": [1.7e9, 1.7e9 + 5], "end": [1.7e9 + 5, 1.7e9 + 10],
            "label": ["sitting", "unknown"], "confidence": [0.9, None],
            "p_sitting": [0.9, None]}), location="thigh", participant=who, device="band")
        store.replace_bouts(pd.DataFrame({"start": [1.7e9], "end": [1.7e9 + 5],
                                          "label": ["sitting"]}), 0, np.inf,
                            participant=who, device="band")
        store.add_event(1.7e9 + 1, "nudge", "30 min", participant=who, device="band")
        store.add_event(1.7e9 + 1, "band_connected", participant=who, device="band")
        store.add_label(1.7e9, 1.7e9 + 60, "sitting", "calibration", participant=who)
        store.set_meta("collector_status", json.dumps({"updated": 1}), participant=who,
                       device="band")


def test_both_backends_give_the_same_frames(pg_url: str, tmp_path: Path) -> None:
    """Same columns, dtypes, values and order: pages and exports need not care which."""
    with Store.open(tmp_path / "s.sqlite") as lite, Store.open(pg_url) as pg:
        for store in (lite, pg):
            # Empty first: frames without rows must match too.
            assert store.windows().empty and store.raw_bytes_per_sample_axis() == 0.0
        pd.testing.assert_frame_equal(lite.windows(), pg.windows())
        fill(lite)
        fill(pg)
        for read in ("windows", "bouts", "events"):
            for who in (None, "p1"):
                pd.testing.assert_frame_equal(getattr(lite, read)(participant=who),
                                              getattr(pg, read)(participant=who))
        labels = [s.labels().drop(columns="created_s") for s in (lite, pg)]
        pd.testing.assert_frame_equal(*labels)
        for a, b in zip(lite.raw_chunks(), pg.raw_chunks(), strict=True):
            assert a[:2] == b[:2]
            np.testing.assert_array_equal(a[2].t, b[2].t)
            np.testing.assert_array_equal(a[2].xyz, b[2].xyz)
        assert lite.raw_bytes_per_sample_axis() == pg.raw_bytes_per_sample_axis()
        assert lite.meta_values("collector_status") == pg.meta_values("collector_status")
        assert lite.participant_rows("p1") == pg.participant_rows("p1")


def test_reading_raw_samples_pages_through_many_chunks(pg_url: str) -> None:
    t, xyz = noisy_motion(200 * 60, rate=2.0)  # 200 chunks: more than three pages
    with Store.open(pg_url) as store:
        store.add_raw(t, xyz, participant="a")
        store.add_raw(t[:500], xyz[:500], participant="b")
        got = [(who, c.t) for who, _, c in store.raw_chunks()]
        assert [who for who, _ in got] == ["a"] * 200 + ["b"] * 5  # 250 s of b
        np.testing.assert_allclose(np.concatenate([c for _, c in got[:200]]), t, atol=1e-6)
        assert sum(len(c.t) for _, _, c in store.raw_chunks(participant="b")) == 500


def test_refuses_missing_foreign_and_newer_databases(pg_url: str,
                                                     postgres_server: Server) -> None:
    for kwargs in ({"readonly": True}, {"create": False}):
        with pytest.raises(StoreMissing, match="no store here yet"):
            Store.open(pg_url, **kwargs)
    assert sql(pg_url, "SELECT count(*) FROM information_schema.tables "
                       "WHERE table_schema = 'public'") == [(0,)]  # nothing written
    sql(pg_url, "CREATE TABLE people (name TEXT)")
    with pytest.raises(StoreError, match="not a tracker store"):
        Store.open(pg_url)
    assert sql(pg_url, "SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = 'public'") == [("people",)]
    sql(pg_url, "DROP TABLE people")
    Store.open(pg_url).close()
    sql(pg_url, f"UPDATE {VERSION_TABLE} SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer version"):
        Store.open(pg_url)
    wrong = pg_url.replace(postgres_server.password, "not-the-password")
    with pytest.raises(StoreError, match="cannot connect") as refused:
        Store.open(wrong)
    assert "not-the-password" not in str(refused.value)  # never a password in messages


def test_a_first_version_database_is_upgraded_with_its_data_kept(pg_url: str) -> None:
    sql(pg_url, f"CREATE TABLE {VERSION_TABLE} (version INTEGER NOT NULL)")
    sql(pg_url, f"INSERT INTO {VERSION_TABLE} VALUES (1)")
    sql(pg_url, pg_migration(MIGRATIONS[0]))
    sql(pg_url, "INSERT INTO events VALUES ('me', 'default', 1.0, 'nudge', '')")
    sql(pg_url, "INSERT INTO meta VALUES ('finalised_until:band', '12.5')")
    with pytest.raises(StoreOutdated, match="needs upgrading"):
        Store.open(pg_url, readonly=True)
    with Store.open(pg_url) as store:
        assert store.events()["kind"].tolist() == ["nudge"]
        assert store.labels().empty
        assert store.meta("finalised_until:band") == "12.5"  # kept, store-wide
    assert sql(pg_url, f"SELECT version FROM {VERSION_TABLE}") == [(SCHEMA_VERSION,)]


def test_a_password_free_url_uses_the_libpq_environment(
        pg_url: str, postgres_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords need not be in the URL (nor in a unit file or `ps`): libpq's PGPASSWORD
    or ~/.pgpass work, and any libpq URL parameter (here sslmode) is passed as given."""
    bare = pg_url.replace(f":{postgres_server.password}@", "@") + "?sslmode=disable"
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    with Store.open(bare) as store:
        assert store.location == bare
        assert store.query_scalar("SHOW ssl") == "off"
    monkeypatch.setenv("PGPASSWORD", "wrong")
    with pytest.raises(StoreError, match="cannot connect"):
        Store.open(bare)
    required = pg_url + "?sslmode=require"  # this test server has no TLS: must refuse
    with pytest.raises(StoreError, match="cannot connect"):
        Store.open(required)


# --- many collectors ----------------------------------------------------------------

COLLECTORS = 20
RATE_HZ = 25.0
DAY_S = 5 * 60.0  # band seconds each collector replays (a day, compressed)
FLUSH_S = 10.0  # band seconds per raw write (a collector at 10x flushing every second)


def band_day(i: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(i)
    t = 1.7e9 + i * 0.013 + np.arange(0, DAY_S, 1 / RATE_HZ)
    xyz = (np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.05, (len(t), 3))).astype(np.float32)
    return t, xyz


def collect_like_a_collector(url: str, i: int, start: threading.Barrier) -> None:
    """Write band i's day as a collector does, with retries: some writes are sent twice,
    and some 'lost acknowledgements' are sent again together with the next flush."""
    who, rng = f"p{i:02d}", np.random.default_rng(100 + i)
    t, xyz = band_day(i)
    start.wait()  # all open the fresh database at once: the migrations must serialise
    with Store.open(url) as store:
        assert store.try_lock(f"collector\0{who}\0band")
        pending: slice | None = None
        for first in range(0, len(t), int(FLUSH_S * RATE_HZ)):
            piece = slice(first, first + int(FLUSH_S * RATE_HZ))
            batch = slice(pending.start if pending else piece.start, piece.stop)
            store.add_raw(t[batch], xyz[batch], participant=who, device="band")
            chance = rng.random()
            if chance < 0.2:
                store.add_raw(t[batch], xyz[batch], participant=who, device="band")
            pending = piece if chance > 0.7 and pending is None else None
            starts = np.arange(t[piece][0], t[piece][-1], 5.0)
            windows = pd.DataFrame({"start": starts, "end": starts + 5.0, "label": "sitting",
                                    "confidence": 0.9})
            for _ in range(2):
                store.add_windows(windows, location="thigh", participant=who, device="band")
                store.add_event(float(t[piece][0]), "tick", participant=who, device="band")
            store.set_meta("collector_status", json.dumps({"updated": time.time(), "i": i}),
                           participant=who, device="band")


def test_twenty_collectors_at_once_lose_and_double_nothing(pg_url: str,
                                                           tmp_path: Path) -> None:
    start = threading.Barrier(COLLECTORS)
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            collect_like_a_collector(pg_url, i, start)
        except BaseException as error:
            failures.append(error)
            start.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(COLLECTORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not failures, failures[0]
    n = int(DAY_S * RATE_HZ)
    with Store.open(pg_url, readonly=True) as store:
        per_who = dict(store.query_rows(
            "SELECT participant_id, sum(n_samples) FROM raw_chunks GROUP BY participant_id"))
        assert per_who == {f"p{i:02d}": n for i in range(COLLECTORS)}
        windows = store.windows()
        assert windows.groupby("participant_id").size().eq(DAY_S / 5).all()
        assert len(store.events()) == COLLECTORS * DAY_S / FLUSH_S
        statuses = store.meta_values("collector_status")
        assert [json.loads(v)["i"] for _, _, v in statuses] == list(range(COLLECTORS))
    for i in range(COLLECTORS):  # what each band sent, exported per participant
        out = tmp_path / f"p{i:02d}.csv"
        assert main(["export", "raw", "--db", pg_url, "--participant", f"p{i:02d}",
                     "--tz", "UTC", "-o", str(out)]) == 0
        exported = pd.read_csv(out)
        sent = quantise(*band_day(i))
        assert len(exported) == n and exported["participant_id"].eq(f"p{i:02d}").all()
        np.testing.assert_allclose(exported["time_s"].to_numpy(), sent.t, rtol=0, atol=2e-6)
        np.testing.assert_allclose(exported[["x", "y", "z"]].to_numpy(), sent.xyz, atol=1e-6)


# --- crashes ------------------------------------------------------------------------

WRITER = """
import sys, time
import numpy as np
from tracker.store import Store
location, first_batch, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rate, chunk_s, chunks = 50.0, 60.0, 10
with Store.open(location) as store:
    if store.is_postgres:
        assert store.try_lock("collector\\0victim\\0band")
    for batch in range(first_batch, first_batch + batches):
        t0 = 1.7e9 + batch * chunks * chunk_s
        t = t0 + np.arange(0, chunks * chunk_s, 1 / rate)
        xyz = np.tile(np.float32([0.0, 0.0, 1.0]), (len(t), 1))
        with store.transaction():
            for k in range(chunks):
                part = slice(int(k * chunk_s * rate), int((k + 1) * chunk_s * rate))
                store.add_raw(t[part], xyz[part], participant="victim", device="band")
                if k == chunks // 2:
                    print("midway", batch, flush=True)
                    time.sleep(0.3)  # half the chunks written, none committed yet
        print("committed", batch, flush=True)
"""
PER_BATCH = 10 * 60 * 50


def run_writer(location: str, first: int, batches: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", WRITER, location, str(first),
                             str(batches)], stdout=subprocess.PIPE, text=True, env=env)


def test_a_writer_killed_mid_write_leaves_no_partial_chunk(store_at: str | Path) -> None:
    location = str(store_at)
    Store.open(location).close()
    writer = run_writer(location, 0, 100)
    assert writer.stdout is not None
    for line in writer.stdout:  # kill it inside the transaction of its third batch
        if line.split() == ["midway", "2"]:
            writer.send_signal(signal.SIGKILL)
            break
    writer.wait(timeout=30)
    with Store.open(location) as store:
        chunks = list(store.raw_chunks(participant="victim"))
        assert len(chunks) == 2 * 10  # the two committed batches, nothing of the third
        assert all(len(c.t) == 3000 and (c.xyz[:, 2] == 1.0).all() for _, _, c in chunks)
        if store.is_postgres:  # the server dropped the dead collector's band lock
            assert until(lambda: store.try_lock("collector\0victim\0band"))
            store.unlock("collector\0victim\0band")
    # Restarted, it sends the interrupted batch again, then goes on.
    restarted = run_writer(location, 2, 2)
    assert restarted.wait(timeout=60) == 0
    with Store.open(location, readonly=True) as store:
        t = np.concatenate([c.t for _, _, c in store.raw_chunks(participant="victim")])
    assert len(t) == 4 * PER_BATCH and (np.diff(t) > 0).all()


def until(check: object, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


# --- one collector per band -----------------------------------------------------------


def test_a_band_is_collected_by_one_collector_at_a_time(pg_url: str,
                                                        postgres_server: Server) -> None:
    from tracker.collector import Collector, CollectorError, CollectorOptions
    from tracker.config import Settings
    from tracker.posture_model import load_default_model
    from tracker.timezones import timezone_named

    model = load_default_model("thigh", compact=True)

    def collector(participant: str, device: str) -> Collector:
        options = CollectorOptions(db=pg_url, device=device, location="thigh",
                                   participant=participant)
        return Collector(options, Settings(), model, timezone_named("UTC"))

    first = collector("p1", "band-a")._open_claimed()
    with pytest.raises(CollectorError, match="already being collected") as refused:
        collector("p1", "band-a")._open_claimed()
    assert postgres_server.password not in str(refused.value)
    others = [collector("p1", "band-b")._open_claimed(),  # another band of p1
              collector("p2", "band-a")._open_claimed()]  # another wearer's band-a
    first.close()  # the first collector stops: the band is free again
    collector("p1", "band-a")._open_claimed().close()
    for store in others:
        store.close()


# --- forgetting a participant ---------------------------------------------------------


def test_forget_deletes_one_participant_completely(store_at: str | Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with Store.open(store_at) as store:
        fill(store)
    model = None
    if isinstance(store_at, Path):  # a personal model beside the store file
        from tracker.calibration import personal_model_path

        model = personal_model_path(store_at, "thigh", "p1")
        model.parent.mkdir(parents=True, exist_ok=True)
        model.write_bytes(b"weights")
    db = str(store_at)
    assert main(["forget", "--participant", "p1", "--db", db]) == 2  # no terminal, no --yes
    assert "add --yes" in capsys.readouterr().err
    assert main(["forget", "--participant", "p1", "--db", db, "--yes"]) == 0
    said = capsys.readouterr().out
    assert "deleted participant 'p1'" in said
    assert "2 windows" in said and "2 events" in said and "1 meta" in said
    with Store.open(store_at, readonly=True) as store:
        assert not any(store.participant_rows("p1").values())
        assert all(store.participant_rows("p2")[t] for t in PARTICIPANT_TABLES)
        assert set(store.windows()["participant_id"]) == {"p2"}
    if model is not None:
        assert not model.exists()
    assert main(["forget", "--participant", "p1", "--db", db, "--yes"]) == 0
    assert "nothing stored for participant 'p1'" in capsys.readouterr().out


def test_forget_leaves_no_copy_in_the_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    with Store.open(db) as store:
        store.add_event(1.0, "note", "SECRET-OF-P1-" * 50, participant="p1")
        store.add_event(1.0, "note", "kept", participant="p2")
    with Store.open(db) as store:
        assert store.forget("p1").note is None
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"SECRET-OF-P1" not in raw and b"kept" in raw


def test_forget_names_an_id_that_differs_only_in_case(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    from tracker.cli import main

    db = tmp_path / "s.sqlite"
    with Store.open(db) as store:
        store.add_raw(np.array([1.0, 1.02]), np.zeros((2, 3), np.float32), participant="P2")
    # A deletion script must not read "nothing stored" (exit 0) as done.
    assert main(["forget", "--participant", "p2", "--db", str(db), "--yes"]) == 2
    assert "there is 'P2'; ids are case-sensitive" in capsys.readouterr().err
    assert main(["forget", "--participant", "p3", "--db", str(db), "--yes"]) == 0
    with Store.open(db, readonly=True) as store:
        assert store.raw_sample_count(participant="P2") == 2


# --- the real collector ---------------------------------------------------------------


def test_the_collector_records_an_emulated_band(store_at: str | Path) -> None:
    """`collect`'s run_collector, end to end, on both backends (SQLite's file lock, and
    PostgreSQL's band lock)."""
    import asyncio
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tracker.commands.collect import run_collector
    from tracker.commands.status import read_status
    from tracker.config import NotifySettings, Settings
    from tracker.emulator import Emulator, PolarVeritySense, find_dbus_daemon
    from tracker.scenarios import resolve_scenario

    if find_dbus_daemon() is None:
        pytest.skip("dbus-daemon not found; run scripts/install-system-deps.sh")
    speed, duration = 240.0, 20 * 60.0
    origin = datetime(2024, 6, 3, 9, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    band = PolarVeritySense(resolve_scenario("office-day", 52.0), speed=speed)

    async def collect() -> int:
        async with Emulator(band):
            return await run_collector(
                db=store_at, device="Polar", location="thigh", tz_name="UTC",
                settings=Settings(notify=NotifySettings(desktop=False)), time_scale=speed,
                origin=origin, duration_s=duration, participant="p-emu")

    assert asyncio.run(asyncio.wait_for(collect(), timeout=120)) == 0
    with Store.open(store_at, readonly=True) as store:
        samples = store.query_scalar("SELECT sum(n_samples) FROM raw_chunks")
        windows = store.windows(participant="p-emu")
        status = read_status(store, "p-emu")
        assert store.meta("finalised_until", participant="p-emu", device="Polar")
    assert abs(samples - duration * 52.0) <= 52  # the whole replayed stretch, once
    assert len(windows) >= duration / 5 - 2 and windows["label"].ne("unknown").any()
    assert status is not None and not status["connected"] and status["device_id"] == "Polar"
    # Its last report says it stopped: no collector runs, on either backend, at once
    # (a PostgreSQL store's collector process cannot be looked up from here).
    assert status["stopped"]
    assert main(["status", "--db", str(store_at), "--participant", "p-emu"]) == 1


def test_an_upgraded_store_keeps_the_collectors_marks(tmp_path: Path) -> None:
    """Before schema 3 the marks were store-wide; the collector still finds them."""
    import sqlite3

    from tracker.collector import Collector, CollectorOptions
    from tracker.config import Settings
    from tracker.posture_model import load_default_model
    from tracker.timezones import timezone_named

    db = tmp_path / "old.sqlite"
    connection = sqlite3.connect(db)
    connection.executescript(f"BEGIN; {MIGRATIONS[0]} {MIGRATIONS[1]} PRAGMA user_version = 2; "
                             "COMMIT;")
    connection.execute("INSERT INTO meta VALUES ('finalised_until:Polar', '123.5')")
    connection.execute("INSERT INTO meta VALUES ('collector_status', ?)",
                       (json.dumps({"updated": time.time(), "last_sample": 1000.0}),))
    connection.commit()
    connection.close()
    options = CollectorOptions(db=db, device="Polar", location="thigh", time_scale=10.0)
    collector = Collector(options, Settings(), load_default_model("thigh", compact=True),
                          timezone_named("UTC"))
    collector.store = Store.open(db)
    try:
        assert collector._finalised_mark() == "123.5"
        assert 1000.0 <= (collector._origin() or 0) < 1100.0
        collector._set_finalised(200.0)  # from now on kept as this band's
        assert collector._finalised_mark() == "200.0"
        assert collector.store.meta("finalised_until", participant="me",
                                    device="Polar") == "200.0"
    finally:
        collector.store.close()


def test_the_dashboard_reads_a_postgresql_store(pg_url: str) -> None:
    from dashboard.context import open_store, store_label, store_path
    from tracker.config import Settings

    assert store_path(pg_url, Settings()) == pg_url  # a URL is not folded like a path
    assert "***" in store_label(pg_url)
    assert open_store(pg_url) == (None, None)  # an empty database: no store yet
    with Store.open(pg_url) as writer:
        fill(writer)
        store, note = open_store(pg_url)
        assert store is not None and note is None
        with store:
            before = store.rows_version("windows", "start_s", 0, 2e9, "p1")
            assert before[0] == 2
            # Replacing a row in place changes the version the page caches are keyed on.
            writer.add_windows(pd.DataFrame({"start": [1.7e9], "end": [1.7e9 + 5],
                                             "label": ["standing"]}), participant="p1",
                               device="band")
            after = store.rows_version("windows", "start_s", 0, 2e9, "p1")
            assert after[0] == 2 and after != before
            with pytest.raises(StoreError):  # read-only, as the dashboard opens it
                store.add_event(1.0, "x")


def test_a_service_never_gets_a_password_in_its_unit_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with_password = "postgresql://study:s3cret@db.example.org/tracker?sslmode=verify-full"
    assert main(["service", "install", "--no-start", "--db", with_password]) == 2
    bare = "postgresql://study@db.example.org/tracker?sslmode=verify-full"
    assert main(["service", "install", "--no-start", "--db", bare]) == 0
    unit = (tmp_path / "systemd" / "user" / "sitting-tracker.service").read_text()
    assert f"--db '{bare}'" in unit  # as given: TLS settings and all


def test_a_collector_that_loses_the_server_stops_and_its_restart_goes_on(pg_url: str) -> None:
    """The server drops the collector's connection: it stops (a service manager starts
    it again) instead of running on without storing; the restart takes up the band."""
    import asyncio

    from tracker.cli_errors import UsageError
    from tracker.commands.collect import run_collector
    from tracker.config import NotifySettings, Settings
    from tracker.emulator import Emulator, PolarVeritySense, find_dbus_daemon
    from tracker.scenarios import resolve_scenario

    if find_dbus_daemon() is None:
        pytest.skip("dbus-daemon not found; run scripts/install-system-deps.sh")
    speed = 240.0
    band = PolarVeritySense(resolve_scenario("office-day", 52.0), speed=speed)
    settings = Settings(notify=NotifySettings(desktop=False))
    Store.open(pg_url).close()

    def stored() -> int:
        return int(sql(pg_url, "SELECT coalesce(sum(n_samples), 0) FROM raw_chunks")[0][0])

    async def collect(duration_s: float | None) -> int:
        return await run_collector(db=pg_url, device="Polar", location="thigh", tz_name="UTC",
                                   settings=settings, time_scale=speed, duration_s=duration_s,
                                   participant="p-cut")

    async def scenario() -> None:
        async with Emulator(band):
            first = asyncio.create_task(collect(None))
            while stored() < 52 * 60 and not first.done():
                await asyncio.sleep(0.2)
            sql(pg_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                        "application_name = 'sitting-tracker'")
            with pytest.raises(UsageError, match="lost the connection"):
                await asyncio.wait_for(first, timeout=30)
            before = stored()
            assert await asyncio.wait_for(collect(240.0), timeout=60) == 0
            assert stored() > before

    asyncio.run(scenario())
    with Store.open(pg_url, readonly=True) as store:
        t = np.concatenate([c.t for _, _, c in store.raw_chunks(participant="p-cut")])
    assert (np.diff(t) > 0).all()  # nothing stored twice, nothing out of order
