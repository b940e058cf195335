"""Macro-F1 over the main postures, and how far it would move with other people.

numpy only: the personal model scores corrections with it at run time, and the
evaluations resample it thousands of times.
"""

from __future__ import annotations

import numpy as np

from tracker.labels import SITTING, STANDING, WALKING

MAIN_POSTURES: tuple[str, ...] = (SITTING, STANDING, WALKING)


def macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 over the main postures present in ``truth``."""
    return float(_macro_f1(_counts(np.asarray(truth), np.asarray(predicted))))


def subject_interval(
    truth: np.ndarray,
    predicted: np.ndarray,
    subjects: np.ndarray,
    level: float = 0.95,
    resamples: int = 4000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the pooled macro-F1 over people.

    People, not windows, are drawn with replacement: one person's windows are alike (the
    same body, the same placement), so a figure measured on 20-30 people is only as
    certain as those people are typical.  The interval says how much the figure would
    move with another group like them."""
    truth, predicted, subjects = (np.asarray(a) for a in (truth, predicted, subjects))
    people = np.unique(subjects)
    per_person = np.stack(
        [_counts(truth[subjects == p], predicted[subjects == p]) for p in people]
    )  # (people, postures, 3)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(people), np.full(len(people), 1 / len(people)), resamples)
    totals = np.einsum("bp,pck->bck", draws, per_person)
    scores = _macro_f1(totals)
    tail = (1 - level) / 2
    low, high = np.quantile(scores, [tail, 1 - tail])
    return float(low), float(high)


def _counts(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(postures, 3): support, hits and calls of each main posture."""
    return np.array(
        [
            [(truth == c).sum(), ((truth == c) & (predicted == c)).sum(), (predicted == c).sum()]
            for c in MAIN_POSTURES
        ],
        dtype=np.float64,
    )


def _macro_f1(counts: np.ndarray) -> np.ndarray:
    """Macro-F1 from counts (..., postures, 3), averaged over postures with support;
    NaN when none has any."""
    support, hits, called = counts[..., 0], counts[..., 1], counts[..., 2]
    present = support > 0
    f1 = np.where(present, 2 * hits / np.maximum(support + called, 1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return f1.sum(axis=-1) / present.sum(axis=-1)
