"""Benchmark: classify a long 50 Hz recording and print time, throughput and peak memory.

    .venv/bin/python scripts/bench_classify.py [--days 7] [--location waist]

The recording is made of real waist motion (the bundled sample, repeated) with small
random changes so no two days are identical, written to a Parquet file first. The
classification then runs in a fresh child process pinned to one core, which reports:
- reading: time spent reading and checking the file, chunk by chunk;
- classification: time in the pipeline (resampling, windows, features, model,
  smoothing, non-wear), the figure the target of 3 s for 7 days refers to;
- peak RSS of the child process (target: <= 600 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "samples" / "waist-hapt-subject01.csv"
RATE_HZ = 50.0


def write_recording(path: Path, days: float) -> int:
    """Write `days` of 50 Hz samples to Parquet in pieces; returns the sample count."""
    motion = pd.read_csv(SAMPLE)[["x", "y", "z"]].to_numpy(dtype=np.float32)
    total = int(days * 86400 * RATE_HZ)
    rng = np.random.default_rng(0)
    schema = pa.schema([("t", pa.float64()), ("x", pa.float32()), ("y", pa.float32()),
                        ("z", pa.float32())])
    written = 0
    with pq.ParquetWriter(path, schema) as writer:
        while written < total:
            n = min(len(motion), total - written)
            piece = motion[:n] * rng.uniform(0.97, 1.03) + rng.normal(0, 0.003, (n, 3))
            t = (written + np.arange(n)) / RATE_HZ
            writer.write_table(pa.table({"t": t, "x": piece[:, 0], "y": piece[:, 1],
                                         "z": piece[:, 2]}, schema=schema))
            written += n
    return total


CHILD = r"""
import json, resource, sys, time
import numpy as np
from tracker.posture_model import load_default_model
from tracker.pipeline import WindowClassifier
from tracker.recording import read_recording

path, location = sys.argv[1], sys.argv[2]
model = load_default_model(location)
classifier = WindowClassifier(model)
reading = classifying = 0.0
windows = 0
chunks = read_recording(path)
while True:
    started = time.perf_counter()
    chunk = next(chunks, None)
    reading += time.perf_counter() - started
    if chunk is None:
        break
    started = time.perf_counter()
    windows += sum(len(f) for f in classifier.push(chunk.t, chunk.xyz))
    classifying += time.perf_counter() - started
started = time.perf_counter()
windows += sum(len(f) for f in classifier.finish())
classifying += time.perf_counter() - started
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"reading_s": reading, "classifying_s": classifying, "windows": windows,
                  "peak_rss_mb": rss_mb}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--location", default="waist", choices=("waist", "wrist", "thigh"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "week.parquet"
        started = time.perf_counter()
        samples = write_recording(path, args.days)
        print(f"generated {samples:,} samples ({args.days:g} days at 50 Hz) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        # One core, and one thread for the numeric libraries, as the target states.
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1")
        command = [sys.executable, "-c", CHILD, str(path), args.location]
        if sys.platform == "linux":
            command = ["taskset", "-c", "0", *command]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        figures = json.loads(result.stdout.strip().splitlines()[-1])
    classify_s = figures["classifying_s"]
    print(f"windows:          {figures['windows']:,}")
    print(f"reading:          {figures['reading_s']:.2f} s")
    print(f"classification:   {classify_s:.2f} s   (target <= 3 s for 7 days)")
    print(f"throughput:       {samples / classify_s / 1e6:.1f} M samples/s classified, "
          f"{samples / (classify_s + figures['reading_s']) / 1e6:.1f} M samples/s end to end")
    print(f"peak RSS:         {figures['peak_rss_mb']:.0f} MB   (target <= 600 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
