"""Benchmark: the live collector's CPU, memory and storage latency on a real-time band.

    .venv/bin/python scripts/bench_collector.py [--minutes 10]

Starts an emulated Polar Verity Sense (52 Hz, real time) replaying the office day in one
process and `sitting-tracker collect` in another, exactly as a user would run them, then
samples the collector process for the given minutes and prints:
- CPU: the collector's user+system time over the run, as % of one core (target <= 2 %);
- memory: its peak and final RSS (target <= 200 MB);
- latency: how old the newest stored sample is when the store is polled (band
  notification -> raw sample in SQLite; a Verity frame carries about 2 s of samples,
  and the collector flushes raw samples every second).
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CLI = [sys.executable, "-m", "tracker.cli"]
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def newest_sample(db: Path) -> float | None:
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            value = connection.execute("SELECT max(end_s) FROM raw_chunks").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return None
    return None if value is None else float(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "tracker.sqlite"
        emulator = subprocess.Popen([*CLI, "emulate", "--profile", "verity", "--scenario",
                                     "office-day", "--speed", "1"], stdout=subprocess.PIPE,
                                    text=True)
        assert emulator.stdout is not None
        address = emulator.stdout.readline().strip().split("=", 1)[1]
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
        collector = subprocess.Popen([*CLI, "collect", "--device", "Polar", "--location",
                                      "thigh", "--db", str(db)], env=env)
        try:
            while newest_sample(db) is None:  # start measuring once streaming
                time.sleep(0.5)
            cpu_start, started = cpu_seconds(collector.pid), time.monotonic()
            ages, peak = [], 0.0
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(0.5)
                newest = newest_sample(db)
                if newest is not None:
                    ages.append(time.time() - newest)
                peak = max(peak, rss_mb(collector.pid))
            elapsed = time.monotonic() - started
            cpu = cpu_seconds(collector.pid) - cpu_start
            final = rss_mb(collector.pid)
        finally:
            collector.send_signal(signal.SIGTERM)
            collector.wait(timeout=30)
            emulator.send_signal(signal.SIGTERM)
            emulator.wait(timeout=30)
        samples = sqlite3.connect(db).execute("SELECT sum(n_samples) FROM raw_chunks").fetchone()[0]
    age = np.array(ages)
    print(f"run:      {elapsed / 60:.1f} min of a 52 Hz band in real time, {samples:,} samples "
          "stored")
    print(f"CPU:      {cpu:.1f} s = {100 * cpu / elapsed:.2f} % of one core (target <= 2 %)")
    print(f"memory:   peak RSS {peak:.0f} MB, at the end {final:.0f} MB (target <= 200 MB)")
    print(f"latency:  newest stored sample is {np.percentile(age, 50):.2f} s old at p50, "
          f"{np.percentile(age, 95):.2f} s at p95, {age.max():.2f} s at most")
    return 0


if __name__ == "__main__":
    sys.exit(main())
