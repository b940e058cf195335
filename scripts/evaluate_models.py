"""Leave-subjects-out evaluation of the posture model for each wear location.

Usage: python scripts/evaluate_models.py [--save] [--speed] [--stated-postures-only]
                                         [--location waist wrist thigh]

Prints macro-F1 (sitting / standing / walking), per-class F1, confusion matrices and
per-subject scores for each location, then a summary table in Markdown.  With --save the
models fitted on all subjects replace the shipped ones in tracker/models/.  With --speed
it only times the shipped models on a synthetic week at 50 Hz (run with
OMP_NUM_THREADS=1 to measure one core).  With --stated-postures-only the models train
without the activities mapped to a posture (at the wrist: typing, writing, eating,
drinking, brushing teeth, folding clothes), to see what those add; the predictions by
source activity show what the model then does with them.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from tracker.features import window_features
from tracker.model import TrainingConfig, train_location
from tracker.posture_model import default_model_path, load_default_model
from tracker.signal import split_segments, window_view
from tracker.training_data import LOCATIONS

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def time_week(location: str, rate_in_hz: float = 50.0, chunk_h: float = 6.0) -> None:
    """Classify 7 days of synthetic 50 Hz signal in 6-hour chunks and report the cost of
    each stage (resampling, features, classifier, smoothing) on this machine."""
    model = load_default_model(location)
    rng = np.random.default_rng(0)
    n_chunk = int(chunk_h * 3600 * rate_in_hz)
    t_chunk = np.arange(n_chunk) / rate_in_hz + rng.uniform(0, 2e-3, n_chunk)
    xyz = rng.normal(0, 0.05, size=(n_chunk, 3)).astype(np.float32)
    xyz[:, 0] += 1.0
    cost = dict.fromkeys(("resample", "features", "classifier", "smoothing"), 0.0)
    n_windows = 0
    n_chunks = round(7 * 24 / chunk_h)
    for chunk in range(n_chunks):
        start = time.perf_counter()
        segments = split_segments(t_chunk + chunk * chunk_h * 3600, xyz, model.rate_hz)
        cost["resample"] += time.perf_counter() - start
        for segment in segments:
            windows = window_view(segment, model.window_s)
            a = time.perf_counter()
            features = window_features(windows, model.rate_hz)
            b = time.perf_counter()
            proba = model.design_proba(model.design_matrix(features))
            c = time.perf_counter()
            model.smooth(proba)
            cost["smoothing"] += time.perf_counter() - c
            cost["features"] += b - a
            cost["classifier"] += c - b
            n_windows += len(windows)
    total = sum(cost.values())
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in cost.items())
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{location}: {n_windows} windows from {n_chunk * n_chunks / 1e6:.1f} M samples in "
        f"{total:.2f} s ({stages}); {n_windows / total:.0f} windows/s end to end, "
        f"{n_windows / cost['classifier']:.0f} windows/s classifier; peak RSS {rss_mb:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--location", nargs="+", choices=LOCATIONS, default=list(LOCATIONS))
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--save", action="store_true", help="replace the shipped models")
    parser.add_argument("--speed", action="store_true", help="only time the shipped models")
    parser.add_argument("--stated-postures-only", action="store_true",
                        help="train without the activities mapped to a posture (the wrist's "
                             "typing, eating, brushing teeth...), to see what they add; "
                             "not with --save")
    args = parser.parse_args()
    if args.save and args.stated_postures_only:
        parser.error("--stated-postures-only is for comparison; the shipped models keep "
                     "every mapped activity")
    if args.speed:
        for location in args.location:
            time_week(location)
        return

    rows = []
    for location in args.location:
        model, report = train_location(
            location, args.data, progress=print,
            config=TrainingConfig(stated_postures_only=args.stated_postures_only))
        print(report, end="\n\n")
        confusion = report.confusion
        low, high = report.macro_f1_interval
        rows.append(
            f"| {location} | {report.n_subjects} | {report.n_windows} | {report.macro_f1:.3f} "
            f"| {low:.3f}-{high:.3f} | {report.macro_f1_raw:.3f} "
            f"| {confusion.loc['sitting', 'standing']} / {confusion.loc['sitting'].sum()} "
            f"| {confusion.loc['standing', 'sitting']} / {confusion.loc['standing'].sum()} |"
        )
        if args.save:
            path = default_model_path(location)
            model.save(path)
            print(f"saved {path} ({path.stat().st_size / 1e6:.2f} MB)\n")

    print(
        "| location | subjects | windows | macro-F1 smoothed | 95 % over people "
        "| macro-F1 per window | sitting called standing | standing called sitting |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
