"""Are short walks between two sitting bouts found?  (They are breaks in SBRN terms.)

Usage: python scripts/evaluate_breaks.py [--locations wrist thigh]

For each WISDM subject (wrist, thigh): 80 s of their sitting, K s of their walking, 80 s
more sitting, joined end to end and classified with the shipped model; a break is found
when any window over the walk is not called sitting.  Printed per smoothing strength
(HMM self-transition), with the shipped model's own marked, together with the windows
outside the walk called something else than sitting (false breaks).

Caveats: the shipped models were trained on these people, so this measures what the
smoothing and the neighbour context do to a short walk, not accuracy on new people; and
in WISDM the phone was put back in the pocket between activities, so the joins are
cleaner or harsher than real standing up.  Takes a few seconds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from tracker.labels import SITTING
from tracker.posture_model import load_default_model
from tracker.signal import split_segments, window_view
from tracker.smoothing import sticky_transition, viterbi
from tracker.training_data import WISDM_FILE

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
WALK_S = (10, 15, 20, 30, 45, 60)
SELF_TRANSITIONS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.995)
SIT_S = 80  # sitting before and after the walk
RATE_HZ = 20.0  # WISDM's rate, about


def _sequences(location: str) -> list[tuple[int, int, np.ndarray]]:
    """(subject, walk seconds, samples) for every subject with enough of both."""
    frame = pd.read_parquet(DATA_DIR / WISDM_FILE, filters=[("device", "==", location)])
    out = []
    for subject, rows in frame.groupby("subject"):
        names = rows["label"].astype(str)

        def block(name: str, rows: pd.DataFrame = rows, names: pd.Series = names) -> np.ndarray:
            part = rows[names == name].sort_values("t")
            return part[["acc_x", "acc_y", "acc_z"]].to_numpy(np.float32)

        sitting, walking = block("sitting"), block("walking")
        n = int(RATE_HZ)
        if len(sitting) < n * (2 * SIT_S + 10) or len(walking) < n * (20 + max(WALK_S)):
            continue
        for seconds in WALK_S:
            samples = np.vstack([sitting[:n * SIT_S], walking[n * 20:n * (20 + seconds)],
                                 sitting[n * (SIT_S + 10):n * (2 * SIT_S + 10)]])
            out.append((int(subject), seconds, samples))
    return out


def evaluate(location: str) -> None:
    model = load_default_model(location, compact=True)
    classes = np.array(model.classes)
    found: dict[tuple[int, float], list[bool]] = {}
    false_windows: dict[float, list[int]] = {}
    for _, seconds, samples in _sequences(location):
        (segment,) = split_segments(np.arange(len(samples)) / RATE_HZ, samples, model.rate_hz)
        proba = model.predict_proba(window_view(segment, model.window_s))
        first = int(SIT_S // model.window_s)  # first window touching the walk
        last = first + int(np.ceil(seconds / model.window_s))
        for p in SELF_TRANSITIONS:
            labels = classes[viterbi(proba, sticky_transition(len(classes), p))]
            found.setdefault((seconds, p), []).append(bool((labels[first:last + 1] != SITTING)
                                                           .any()))
            outside = np.r_[labels[:first - 1], labels[last + 2:]]
            false_windows.setdefault(p, []).append(int((outside != SITTING).sum()))
    people = len(found[(WALK_S[0], SELF_TRANSITIONS[0])])
    print(f"== {location}: {people} people; share of walks found, by walk length")
    print(f"{'self-transition':>16s} " + " ".join(f"{s:>5d} s" for s in WALK_S)
          + "   false break windows per 160 s of sitting")
    for p in SELF_TRANSITIONS:
        mark = " (shipped)" if abs(p - model.self_transition) < 1e-9 else ""
        print(f"{p:>16g} " + " ".join(f"{np.mean(found[(s, p)]):7.2f}" for s in WALK_S)
              + f"   {np.mean(false_windows[p]):.2f}{mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", nargs="+", choices=("wrist", "thigh"),
                        default=["wrist", "thigh"])
    for location in parser.parse_args().locations:
        evaluate(location)


if __name__ == "__main__":
    main()
