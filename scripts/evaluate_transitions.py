"""Precision and recall of detected sit-to-stand / stand-to-sit transitions on the Timed Up
and Go runs of data/spsw_tug.parquet (thigh = phone in the trouser pocket, wrist = watch),
and false alarms in the WISDM recordings, which hold no transitions.

Usage: python scripts/evaluate_transitions.py [--locations thigh wrist]

Truth: every run has one labelled standing_up phase (its sit-to-stand) and one
sitting_down phase (its stand-to-sit), annotated from video.  A detection of the right
kind is a true positive if it falls within that phase extended by TOLERANCE_S on both
sides; each truth is matched at most once (by the closest detection), every other
detection is a false positive.  Timing error = detection time - middle of the phase.

Thresholds.  Three are tuned, on GRID: gravity_s, upright_deg, seated_deg.  The rest are
fixed (tracker/transitions.py says why): walking_g, min_walking_s, reference_s, still_g,
settle_s, min_seated_s.
Two rows per location and kind:
* "held-out": tuned leave-one-subject-out.  For each subject, the point of GRID with the
  best F1 (both kinds pooled) on the other 14 subjects is applied to that subject, so no
  run is scored with thresholds chosen on it.  This is the estimate to quote.
* "shipped": the defaults in tracker/transitions.py, the point the folds picked most
  often; scored on all subjects, it is in-sample.
"complete" repeats the held-out scores without the phases that touch the start or end of
the recording (within EDGE_S): the run began while rising or stopped before the person
had settled, so the signal holds only part of the movement.  A continuous recording has
no such cut.

False alarms: the WISDM blocks (data/wisdm2019_wrist_thigh.parquet) are about 3 minutes of
one activity each, split apart by gaps, so every detection in them is false, unless the
person changed posture within an activity whose posture the dataset does not state
(eating, folding clothes, ...).  They are counted with the shipped thresholds.
"""

from __future__ import annotations

import argparse
import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from tracker.transitions import (
    PARAMS,
    SIT_TO_STAND,
    STAND_TO_SIT,
    DetectorParams,
    detect_transitions,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "spsw_tug.parquet"
TOLERANCE_S = 1.0
EDGE_S = 0.3
KINDS = {SIT_TO_STAND: "standing_up", STAND_TO_SIT: "sitting_down"}
# Tuning grid, around the values the physics suggests (see tracker/transitions.py).
GRID: dict[str, tuple[float, ...]] = {
    "gravity_s": (0.75, 1.0),
    "upright_deg": (15.0, 20.0),
    "seated_deg": (25.0, 30.0, 40.0, 55.0),
}
WISDM = DATA.with_name("wisdm2019_wrist_thigh.parquet")
# WISDM activities whose posture the dataset states (the rest are hand activities).
STATED_POSTURE = ("walking", "jogging", "stairs", "sitting", "standing")


@dataclass(frozen=True)
class Run:
    subject: int
    recording: int
    t: np.ndarray  # s
    xyz: np.ndarray  # (n, 3) g
    phases: dict[str, tuple[float, float]]  # kind -> (first, last) sample time of the phase

    def complete(self, kind: str) -> bool:
        first, last = self.phases[kind]
        return first > self.t[0] + EDGE_S and last < self.t[-1] - EDGE_S


def load_runs(path: Path, location: str) -> list[Run]:
    frame = pd.read_parquet(path, filters=[("device", "==", location)])
    runs = []
    for (subject, recording), run in frame.groupby(["subject", "recording"], observed=True):
        t = run["t"].to_numpy() / 1e9
        label = run["label"].astype(str).to_numpy()
        phases = {kind: (float(t[label == phase].min()), float(t[label == phase].max()))
                  for kind, phase in KINDS.items()}
        xyz = run[["acc_x", "acc_y", "acc_z"]].to_numpy()
        runs.append(Run(int(subject), int(recording), t, xyz, phases))
    return runs


@dataclass
class Score:
    truth: int = 0
    detected: int = 0
    hits: int = 0
    errors: list[float] = field(default_factory=list)

    def add(self, other: Score) -> None:
        self.truth += other.truth
        self.detected += other.detected
        self.hits += other.hits
        self.errors += other.errors

    @property
    def precision(self) -> float:
        return self.hits / self.detected if self.detected else float("nan")

    @property
    def recall(self) -> float:
        return self.hits / self.truth if self.truth else float("nan")

    @property
    def f1(self) -> float:
        total = self.detected + self.truth
        return 2 * self.hits / total if total else float("nan")


RunScore = dict[str, Score]  # kind -> score of one run


def score_run(run: Run, location: str, params: DetectorParams) -> RunScore:
    """Detect on one run and match the detections to its one truth phase per kind."""
    found = detect_transitions(run.t, run.xyz, location, params)
    scores = {}
    for kind, (first, last) in run.phases.items():
        times = np.array([tr.time_s for tr in found if tr.kind == kind])
        inside = times[(times >= first - TOLERANCE_S) & (times <= last + TOLERANCE_S)]
        middle = (first + last) / 2
        errors = [float(inside[np.argmin(np.abs(inside - middle))] - middle)] \
            if len(inside) else []
        scores[kind] = Score(1, len(times), len(errors), errors)
    return scores


def total(scores: Iterable[tuple[Run, RunScore]], complete_only: bool = False) -> RunScore:
    summed = {kind: Score() for kind in KINDS}
    for run, score in scores:
        for kind in KINDS:
            if not complete_only or run.complete(kind):
                summed[kind].add(score[kind])
    return summed


def pooled_f1(scores: RunScore) -> float:
    both = Score()
    for score in scores.values():
        both.add(score)
    return both.f1


def grid_points(location: str) -> list[DetectorParams]:
    return [replace(PARAMS[location], **dict(zip(GRID, values, strict=True)))
            for values in itertools.product(*GRID.values())]


def leave_one_subject_out(
    runs: list[Run], location: str
) -> tuple[list[tuple[Run, RunScore]], Counter[DetectorParams]]:
    """Held-out scores of every run, and how often each grid point was picked."""
    points = grid_points(location)
    per_point = [[score_run(run, location, p) for run in runs]
                 for p in tqdm(points, desc=f"{location}: grid", unit="point")]
    held_out: list[tuple[Run, RunScore]] = []
    picked: Counter[DetectorParams] = Counter()
    for subject in sorted({run.subject for run in runs}):
        train = [i for i, run in enumerate(runs) if run.subject != subject]
        best = max(range(len(points)), key=lambda p: pooled_f1(
            total((runs[i], per_point[p][i]) for i in train)))
        picked[points[best]] += 1
        held_out += [(run, per_point[best][i]) for i, run in enumerate(runs)
                     if run.subject == subject]
    return held_out, picked


def table_rows(location: str, setting: str, scores: RunScore) -> list[str]:
    rows = []
    for kind, s in scores.items():
        errors = np.asarray(s.errors or [np.nan])
        rows.append(
            f"| {location} | {setting} | {kind} | {s.truth} | {s.detected} | {s.hits} "
            f"| {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} "
            f"| {np.median(np.abs(errors)):.2f} | {np.median(errors):+.2f} |")
    return rows


def describe(params: DetectorParams) -> str:
    return ", ".join(f"{name} {getattr(params, name):g}" for name in GRID)


def false_alarm_rows(path: Path, location: str, params: DetectorParams) -> list[str]:
    """Detections per hour in the WISDM blocks, stated-posture activities and the rest."""
    frame = pd.read_parquet(path, filters=[("device", "==", location)])
    per_subject: dict[bool, dict[int, list[float]]] = {True: {}, False: {}}
    blocks = frame.groupby(["subject", "label"], observed=True)
    for (subject, label), block in tqdm(blocks, desc=f"{location}: WISDM", unit="block"):
        t = block["t"].to_numpy() / 1e9
        found = detect_transitions(t, block[["acc_x", "acc_y", "acc_z"]].to_numpy(), location,
                                   params)
        counts = per_subject[label in STATED_POSTURE].setdefault(int(subject), [0.0, 0.0])
        counts[0] += len(found)
        counts[1] += (t[-1] - t[0]) / 3600
    rows = []
    for stated, name in ((True, "stated posture"), (False, "posture not stated")):
        table = np.array(list(per_subject[stated].values()))  # detections, hours
        rate = table[:, 0] / table[:, 1]
        rows.append(
            f"| {location} | {name} | {len(table)} | {table[:, 1].sum():.1f} "
            f"| {table[:, 0].sum():.0f} | {table[:, 0].sum() / table[:, 1].sum():.1f} "
            f"| {np.median(rate):.1f} | {(table[:, 0] == 0).sum()} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", nargs="+", choices=sorted(PARAMS), default=sorted(PARAMS))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--wisdm", type=Path, default=WISDM)
    args = parser.parse_args()

    rows: dict[str, list[str]] = {"all": [], "complete": [], "false": []}
    for location in args.locations:
        runs = load_runs(args.data, location)
        subjects = len({run.subject for run in runs})
        print(f"{location}: {len(runs)} runs from {subjects} subjects")
        held_out, picked = leave_one_subject_out(runs, location)
        print(f"{location}: thresholds picked by the {subjects} held-out folds:")
        for params, count in picked.most_common():
            print(f"  {count:2d} x {describe(params)}")
        print(f"{location}: shipped: {describe(PARAMS[location])}")
        shipped = [(run, score_run(run, location, PARAMS[location])) for run in runs]
        rows["all"] += table_rows(location, "held-out", total(held_out))
        rows["all"] += table_rows(location, "shipped", total(shipped))
        rows["complete"] += table_rows(location, "held-out", total(held_out, True))
        rows["false"] += false_alarm_rows(args.wisdm, location, PARAMS[location])

    print(f"\nTolerance: a detection of the right kind within the labelled phase "
          f"+-{TOLERANCE_S:g} s, each truth matched once; timing error (s) = detection - "
          "middle of the phase.")
    header = ("| location | thresholds | kind | truth | detections | TP | precision | recall "
              "| F1 | median abs error s | median error s |\n" + "|---" * 11 + "|")
    print(f"\nAll runs:\n{header}\n" + "\n".join(rows["all"]))
    print(f"\nComplete phases only (phase more than {EDGE_S:g} s from both ends of the "
          f"recording):\n{header}\n" + "\n".join(rows["complete"]))
    print("\nFalse alarms in WISDM blocks without transitions (shipped thresholds):\n"
          "| location | activities | subjects | hours | detections | per hour "
          "| median subject per hour | subjects with none |\n" + "|---" * 8 + "|\n"
          + "\n".join(rows["false"]))


if __name__ == "__main__":
    main()
