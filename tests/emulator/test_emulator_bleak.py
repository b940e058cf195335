"""bleak's real BlueZ backend against the fake org.bluez and the emulated bands.

Every test runs in its own event loop (asyncio.run) with a fresh bus, fake and band.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner

from tracker.emulator import (
    ArrayMotionSource,
    Emulator,
    InfiniTimeBand,
    PolarH10,
    PolarVeritySense,
    find_dbus_daemon,
)
from tracker.emulator.bands import BATTERY_LEVEL, DIS_FIRMWARE
from tracker.emulator.encoders import (
    H10_DEFAULT_CLOCK_NS,
    INFINITIME_RAW_MOTION,
    PMD_CONTROL_POINT,
    PMD_DATA,
    encode_new_alert,
)
from tracker.emulator.infinitime_band import NEW_ALERT
from tracker.emulator.polar_band import HEART_RATE_SERVICE, POLAR_COMPANY_ID

pytestmark = [
    pytest.mark.skipif(
        find_dbus_daemon() is None,
        reason="dbus-daemon not found; run scripts/install-system-deps.sh",
    ),
    pytest.mark.timeout(30),
]

VERITY_START = bytes.fromhex("0202000134000101100002010800040103")


def run(coro_factory: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro_factory())  # a new loop: bleak opens a new BlueZ connection on our bus


def resting(n: int, seed: int = 0, noise: float = 0.01) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (np.array([0.02, -0.1, 0.99]) + rng.normal(0, noise, (n, 3))).astype(np.float32)


class Inbox:
    """Collects notifications with their arrival times."""

    def __init__(self) -> None:
        self.items: list[tuple[float, bytes]] = []
        self.event = asyncio.Event()

    def __call__(self, _char: object, data: bytearray) -> None:
        self.items.append((time.monotonic(), bytes(data)))
        self.event.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[bytes]:
        async with asyncio.timeout(timeout):
            while len(self.items) < count:
                self.event.clear()
                await self.event.wait()
        return [d for _, d in self.items]

    def values(self) -> list[bytes]:
        return [d for _, d in self.items]


async def polar_session(client: BleakClient, cp: Inbox, data: Inbox, start: bytes) -> None:
    """The PMD etiquette: both subscriptions, then query settings, then start."""
    await client.start_notify(PMD_CONTROL_POINT, cp)
    await client.start_notify(PMD_DATA, data)
    await client.write_gatt_char(PMD_CONTROL_POINT, b"\x01\x02", response=True)
    await cp.wait_for(1)
    await client.write_gatt_char(PMD_CONTROL_POINT, start, response=True)
    await cp.wait_for(2)


def decode(frame: bytes, reference: Callable) -> tuple[int, np.ndarray]:
    """Timestamp and mG samples via the device decoder when present, else the reference."""
    try:
        from tracker.devices.polar import decode_pmd_acc_samples
    except ImportError:
        _, ts, samples = reference(frame)
        return ts, samples
    header, samples = decode_pmd_acc_samples(frame)
    _, ts, ref = reference(frame)
    assert header.timestamp_ns == ts and samples.tolist() == ref.tolist()
    return ts, samples


def test_scanner_finds_verity_by_name_and_by_service_uuid() -> None:
    band = PolarVeritySense(ArrayMotionSource(resting(100), 52.0), device_id="0A1B2C3D")

    async def main() -> None:
        async with Emulator(band):
            device = await BleakScanner.find_device_by_name("Polar Sense 0A1B2C3D", timeout=5)
            assert device is not None and device.address == band.address
            seen = await BleakScanner.discover(
                timeout=0.6, return_adv=True, service_uuids=[HEART_RATE_SERVICE]
            )
            ((found, adv),) = seen.values()
            assert found.name == "Polar Sense 0A1B2C3D"
            assert POLAR_COMPANY_ID in adv.manufacturer_data
            assert -80 < adv.rssi < -40
            other = await BleakScanner.discover(
                timeout=0.4, service_uuids=["0000feed-0000-1000-8000-00805f9b34fb"]
            )
            assert other == []

    run(main)


def test_verity_features_cp_exchange_and_frames_round_trip(pmd_reference_decode) -> None:
    samples = resting(52 * 120)
    band = PolarVeritySense(ArrayMotionSource(samples, 52.0), speed=10)

    async def main() -> None:
        async with Emulator(band):
            cp, data = Inbox(), Inbox()
            async with BleakClient(band.address, timeout=10) as client:
                await polar_session(client, cp, data, VERITY_START)
                # BlueZ also reports the feature read as a Value change on the CP
                assert (await client.read_gatt_char(PMD_CONTROL_POINT))[:2] == b"\x0f\x6e"
                frames = await data.wait_for(6, timeout=10)
                await client.write_gatt_char(PMD_CONTROL_POINT, b"\x03\x02", response=True)
                await cp.wait_for(4)
            indications = cp.values()
            assert indications[0] == bytes.fromhex(
                "F0010200000001340001011000020108000401 03".replace(" ", "")
            )
            assert indications[1] == bytes.fromhex("F002020000")
            assert indications[2][:2] == b"\x0f\x6e"
            assert indications[3] == bytes.fromhex("F003020000")
            decoded = [decode(f, pmd_reference_decode) for f in frames]
            assert all(f[9] == 0x81 and len(f) <= 229 for f in frames)
            # contiguous samples equal to what the source gave, in mG
            first = band.frames[0].first_index
            got = np.concatenate([s for _, s in decoded])
            expected = np.rint(samples[first : first + len(got)] * 1000).astype(int)
            assert got.tolist() == expected.tolist()
            # device timestamps: last sample of each frame, 1/52 s per sample in band time
            stamps = [ts for ts, _ in decoded]
            counts = [len(s) for _, s in decoded]
            for i in range(1, len(stamps)):
                assert stamps[i] - stamps[i - 1] == pytest.approx(counts[i] / 52 * 1e9, abs=2)
            # wall cadence: each notification arrives when its last sample exists (speed 10)
            arrivals = [t for t, _ in data.items]
            for i in range(2, len(arrivals)):
                assert arrivals[i] - arrivals[i - 1] == pytest.approx(counts[i] / 52 / 10, abs=0.06)

    run(main)


def test_h10_raw_frames_at_requested_rate_and_2019_clock(pmd_reference_decode) -> None:
    samples = resting(50 * 60, seed=2, noise=0.2)
    band = PolarH10(ArrayMotionSource(samples, 50.0), speed=1)
    start = bytes.fromhex("0202020108 00000132 00010110 00".replace(" ", ""))

    async def main() -> None:
        async with Emulator(band):
            cp, data = Inbox(), Inbox()
            async with BleakClient(band.address) as client:
                assert (await client.read_gatt_char(PMD_CONTROL_POINT))[:2] == b"\x0f\x05"
                await polar_session(client, cp, data, start)
                frames = await data.wait_for(3, timeout=6)
            assert cp.values()[0] == bytes.fromhex(
                "F00102000000041900320064 00C800010110000203020004000800".replace(" ", "")
            )
            assert cp.values()[1] == bytes.fromhex("F00202000001")
            decoded = [decode(f, pmd_reference_decode) for f in frames[:3]]
            assert all(f[9] == 0x01 and len(f) == 10 + 36 * 6 for f in frames[:3])
            first = band.frames[0].first_index
            got = np.concatenate([s for _, s in decoded])
            want = np.rint(samples[first : first + len(got)] * 1000).astype(int)
            assert got.tolist() == want.tolist()
            assert 0 < decoded[0][0] - H10_DEFAULT_CLOCK_NS < 60e9  # from its 2019 power-on
            assert decoded[1][0] - decoded[0][0] == pytest.approx(36 / 50 * 1e9, abs=2)
            arrivals = [t for t, _ in data.items[:3]]
            assert arrivals[2] - arrivals[1] == pytest.approx(0.72, abs=0.08)

    run(main)


def test_polar_rejects_bad_start_requests() -> None:
    band = PolarH10(ArrayMotionSource(resting(100), 200.0))

    async def main() -> None:
        async with Emulator(band):
            cp = Inbox()
            async with BleakClient(band.address) as client:
                await client.start_notify(PMD_CONTROL_POINT, cp)
                for request in (
                    bytes.fromhex("02020001C800"),  # missing resolution and range
                    bytes.fromhex("0202000133000101100002010800"),  # 51 Hz
                    bytes.fromhex("0300"),
                ):  # stop ECG: not emulated
                    await client.write_gatt_char(PMD_CONTROL_POINT, request, response=True)
                replies = await cp.wait_for(3)
            assert [r[3] for r in replies] == [5, 8, 3]
            assert not band.streaming

    run(main)


def test_infinitime_notifies_only_on_change_and_buzzes() -> None:
    # 10 Hz: 2 s still, then changing every sample, then still again
    still = np.tile([[0.0, 0.0, 1.0]], (20, 1))
    moving = np.array([[0.0, 0.01 * i, 1.0] for i in range(1, 11)])
    after = np.tile(moving[-1:], (40, 1))
    samples = np.concatenate([still, moving, after]).astype(np.float32)
    band = InfiniTimeBand(ArrayMotionSource(samples, 10.0), speed=4)

    async def main() -> None:
        async with Emulator(band):
            motion = Inbox()
            async with BleakClient(band.address) as client:
                assert (await client.read_gatt_char(DIS_FIRMWARE)) == b"1.15.0"
                assert (await client.read_gatt_char(BATTERY_LEVEL)) == bytes([74])
                await client.start_notify(INFINITIME_RAW_MOTION, motion)
                await client.write_gatt_char(
                    NEW_ALERT, encode_new_alert("Stand up", "50 min"), response=True
                )
                await client.write_gatt_char(NEW_ALERT, b"\x00\x01\x00", response=True)
                await asyncio.sleep(7 / 4 + 0.3)  # past the end of the motion
            buzzes = band.buzzes
            assert [(b.title, b.body) for b in buzzes] == [("Stand up", "50 min")]
            values = [np.frombuffer(v, "<i2").tolist() for v in motion.values()]
            # one value per change; nothing while the watch is still
            assert all(a != b for a, b in itertools.pairwise(values))
            changes = [s for s in band.frames if s.first_index >= 20]
            assert len(changes) == 10 and len(values) <= 11
            assert values[-1] == [0, 102, 1024]

    run(main)


def test_link_loss_fires_disconnected_callback_and_reconnect_works() -> None:
    band = PolarVeritySense(ArrayMotionSource(resting(52 * 60), 52.0, loop=True), speed=10)

    async def main() -> None:
        async with Emulator(band):
            lost = asyncio.Event()
            client = BleakClient(band.address, disconnected_callback=lambda _c: lost.set())
            await client.connect()
            t0 = time.monotonic()
            band.faults.link_loss(refuse_reconnect_s=5)  # 0.5 s of wall time at speed 10
            await asyncio.wait_for(lost.wait(), 1)
            assert time.monotonic() - t0 < 0.2 and not client.is_connected
            await client.disconnect()  # releases bleak's D-Bus connection
            t1 = time.monotonic()
            await client.connect()  # waits until the band advertises again
            assert time.monotonic() - t1 >= 0.4 and client.is_connected
            cp, data = Inbox(), Inbox()
            await polar_session(client, cp, data, VERITY_START)
            await data.wait_for(1, timeout=5)
            await client.disconnect()
            assert not band.connected and not band.streaming

    run(main)


def test_stall_clock_jump_and_frame_faults(pmd_reference_decode) -> None:
    band = PolarVeritySense(ArrayMotionSource(resting(52 * 600), 52.0), speed=20)

    async def main() -> None:
        async with Emulator(band):
            cp, data = Inbox(), Inbox()
            async with BleakClient(band.address) as client:
                await polar_session(client, cp, data, VERITY_START)
                await data.wait_for(2)
                band.faults.stall(duration_s=6)  # 0.3 s wall
                n = len(data.items)
                await asyncio.sleep(0.25)
                assert len(data.items) <= n + 1 and client.is_connected
                await data.wait_for(n + 2, timeout=3)
                before = pmd_reference_decode(data.items[-1][1])[1]
                band.faults.clock_jump(-3600)
                n = len(data.items)
                after = pmd_reference_decode((await data.wait_for(n + 1))[-1])[1]
                assert -3600e9 < after - before < -3590e9
                band.faults.truncate_frames(count=1, keep_fraction=0.5)
                band.faults.reorder_frames(count=1)
                n = len(data.items)
                frames = await data.wait_for(n + 4)
                # the truncated frame is held back and overtaken by the next one
                # (a frame already on its way may arrive before both)
                cut = next(i for i in range(n, len(frames)) if len(frames[i]) < 120)
                later, earlier = frames[cut - 1], frames[cut]
                assert len(later) > 200
                stamp = lambda f: int.from_bytes(f[1:9], "little")  # noqa: E731
                assert stamp(earlier) < stamp(later)
                band.faults.stream_stop()
                await cp.wait_for(3)
                assert cp.values()[2] == b"\x01\x02"

    run(main)


def test_h10_restart_resets_clock_and_stream(pmd_reference_decode) -> None:
    band = PolarH10(ArrayMotionSource(resting(200 * 600), 200.0), speed=50)
    start = bytes.fromhex("020200 01C800 010110 00 020108 00".replace(" ", ""))

    async def main() -> None:
        async with Emulator(band):
            lost = asyncio.Event()
            client = BleakClient(band.address, disconnected_callback=lambda _c: lost.set())
            await client.connect()
            cp, data = Inbox(), Inbox()
            await polar_session(client, cp, data, start)
            await data.wait_for(1)
            await asyncio.sleep(1.0)  # 50 band seconds
            band.faults.restart(boot_s=10)
            await asyncio.wait_for(lost.wait(), 1)
            assert not band.streaming
            await client.disconnect()
            await client.connect()
            cp2, data2 = Inbox(), Inbox()
            await polar_session(client, cp2, data2, start)
            ts = pmd_reference_decode((await data2.wait_for(1))[0])[1]
            assert 0 < ts - H10_DEFAULT_CLOCK_NS < 5e9  # restarted from 2019-01-01
            await client.disconnect()

    run(main)


def test_fifty_reconnect_cycles_leak_no_file_descriptors(open_fd_count) -> None:
    band = InfiniTimeBand(ArrayMotionSource(resting(100), 10.0, loop=True), speed=1)

    async def main() -> None:
        async with Emulator(band) as emu:
            assert emu.bluez is not None
            client = BleakClient(band.address)
            for _ in range(3):  # warm up bleak's manager, caches and the executor
                await client.connect()
                await client.disconnect()
            fds_before = open_fd_count()
            names_before = await emu.bluez.bus_connection_names()
            lost = asyncio.Event()
            for i in range(50):
                lost.clear()
                client = BleakClient(band.address, disconnected_callback=lambda _c: lost.set())
                await client.connect()
                await client.start_notify(INFINITIME_RAW_MOTION, lambda _c, _d: None)
                if i % 2:
                    band.faults.link_loss()  # device side, then the mandatory disconnect()
                    await asyncio.wait_for(lost.wait(), 1)
                await client.disconnect()
            assert open_fd_count() <= fds_before + 1
            # The bus daemon drops a closed connection a moment later; on a busy machine
            # that moment can be long, so give it a few seconds.
            for _ in range(50):
                if len(await emu.bluez.bus_connection_names()) <= len(names_before):
                    break
                await asyncio.sleep(0.1)
            assert len(await emu.bluez.bus_connection_names()) <= len(names_before)
            assert band.link is not None and band.link.connections == 53

    run(main)


def test_fake_survives_a_burst_far_above_band_rates() -> None:
    # dbus-fast drops its connection if the socket send buffer ever fills: the fake paces.
    band = PolarVeritySense(ArrayMotionSource(resting(100), 52.0))
    burst = 5000  # ~2 MB of signals, ten times the socket buffer, queued at once

    async def main() -> None:
        async with Emulator(band) as emu:
            data = Inbox()
            async with BleakClient(band.address) as client:
                await client.start_notify(PMD_DATA, data)
                assert band.link is not None
                for i in range(burst):
                    assert band.link.notify(PMD_DATA, i.to_bytes(4, "little") + bytes(225))
                values = await data.wait_for(burst, timeout=20)
                assert [int.from_bytes(v[:4], "little") for v in values] == list(range(burst))
                assert client.is_connected and emu.bluez is not None
                assert emu.bluez.unique_name in await emu.bluez.bus_connection_names()

    run(main)
