"""Soak test: many device-side link drops against an emulated Polar band.

A small reconnecting bleak client streams ACC from the band; after a few frames the band
drops the link (device side). The client calls ``disconnect()`` (bleak leaks a D-Bus
connection per drop otherwise), reconnects, restarts the stream and goes on. The band's
motion encodes each sample's index, so the client can check that every sample the band
sent was delivered exactly once and in order.

Prints time-to-recover per drop (link loss -> first frame of the next stream, which
includes the band filling its first frame; max, p50, p95), time to reconnect, this
process's open fds and the bus's connections before/after.

    .venv/bin/python scripts/soak_link_drops.py --drops 1000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bleak import BleakClient

from tracker.devices.polar import decode_pmd_acc_samples
from tracker.emulator import Emulator, PolarH10, PolarVeritySense
from tracker.emulator.encoders import PMD_CONTROL_POINT, PMD_DATA
from tracker.emulator.polar_band import PolarBand

START_REQUESTS = {
    "polar-h10": bytes.fromhex("02020001C8000101100002010800"),  # 200 Hz, 16 bit, 8 g
    "polar-verity-sense": bytes.fromhex("0202000134000101100002010800040103"),
}
SPAN = 16000  # x and y each walk through -8000..7999 mG


class IndexRamp:
    """Motion whose sample k reads back (in mG) as x, y = digits of k in base SPAN."""

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self._next = 0

    def read(self, n: int) -> np.ndarray:
        k = self._next + np.arange(n)
        self._next += n
        x = (k % SPAN) - 8000
        y = (k // SPAN) % SPAN - 8000
        return (np.stack([x, y, np.full(n, 1000)], axis=1) / 1000.0).astype(np.float32)


def indices_of(samples_mg: np.ndarray) -> np.ndarray:
    return (samples_mg[:, 1] + 8000) * SPAN + (samples_mg[:, 0] + 8000)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def soak(
    drops: int, profile: str, speed: float, frames_per_session: int, refuse_s: float
) -> int:
    band: PolarBand
    if profile == "polar-h10":
        band = PolarH10(IndexRamp(200.0), speed=speed)
    else:
        band = PolarVeritySense(IndexRamp(52.0), speed=speed)
    start = START_REQUESTS[profile]
    async with Emulator(band) as emu:
        assert emu.bluez is not None
        lost = asyncio.Event()
        frame_seen = asyncio.Event()
        received: list[tuple[int, float, bytes]] = []  # (session, arrival, frame)
        session = 0

        def on_data(_c: object, data: bytearray) -> None:
            received.append((session, time.monotonic(), bytes(data)))
            frame_seen.set()

        client = BleakClient(band.address, disconnected_callback=lambda _c: lost.set())

        async def stream_until(count: int) -> None:
            await client.start_notify(PMD_CONTROL_POINT, lambda _c, _d: None)
            await client.start_notify(PMD_DATA, on_data)
            await client.write_gatt_char(PMD_CONTROL_POINT, start, response=True)
            first = len(received)
            async with asyncio.timeout(30):
                while len(received) - first < count:
                    frame_seen.clear()
                    await frame_seen.wait()

        async def connect() -> int:
            attempts = 0
            while True:
                attempts += 1
                try:
                    await client.connect(timeout=10)
                    return attempts
                except Exception:
                    await client.disconnect()
                    await asyncio.sleep(0.05)

        await connect()
        await stream_until(frames_per_session)
        fds_before = open_fds()
        names_before = await emu.bluez.bus_connection_names()
        recover_s: list[float] = []
        reconnect_s: list[float] = []
        retries = 0
        t_start = time.monotonic()
        for _ in range(drops):
            lost.clear()
            t_drop = time.monotonic()
            band.faults.link_loss(refuse_reconnect_s=refuse_s)
            async with asyncio.timeout(5):
                await lost.wait()
            await client.disconnect()
            session += 1
            retries += await connect() - 1
            reconnect_s.append(time.monotonic() - t_drop)
            before = len(received)
            await stream_until(frames_per_session)
            recover_s.append(received[before][1] - t_drop)
        elapsed = time.monotonic() - t_start
        await client.disconnect()
        await asyncio.sleep(0.2)
        fds_after = open_fds()
        names_after = await emu.bluez.bus_connection_names()

    # ---- exactly-once check -------------------------------------------------------------
    sent = np.concatenate([indices_of(f.samples) for f in band.frames])
    got_parts = []
    contiguous_sessions = 0
    sessions: dict[int, list[np.ndarray]] = {}
    for s, _t, frame in received:
        _, samples = decode_pmd_acc_samples(frame)
        sessions.setdefault(s, []).append(indices_of(samples))
    for parts in sessions.values():
        idx = np.concatenate(parts)
        got_parts.append(idx)
        if np.all(np.diff(idx) == 1):
            contiguous_sessions += 1
    got = np.concatenate(got_parts)
    in_order = bool(np.all(np.diff(got) > 0))
    exactly_once = (
        len(got) == len(sent)
        and bool(np.array_equal(np.sort(got), np.sort(sent)))
        and len(np.unique(got)) == len(got)
    )

    r = np.array(recover_s) * 1000
    c = np.array(reconnect_s) * 1000
    print(
        f"profile={profile} speed={speed:g} drops={drops} elapsed_s={elapsed:.1f} "
        f"frames_per_session={frames_per_session} refuse_s={refuse_s:g}"
    )
    print(
        f"time_to_recover_ms max={r.max():.1f} p50={np.percentile(r, 50):.1f} "
        f"p95={np.percentile(r, 95):.1f} mean={r.mean():.1f} connect_retries={retries}"
    )
    print(
        f"time_to_reconnect_ms max={c.max():.1f} p50={np.percentile(c, 50):.1f} "
        f"p95={np.percentile(c, 95):.1f}  (link loss -> connect() returned)"
    )
    print(f"open_fds before={fds_before} after={fds_after}")
    print(f"bus_connections before={len(names_before)} after={len(names_after)}")
    print(
        f"samples sent={len(sent)} received={len(got)} sessions={len(sessions)} "
        f"contiguous_sessions={contiguous_sessions} in_order={in_order} "
        f"exactly_once={exactly_once}"
    )
    ok = (
        exactly_once
        and in_order
        and fds_after <= fds_before + 1
        and len(names_after) <= len(names_before)
    )
    print("RESULT", "ok" if ok else "FAILED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drops", type=int, default=1000)
    parser.add_argument("--profile", choices=sorted(START_REQUESTS), default="polar-h10")
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--frames-per-session", type=int, default=3)
    parser.add_argument(
        "--refuse",
        type=float,
        default=0.0,
        help="band seconds the band stays invisible after each drop",
    )
    args = parser.parse_args()
    return asyncio.run(
        soak(args.drops, args.profile, args.speed, args.frames_per_session, args.refuse)
    )


if __name__ == "__main__":
    sys.exit(main())
