"""Soak test of the BLE session layer: many link drops against an emulated band.

    .venv/bin/python scripts/soak_session.py [--drops 1000] [--speed 10]

A `BandSession` (the collector's own reconnecting session, bleak's real BlueZ backend)
streams from an emulated Polar H10 whose motion numbers every sample. The band drops the
link from its side again and again; the session notices, disconnects, reconnects and
restarts the stream by itself. Prints the time from each drop to the next delivered
sample (max, p50, p95; target: each within 5 s), open file descriptors and bus
connections before and after (target: no growth), and whether every sample delivered
was delivered once and in order.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

import numpy as np

from tracker.ble import BandSession
from tracker.emulator import Emulator, PolarH10

SPAN = 1000


class NumberedMotion:
    """Sample k reads back as x, y = the digits of k in base SPAN (mG), z = 1 g."""

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self._next = 0

    def read(self, n: int) -> np.ndarray:
        k = self._next + np.arange(n)
        self._next += n
        return np.column_stack([(k % SPAN) / 1000.0, (k // SPAN % SPAN) / 1000.0,
                                np.ones(n)]).astype(np.float32)


def numbers(xyz: np.ndarray) -> np.ndarray:
    return np.round(xyz[:, 0] * 1000).astype(int) + SPAN * np.round(xyz[:, 1] * 1000).astype(int)


async def soak(drops: int, speed: float) -> int:
    band = PolarH10(NumberedMotion(50.0), speed=speed)
    received: list[np.ndarray] = []
    arrivals: list[float] = []

    def on_samples(_t: np.ndarray, xyz: np.ndarray) -> None:
        received.append(numbers(xyz))
        arrivals.append(time.monotonic())

    async with Emulator(band) as emu:
        assert emu.bluez is not None
        session = BandSession("Polar H10", on_samples, time_scale=speed)
        stop = asyncio.Event()
        task = asyncio.create_task(session.run(stop))
        while len(received) < 5:
            await asyncio.sleep(0.05)
        fds_before = len(os.listdir("/proc/self/fd"))
        names_before = len(await emu.bluez.bus_connection_names())
        recover: list[float] = []
        started = time.monotonic()
        for drop in range(drops):
            before = len(received)
            dropped_at = time.monotonic()
            band.faults.link_loss()
            deadline = dropped_at + 30
            while len(received) <= before + 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            if len(received) <= before + 1:
                print(f"drop {drop}: no recovery within 30 s")
                break
            recover.append(arrivals[before + 1] - dropped_at)
            if (drop + 1) % 100 == 0:
                print(f"{drop + 1} drops, {time.monotonic() - started:.0f} s", flush=True)
        stop.set()
        await task
        await asyncio.sleep(0.3)
        fds_after = len(os.listdir("/proc/self/fd"))
        names_after = len(await emu.bluez.bus_connection_names())
    got = np.concatenate(received)
    once_in_order = bool((np.diff(got) > 0).all())
    times = np.array(recover)
    print(f"drops recovered:   {len(times)} of {drops} in {time.monotonic() - started:.0f} s "
          f"(band at {speed:g}x)")
    print(f"time to recover:   p50 {np.percentile(times, 50):.3f} s, p95 "
          f"{np.percentile(times, 95):.3f} s, max {times.max():.3f} s (target: each < 5 s)")
    print(f"open fds:          {fds_before} -> {fds_after}")
    print(f"bus connections:   {names_before} -> {names_after}")
    print(f"samples delivered: {len(got):,}, each once and in order: {once_in_order}; "
          f"reconnects counted by the session: {session.stats.reconnects}")
    ok = len(times) == drops and times.max() < 5 and once_in_order and \
        fds_after <= fds_before and names_after <= names_before
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drops", type=int, default=1000)
    parser.add_argument("--speed", type=float, default=10.0)
    args = parser.parse_args()
    return asyncio.run(soak(args.drops, args.speed))


if __name__ == "__main__":
    sys.exit(main())
