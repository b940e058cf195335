"""Benchmark `sitting-tracker batch`: a study of N one-day recordings at 50 Hz.

    nice -n 10 .venv/bin/python scripts/bench_batch.py [--recordings 200] [--hours 24]

The recordings are made of real thigh motion: the 8 h office day of tracker/scenarios.py
(real WISDM thigh data), each recording with its own sensor rotation, gain, noise and
shift of the day, padded to --hours with a night of the band lying still on a table
(non-wear), a 20 min charging gap (no samples) and an evening of parts of the day
repeated. They are written once as Parquet, then classified on a local Dask cluster of
1 and of 2 worker processes (one thread each). Printed:
- recordings per minute and scaling efficiency (rate with 2 workers / twice the rate
  with 1; 100 % is perfect);
- CPU the workers used, in cores (CPU seconds / wall seconds): on a machine with as
  many cores as workers, the shortfall is time the workers waited for a core while the
  scheduler, the client or other programs ran;
- peak memory (RSS) of each worker process;
- the projected time of a 10,000-participant x 7-day study: worker-hours, and wall time
  on the measured 2 workers and on 64 workers at the measured efficiency.
The outputs of the two runs are compared: they must be identical.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tracker.batch import Settings, run_batch  # noqa: E402
from tracker.scenarios import scenario_samples  # noqa: E402

RATE_HZ = 50.0
LOCATION = "thigh"
FIRST_DAY = 1_709_510_400.0  # 2024-03-04 00:00 UTC
STUDY_PARTICIPANTS, STUDY_DAYS = 10_000, 7
SCHEMA = pa.schema([("t", pa.float64()), ("x", pa.float32()), ("y", pa.float32()),
                    ("z", pa.float32())])


def rotation(rng: np.random.Generator, max_degrees: float) -> np.ndarray:
    """A random rotation by up to `max_degrees` (how a band sits a little differently)."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.radians(rng.uniform(-max_degrees, max_degrees))
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def one_day(day: np.ndarray, hours: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(t from midnight, xyz) of one recording: night, charging gap, office day, evening;
    each part scaled to fit `hours`."""
    rng = np.random.default_rng(seed)
    n_total = round(hours * 3600 * RATE_HZ)
    n_night, n_gap = round(n_total * 7 / 24), round(n_total * (20 / 60) / 24)
    n_office = min(len(day), round(n_total * 8 / 24))
    n_evening = n_total - n_night - n_gap - n_office
    # The band on the bedside table: still, at some orientation, with sensor noise.
    night = rotation(rng, 180)[:, 2] + rng.normal(0, 0.002, (n_night, 3))
    # The real day, shifted by whole minutes, as worn by this person.
    shift = int(rng.integers(0, len(day) // (60 * int(RATE_HZ)))) * 60 * int(RATE_HZ)
    office = np.roll(day, -shift, axis=0)[:n_office] @ rotation(rng, 15).T
    start = int(rng.integers(0, len(day)))
    evening = np.resize(np.roll(day, -start, axis=0), (n_evening, 3)) @ rotation(rng, 15).T
    worn = np.concatenate((office, evening)) * rng.uniform(0.98, 1.02)
    worn += rng.normal(0, 0.003, worn.shape)
    xyz = np.concatenate((night, worn)).astype(np.float32)
    # Samples are taken every 1/50 s; the charging gap simply has none.
    index = np.concatenate((np.arange(n_night), np.arange(n_night + n_gap, n_total)))
    return index / RATE_HZ, np.round(xyz, 3)  # 1 mg resolution, as a real sensor


def write_study(folder: Path, recordings: int, hours: float) -> int:
    """Write the recordings as p00000.parquet ...; returns the total bytes."""
    day, _ = scenario_samples("office-day", RATE_HZ)
    total = 0
    for i in range(recordings):
        t, xyz = one_day(day, hours, seed=i)
        t = t + FIRST_DAY + (i % 28) * 86400.0
        table = pa.table({"t": t, "x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]},
                         schema=SCHEMA)
        path = folder / f"p{i:05d}.parquet"
        pq.write_table(table, path, compression="zstd")
        total += path.stat().st_size
    return total


def _warm_up(location: str) -> None:
    """Load the model in a worker before the clock starts (once per worker anyway)."""
    from tracker.batch import _model

    _model(location, None)


def _peak_rss_mb() -> float:
    """Peak RSS of this process. VmHWM, not getrusage: ru_maxrss survives fork and exec,
    so a worker would report its parent's peak if that was higher."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def classify_study(study: Path, out: Path,
                   workers: int) -> tuple[float, list[float], float]:
    """Wall time of `batch` on a fresh local cluster, each worker's peak RSS in MB, and
    the CPU seconds all workers used meanwhile."""
    from dask.distributed import Client, LocalCluster

    settings = Settings(location=LOCATION, tz="UTC")
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        client.run(_warm_up, LOCATION)
        cpu_before = sum(client.run(_cpu_seconds).values())
        started = time.perf_counter()
        report = run_batch(study, out, settings, scheduler=cluster.scheduler_address,
                           show_progress=True)
        wall = time.perf_counter() - started
        rss = list(client.run(_peak_rss_mb).values())
        cpu = sum(client.run(_cpu_seconds).values()) - cpu_before
    if report.failures:
        raise SystemExit(f"{len(report.failures)} recordings failed: "
                         f"{report.failures[0].error}")
    if report.unwritten:  # the figures stand, but a run whose results are lost is no run
        raise SystemExit("; ".join(str(error) for error in report.unwritten.values()))
    return wall, rss, cpu


def digest(folder: Path) -> str:
    """One hash over every output file a user sees, in name order."""
    total = hashlib.sha256()
    for path in sorted(folder.rglob("*.csv")):
        if ".batch" not in path.parts:
            total.update(path.relative_to(folder).as_posix().encode())
            total.update(path.read_bytes())
    return total.hexdigest()


def hours_text(hours: float) -> str:
    return f"{hours:,.1f} h" if hours < 48 else f"{hours / 24:,.1f} days"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=200)
    parser.add_argument("--hours", type=float, default=24.0, help="length of each recording")
    parser.add_argument("--folder", type=Path, help="keep the generated study here "
                        "(reused if it already holds the recordings)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as temp:
        study = args.folder or Path(temp) / "study"
        study.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        if len(list(study.glob("p*.parquet"))) != args.recordings:
            size = write_study(study, args.recordings, args.hours)
            print(f"wrote {args.recordings} recordings x {args.hours:g} h at 50 Hz "
                  f"({size / 1e9:.2f} GB of Parquet) in {time.perf_counter() - started:.0f} s",
                  flush=True)
        results = {}
        for workers in (1, 2):
            wall, rss, cpu = classify_study(study, Path(temp) / f"out{workers}", workers)
            results[workers] = (wall, rss, cpu, digest(Path(temp) / f"out{workers}"))
            print(f"{workers} worker(s): {wall:.1f} s", flush=True)
    n, day_fraction = args.recordings, args.hours / 24
    rate = {w: n / wall * 60 for w, (wall, *_) in results.items()}
    efficiency = rate[2] / (2 * rate[1])
    # The study: 70,000 recording-days; cost grows with recorded time (classify is linear).
    study_days = STUDY_PARTICIPANTS * STUDY_DAYS
    worker_hours = study_days / (rate[1] * day_fraction) / 60
    print()
    print(f"{'workers':<8}{'wall':>9}{'recordings/min':>16}{'recorded h/min':>16}"
          f"{'worker CPU':>12}{'peak RSS per worker':>22}")
    for workers, (wall, rss, cpu, _) in results.items():
        print(f"{workers:<8}{wall:>8.1f}s{rate[workers]:>16.1f}"
              f"{rate[workers] * args.hours:>16.0f}{cpu / wall:>7.2f} cores"
              f"{', '.join(f'{r:.0f}' for r in rss) + ' MB':>22}")
    print(f"scaling efficiency, 1 -> 2 workers: {efficiency:.0%}")
    print(f"outputs identical on 1 and 2 workers: "
          f"{'yes' if results[1][3] == results[2][3] else 'NO'}")
    print(f"projected {STUDY_PARTICIPANTS:,} participants x {STUDY_DAYS} days "
          f"({study_days:,} recording-days at 50 Hz):")
    print(f"  {worker_hours:,.1f} worker-hours (wall time on 1 worker: "
          f"{hours_text(worker_hours)})")
    print(f"  wall time on 2 workers (measured): {hours_text(worker_hours / 2 / efficiency)}")
    print(f"  wall time on 64 workers at that efficiency: "
          f"{hours_text(worker_hours / 64 / efficiency)}")
    print(f"(machine: {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at the end; recordings of {args.hours:g} h)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
