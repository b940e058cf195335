"""Are short walks between two sitting bouts found?  (They are breaks in SBRN terms.)

Usage: python scripts/evaluate_breaks.py [--locations wrist thigh] [--held-out]
                                        [--[no-]short-walks] [--between walking|standing]

For each WISDM subject (wrist, thigh): 80 s of their sitting, K s of their walking, 80 s
more sitting, joined end to end and classified; a break is found when any window over
the walk is not called sitting (`--between standing`: K s of their standing instead).
K = 0 joins the two sittings with nothing between: what is "found" there is a false
break.  Printed per smoothing strength (HMM self-transition), with the shipped model's
own marked, together with the windows outside the walk called something else than
sitting (false break windows).

By default the shipped models classify, and they were trained on these people: that
measures what the smoothing and the neighbour context do to a short walk.  --held-out
fits the shipped recipe once per fold of five without the fold's people and classifies
each person with the model that never saw them (about a minute per location).  In WISDM
the phone was put back in the pocket between activities, so the joins are cleaner or
harsher than real standing up.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from tracker.labels import SITTING
from tracker.model import TrainingConfig, fold_models
from tracker.posture_model import PostureModel, load_default_model
from tracker.signal import split_segments, window_view
from tracker.smoothing import sticky_transition, viterbi
from tracker.training_data import WISDM_FILE

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
WALK_S = (10, 15, 20, 30, 45, 60)
SELF_TRANSITIONS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.995)
SIT_S = 80  # sitting before and after the walk
RATE_HZ = 20.0  # WISDM's rate, about


def _sequences(location: str, between: str) -> list[tuple[int, int, np.ndarray]]:
    """(subject, seconds of `between`, samples) for every subject with enough of both."""
    frame = pd.read_parquet(DATA_DIR / WISDM_FILE, filters=[("device", "==", location)])
    out = []
    for subject, rows in frame.groupby("subject"):
        names = rows["label"].astype(str)

        def block(name: str, rows: pd.DataFrame = rows, names: pd.Series = names) -> np.ndarray:
            part = rows[names == name].sort_values("t")
            return part[["acc_x", "acc_y", "acc_z"]].to_numpy(np.float32)

        sitting, walking = block("sitting"), block(between)
        n = int(RATE_HZ)
        if len(sitting) < n * (2 * SIT_S + 10) or len(walking) < n * (20 + max(WALK_S)):
            continue
        for seconds in (0, *WALK_S):
            samples = np.vstack([sitting[:n * SIT_S], walking[n * 20:n * (20 + seconds)],
                                 sitting[n * (SIT_S + 10):n * (2 * SIT_S + 10)]])
            out.append((int(subject), seconds, samples))
    return out


def _models(location: str, held_out: bool,
            short_walks: bool | None) -> list[tuple[set[int] | None, PostureModel]]:
    """(the people each model is to classify, None for all; the model)."""
    if not held_out:
        return [(None, load_default_model(location))]
    shipped = load_default_model(location).self_transition
    return list(fold_models(location, DATA_DIR, TrainingConfig(short_walks=short_walks),
                            self_transition=shipped))


def evaluate(location: str, held_out: bool, short_walks: bool | None = None,
             between: str = "walking") -> None:
    found: dict[tuple[int, float], list[bool]] = {}
    false_windows: dict[float, list[int]] = {}
    models = _models(location, held_out, short_walks)
    for subject, seconds, samples in _sequences(location, between):
        model = next(m for people, m in models if people is None or subject in people)
        classes = np.array(model.classes)
        (segment,) = split_segments(np.arange(len(samples)) / RATE_HZ, samples, model.rate_hz)
        proba = model.predict_proba(window_view(segment, model.window_s))
        first = int(SIT_S // model.window_s)  # first window touching the walk
        last = first + int(np.ceil(seconds / model.window_s))
        for p in SELF_TRANSITIONS:
            labels = classes[viterbi(proba, sticky_transition(len(classes), p))]
            found.setdefault((seconds, p), []).append(bool((labels[first:last + 1] != SITTING)
                                                           .any()))
            if seconds:
                outside = np.r_[labels[:first - 1], labels[last + 2:]]
                false_windows.setdefault(p, []).append(int((outside != SITTING).sum()))
    people = len(found[(0, SELF_TRANSITIONS[0])])
    whose = "held out" if held_out else "shipped models, trained on them"
    if held_out and short_walks is not None:
        whose += ", trained with short walks" if short_walks else ", trained without short walks"
    print(f"== {location}: {people} people ({whose}); share of {between} breaks found, by "
          f"length (0 s: no {between}, a false break)")
    print(f"{'self-transition':>16s} " + " ".join(f"{s:>5d} s" for s in (0, *WALK_S))
          + "   false break windows per 160 s of sitting")
    shipped = models[0][1].self_transition
    for p in SELF_TRANSITIONS:
        mark = " (shipped)" if abs(p - shipped) < 1e-9 else ""
        print(f"{p:>16g} " + " ".join(f"{np.mean(found[(s, p)]):7.2f}" for s in (0, *WALK_S))
              + f"   {np.mean(false_windows[p]):.2f}{mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", nargs="+", choices=("wrist", "thigh"),
                        default=["wrist", "thigh"])
    parser.add_argument("--held-out", action="store_true",
                        help="classify each person with a model fitted without them")
    parser.add_argument("--short-walks", action=argparse.BooleanOptionalAction,
                        help="with --held-out: fit the recipe with (or without) short-walk "
                        "sequences (training_data.with_short_walks), for comparison; "
                        "default: as the location ships (wrist with, thigh without)")
    parser.add_argument("--between", choices=("walking", "standing"), default="walking",
                        help="what interrupts the sitting (default: a walk)")
    args = parser.parse_args()
    for location in args.locations:
        evaluate(location, args.held_out, args.short_walks, args.between)


if __name__ == "__main__":
    main()
