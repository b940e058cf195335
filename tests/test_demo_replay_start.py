"""A day replayed fast starts at its first minute once a collector streams, and the
collector's band events sit on the replayed clock, next to the samples they concern."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tracker.ble import BandSession
from tracker.collector import Collector, CollectorOptions
from tracker.config import WEEKDAYS, CoachSettings, NotifySettings, Settings
from tracker.emulator import (
    ArrayMotionSource,
    Emulator,
    InfiniTimeBand,
    PolarVeritySense,
    find_dbus_daemon,
    parse_fault_spec,
    run_fault_schedule,
)
from tracker.emulator.bands import Band
from tracker.posture_model import load_default_model
from tracker.scenarios import scenario_samples
from tracker.store import Store

pytestmark = [
    pytest.mark.skipif(find_dbus_daemon() is None,
                       reason="dbus-daemon not found; run scripts/install-system-deps.sh"),
    pytest.mark.timeout(180),
]
SPEED = 1000.0
DEMO_SPEED = 300


def ramp(n: int) -> np.ndarray:
    """Motion in which every sample differs from the one before (and from sample 0)."""
    k = np.arange(n)
    return np.column_stack([(k % 1000) / 1000.0, (k // 1000 % 1000) / 1000.0,
                            np.full(n, 0.9)]).astype(np.float32)


async def first_samples(band: Band) -> None:
    """Stream `band` through the collector's BLE code until its first samples arrive."""
    async with Emulator(band):
        await asyncio.sleep(0.5)  # the host is slow to look: 500 band seconds at SPEED
        arrived = asyncio.Event()
        session = BandSession(band.name, lambda _t, _xyz: arrived.set(), time_scale=SPEED)
        stop = asyncio.Event()
        task = asyncio.create_task(session.run(stop))
        await asyncio.wait_for(arrived.wait(), 60)
        stop.set()
        await task


def fast_band(family: str) -> Band:
    if family == "polar":
        return PolarVeritySense(ArrayMotionSource(ramp(52 * 3600), 52.0), speed=SPEED)
    return InfiniTimeBand(ArrayMotionSource(ramp(10 * 3600), 10.0), speed=SPEED)


@pytest.mark.parametrize("family", ["polar", "infinitime"])
def test_the_band_replays_from_its_first_sample_however_late_a_host_listens(
        family: str) -> None:
    band = fast_band(family)
    asyncio.run(first_samples(band))
    assert band.frames[0].first_index == 0
    assert band.frames[0].band_time_s < 10  # its first frame, not 500 s into the day


def test_scheduled_faults_count_band_time_from_the_first_stream() -> None:
    band = PolarVeritySense(ArrayMotionSource(ramp(100), 52.0), speed=SPEED)

    async def main() -> None:
        schedule = asyncio.create_task(
            run_fault_schedule(band, parse_fault_spec("clock-jump@10:by=60")))
        await asyncio.sleep(0.1)  # 100 band seconds, were the band's clock running
        assert band.faults.history == []
        band.start_clock()  # as a host's first stream does
        await asyncio.wait_for(schedule, 10)

    asyncio.run(main())
    assert [fault.kind for fault in band.faults.history] == ["clock-jump"]


def test_the_demo_stores_the_day_from_its_first_minute_and_band_events_beside_it(
        tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    result = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "demo", "--no-dashboard", "--speed", str(DEMO_SPEED),
         "--duration", "600", "--db", str(db)], capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stderr
    with Store.open(db, readonly=True) as store:
        chunks = [chunk for _, _, chunk in store.raw_chunks()]
        events = store.events()
    t = np.concatenate([c.t for c in chunks])
    xyz = np.concatenate([c.xyz for c in chunks])
    day, _ = scenario_samples("office-day", 52.0)
    # The scenario's first minute, not whatever the band had reached when it was found.
    assert np.allclose(xyz[:52 * 60], np.rint(day[:52 * 60] * 1000) / 1000, atol=2e-3)
    nine = datetime.fromtimestamp(t[0]).astimezone().replace(
        hour=9, minute=0, second=0, microsecond=0).timestamp()
    assert nine - 5 < t[0] <= nine
    band = events[events["kind"].str.startswith("band_")]
    assert band["kind"].iloc[0] == "band_connected"
    # Connected as the replay began, and every band event within the replayed ten
    # minutes (plus a wall second of slack), never at the wall-clock time of the run.
    assert band["time_s"].iloc[0] == pytest.approx(nine)
    assert band["time_s"].between(nine, t[-1] + DEMO_SPEED).all(), band


def test_a_real_bands_events_keep_the_host_clock(tmp_path: Path) -> None:
    band = PolarVeritySense(ArrayMotionSource(ramp(52 * 600), 52.0), speed=1)
    options = CollectorOptions(db=tmp_path / "tracker.sqlite", device=band.name,
                               location="thigh")
    settings = Settings(coach=CoachSettings(working_days=WEEKDAYS),
                        notify=NotifySettings(desktop=False))
    collector = Collector(options, settings, load_default_model("thigh", compact=True),
                          ZoneInfo("UTC"))

    async def main() -> None:
        async with Emulator(band):
            stop = asyncio.Event()
            task = asyncio.create_task(collector.run(stop))
            while not band.frames:
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(task, 60)

    before = time.time()
    asyncio.run(main())
    with Store.open(options.db, readonly=True) as store:
        events = store.events()
    connected = events.loc[events["kind"] == "band_connected", "time_s"]
    assert len(connected) == 1 and before <= connected.iloc[0] <= time.time()
