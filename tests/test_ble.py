"""The BLE session layer through bleak's real BlueZ backend and emulated bands."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import numpy as np
import pytest

from tracker.ble import BandSession, scan
from tracker.emulator import (
    ArrayMotionSource,
    Emulator,
    InfiniTimeBand,
    PolarH10,
    PolarVeritySense,
    find_dbus_daemon,
)
from tracker.emulator.bands import Band

pytestmark = [
    pytest.mark.skipif(find_dbus_daemon() is None,
                       reason="dbus-daemon not found; run scripts/install-system-deps.sh"),
    pytest.mark.timeout(60),
]


def ramp(n: int) -> np.ndarray:
    """Motion whose x counts samples in mG, so every sample can be identified."""
    k = np.arange(n)
    return np.column_stack([(k % 4000) / 1000.0, (k // 4000) / 1000.0,
                            np.ones(n)]).astype(np.float32)


class Received:
    def __init__(self) -> None:
        self.t: list[np.ndarray] = []
        self.xyz: list[np.ndarray] = []

    def __call__(self, t: np.ndarray, xyz: np.ndarray) -> None:
        self.t.append(t)
        self.xyz.append(xyz)

    @property
    def count(self) -> int:
        return sum(len(t) for t in self.t)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate(self.t), np.concatenate(self.xyz)

    async def wait_for(self, n: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while self.count < n:
                await asyncio.sleep(0.02)


def sample_index(xyz: np.ndarray) -> np.ndarray:
    return np.round(xyz[:, 0] * 1000).astype(int) + 4000 * np.round(xyz[:, 1] * 1000).astype(int)


def run_with(band: Band, body: Callable[[Band], Awaitable[None]]) -> None:
    async def main() -> None:
        async with Emulator(band):
            await body(band)

    asyncio.run(main())


async def streaming(target: str, received: Received, **options: object) -> tuple[
        BandSession, asyncio.Event, asyncio.Task[None]]:
    session = BandSession(target, received, **options)  # type: ignore[arg-type]
    stop = asyncio.Event()
    return session, stop, asyncio.create_task(session.run(stop))


async def finish(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    stop.set()
    await asyncio.wait_for(task, 15)


def test_scan_lists_supported_bands_with_profile_and_battery() -> None:
    async def body(band: Band) -> None:
        found = await scan(timeout=1.5)
        assert [(b.name, b.profile.id if b.profile else None) for b in found] == \
            [("Polar Sense A1B2C3D4", "polar-verity")]
        assert found[0].battery == band.battery_level and found[0].rssi is not None

    run_with(PolarVeritySense(ArrayMotionSource(ramp(10_000), 52.0), device_id="A1B2C3D4"),
             body)


def test_verity_samples_arrive_once_in_order_with_band_spacing() -> None:
    received = Received()

    async def body(band: Band) -> None:
        session, stop, task = await streaming("Polar Sense", received, time_scale=10)
        await received.wait_for(52 * 30)
        await finish(stop, task)
        assert session.stats.profile == "polar-verity" and session.stats.rejected == 0

    run_with(PolarVeritySense(ArrayMotionSource(ramp(100_000), 52.0), speed=10), body)
    t, xyz = received.arrays()
    index = sample_index(xyz)
    assert (np.diff(index) == 1).all()  # every sample, once, in order
    assert np.median(np.diff(t)) == pytest.approx(1 / 52, rel=0.01)
    assert (np.diff(t) > 0).all()


def test_link_loss_recovers_within_five_seconds_without_duplicates_or_leaks() -> None:
    received = Received()
    fds: list[int] = []

    async def body(band: Band) -> None:
        session, stop, task = await streaming("Polar H10", received, time_scale=5)
        await received.wait_for(200)
        fds.append(len(os.listdir("/proc/self/fd")))
        for drop in range(5):
            before = received.count
            band.faults.link_loss()
            await asyncio.sleep(0.2)
            loop = asyncio.get_running_loop()
            started = loop.time()
            await received.wait_for(before + 200, timeout=5)
            assert loop.time() - started < 5, f"drop {drop} took too long"
        fds.append(len(os.listdir("/proc/self/fd")))
        await finish(stop, task)
        assert session.stats.reconnects >= 5

    run_with(PolarH10(ArrayMotionSource(ramp(2_000_000), 50.0), speed=5), body)
    t, xyz = received.arrays()
    index = sample_index(xyz)
    assert (np.diff(index) > 0).all() and (np.diff(t) > 0).all()
    assert fds[1] <= fds[0] + 2


def test_stall_is_detected_and_the_stream_comes_back() -> None:
    received = Received()

    async def body(band: Band) -> None:
        session, stop, task = await streaming("Polar Sense", received, time_scale=10,
                                              min_stall_s=1.0)
        await received.wait_for(300)
        band.faults.stall()
        await asyncio.sleep(2.5)
        band.faults.resume()
        before = received.count
        await received.wait_for(before + 300, timeout=15)
        await finish(stop, task)
        assert session.stats.stalls >= 1

    run_with(PolarVeritySense(ArrayMotionSource(ramp(1_000_000), 52.0), speed=10), body)
    assert (np.diff(received.arrays()[0]) > 0).all()


def test_a_request_never_answered_while_connecting_is_given_up_and_retried() -> None:
    received = Received()

    async def body(band: Band) -> None:
        # The first GATT request after connecting (the battery read) hangs for good.
        band.faults.leave_unanswered(1)
        session, stop, task = await streaming("Polar Sense", received, time_scale=10,
                                              attempt_timeout_s=5.0)
        await received.wait_for(300, timeout=30)
        await finish(stop, task)
        assert session.stats.reconnects >= 1
        assert any(kind == "error" and "no answer from Polar Sense" in detail
                   for _, kind, detail in session.stats.events)

    run_with(PolarVeritySense(ArrayMotionSource(ramp(1_000_000), 52.0), speed=10), body)
    assert (np.diff(received.arrays()[0]) > 0).all()


def test_a_band_missing_from_bleaks_cache_is_found_after_reading_bluez_afresh() -> None:
    from bleak.backends.bluezdbus.manager import get_global_bluez_manager

    received = Received()
    band = PolarVeritySense(ArrayMotionSource(ramp(1_000_000), 52.0), speed=10)

    async def main() -> None:
        async with Emulator(band) as emu:
            assert emu.bluez is not None
            await get_global_bluez_manager()  # bleak lists BlueZ's objects: no band yet
            emu.bluez.export_unannounced(emu.links[0])  # ...and misses its announcement
            session, stop, task = await streaming("Polar Sense", received, time_scale=10,
                                                  scan_timeout_s=2.0)
            await received.wait_for(300, timeout=30)
            await finish(stop, task)
            assert "rescan" in [kind for _, kind, _ in session.stats.events]

    asyncio.run(main())


def test_corrupt_frames_are_counted_not_fatal_and_clock_jumps_reanchor() -> None:
    received = Received()

    async def body(band: Band) -> None:
        session, stop, task = await streaming("Polar H10", received, time_scale=5)
        await received.wait_for(200)
        band.faults.truncate_frames(count=3, keep_fraction=0.3)
        band.faults.clock_jump(3600.0)
        before = received.count
        await received.wait_for(before + 400)
        await finish(stop, task)
        assert session.stats.rejected >= 1
        assert session.clock is not None and session.clock.jumps >= 1

    run_with(PolarH10(ArrayMotionSource(ramp(1_000_000), 50.0), speed=5), body)
    t, _ = received.arrays()
    assert (np.diff(t) > 0).all() and np.diff(t).max() < 60  # the jump did not move time


def test_infinitime_streams_and_buzzes() -> None:
    received = Received()
    rng = np.random.default_rng(0)
    moving = (np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.05, (50_000, 3))).astype(np.float32)

    async def body(band: Band) -> None:
        session, stop, task = await streaming("InfiniTime", received, time_scale=5)
        await received.wait_for(50)
        assert await session.buzz("Time to stand up", "30 min sitting")
        buzzes = await band.wait_for_buzz(1)  # type: ignore[attr-defined]
        await finish(stop, task)
        assert buzzes[0].title == "Time to stand up"

    run_with(InfiniTimeBand(ArrayMotionSource(moving, 10.0), speed=5), body)
    t, xyz = received.arrays()
    assert np.abs(np.linalg.norm(xyz, axis=1).mean() - 1.0) < 0.1
    assert (np.diff(t) > 0).all()
