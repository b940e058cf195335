"""A study: twenty emulated bands, twenty `sitting-tracker collect` processes, one
PostgreSQL server.  Every sample each band sent is stored once, under its participant,
and each participant's `export raw` is exactly their band's samples."""

from __future__ import annotations

import asyncio
import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tracker.cli import main as cli_main
from tracker.emulator import Emulator, PolarVeritySense, find_dbus_daemon
from tracker.scenarios import resolve_scenario
from tracker.store import Store

pytestmark = [
    pytest.mark.skipif(find_dbus_daemon() is None,
                       reason="dbus-daemon not found; run scripts/install-system-deps.sh"),
    pytest.mark.timeout(300),
]
BANDS = 20
SPEED = 5.0
COLLECT_S = 25.0  # host seconds every collector streams, once all are connected


def stored_samples(url: str) -> dict[str, int]:
    with Store.open(url) as store:  # the first collector may not have created it yet
        rows = store.query_rows(
            "SELECT participant_id, sum(n_samples) FROM raw_chunks GROUP BY participant_id",
            ())
    return {str(who): int(n) for who, n in rows}


def test_twenty_collectors_into_one_server_store_each_sample_once(
        pg_url: str, tmp_path: Path) -> None:
    bands = [PolarVeritySense(resolve_scenario("office-day", 52.0), speed=SPEED,
                              device_id=f"A1B2C3{n:02X}", seed=n) for n in range(BANDS)]

    logs = [tmp_path / f"collector-{n:02d}.log" for n in range(BANDS)]
    before_stop: list[int] = []  # samples each band had sent when the collectors were told to stop

    async def study() -> list[int]:
        async with Emulator(*bands, apply_env=False) as emu:
            # Logs go to files, not pipes: nobody reads a pipe while the study runs, and a
            # collector whose log filled one would block on its next line.
            processes = [subprocess.Popen(
                [sys.executable, "-m", "tracker.cli", "collect", "--device", band.name,
                 "--participant", f"P{n:02d}", "--location", "thigh", "--db", pg_url,
                 "--speed", str(SPEED), "--verbose"],
                env=emu.bus.environ(), stderr=logs[n].open("w"))
                for n, band in enumerate(bands)]
            try:
                deadline = time.monotonic() + 150
                while len(stored := stored_samples(pg_url)) < BANDS:
                    missing = [n for n in range(BANDS) if f"P{n:02d}" not in stored]
                    assert time.monotonic() < deadline, \
                        {n: logs[n].read_text()[-3000:] for n in missing}
                    assert all(p.poll() is None for p in processes), \
                        {n: logs[n].read_text()[-3000:] for n, p in enumerate(processes)
                         if p.poll() is not None}
                    await asyncio.sleep(1.0)
                await asyncio.sleep(COLLECT_S)
                before_stop.extend(sum(len(f.samples) for f in band.frames) for band in bands)
                for process in processes:
                    process.send_signal(signal.SIGTERM)
                # The bands live in this event loop: wait in threads so they go on
                # answering while the collectors stop their streams.
                return [await asyncio.to_thread(p.wait, 60) for p in processes]
            finally:
                for process in processes:
                    if process.poll() is None:
                        process.kill()

    codes = asyncio.run(study())
    assert codes == [0] * BANDS
    stored = stored_samples(pg_url)
    for n, band in enumerate(bands):
        sent = np.concatenate([frame.samples for frame in band.frames])
        # Nothing lost before the stop, nothing stored twice (frames a band sends while its
        # collector is shutting down may go unstored).
        assert before_stop[n] <= stored[f"P{n:02d}"] <= len(sent), n
    # One participant's export is their own band's samples, in order.
    output = tmp_path / "p07.csv"
    assert cli_main(["export", "raw", "--db", pg_url, "--participant", "P07",
                     "-o", str(output)]) == 0
    with output.open() as file:
        rows = list(csv.DictReader(file))
    assert {row["participant_id"] for row in rows} == {"P07"}
    exported = np.array([[float(row[axis]) for axis in "xyz"] for row in rows])
    sent = np.concatenate([frame.samples for frame in bands[7].frames]) / 1000.0  # mG
    np.testing.assert_allclose(exported, sent[:len(exported)], atol=1 / 4096)
