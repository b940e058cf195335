"""How much a one-minute-per-posture calibration helps, measured on people never trained on.

Usage: python scripts/evaluate_calibration.py [--locations waist wrist thigh] [--quick]
                                              [--as-routine]

A full run takes about 4 minutes on two shared cores; --quick (9 subjects per location,
3 folds, small models) about 1 minute.

For each wear location, leave subjects out exactly as `train` evaluates (tracker.model:
same TrainingConfig, five outer folds over subjects, HMM self-transition chosen inside
each training fold).  In each fold the base model is fitted on the training subjects;
every held-out subject then "does the routine": its first 12 labelled 5 s windows of
sitting, standing and walking (from the activities whose posture the dataset states),
each posture one segment of its own as the routine records it.  `fit_personal` adapts
the base model to those windows, and the rest of the subject's windows are scored with
and without the adaptation (macro-F1 over sitting / standing / walking, smoothed within
segments, as `train` scores; a posture with no windows left to score, as sitting for
some waist subjects, is left out of the average rather than counted as 0).  With
--as-routine each posture's first window is left out of the calibration (the routine's
5 s of settling into the posture), which is then the next 11 windows; that first window
is scored with the rest.  "95 % over people" is a bootstrap interval drawing held-out
people with replacement (tracker/scores.py).  "And one correction": each held-out subject
then also marks the longest run of scored windows the calibrated model labels wrong (as on
the dashboard's Accuracy page), the personal model is refitted on the routine plus that
span, and the windows left are scored.

The personal ridge is chosen in each fold on the training subjects only: the same
routine is simulated for every training subject with the inner-fold model that was not
fitted on them (the inner split `train` uses to choose the self-transition), and the
ridge with the lowest log-loss on their remaining windows is applied to the held-out
subjects.  The weight of the personal scores (1), the Student-t degrees of freedom, the
feature set and the safety check are fixed (see tracker/personal.py).

Caveat on the data: in WISDM (wrist, thigh) each activity is one 3-minute block, so the
scored sitting and standing windows come from the same block as the calibration minute,
with the device in the same place; at the waist (HAPT) bouts are 10-20 s and most of a
subject's sitting and standing windows are in the calibration minute itself, so the
rest is mostly walking and lying.  HAPT's second recording of each subject was made
with the phone where the subject chose to wear it, so at the waist the calibration and
the scored windows are often from different placements; the last line per location gives,
for each subject, the angle between the device's mean orientation while walking in the
calibration and in the scored windows (walking is upright, so it shows a changed
placement rather than a changed posture).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from tracker.calibration import SETTLE_S
from tracker.features import feature_indices
from tracker.model import (
    MAIN_CLASSES,
    TrainingConfig,
    _choose_self_transition,
    _fit,
    _posture_model,
    _smoothed,
    classifier_proba,
    training_design,
)
from tracker.personal import (
    DEFAULT_SETTINGS,
    PersonalForest,
    PersonalSettings,
    _into_placement,
    _walking_upright,
    fit_personal_features,
)
from tracker.posture_model import PostureModel
from tracker.scores import macro_f1, subject_interval
from tracker.training_data import (
    GENUINE_SOURCES,
    LOCATIONS,
    LabelledWindows,
)

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
CALIBRATION_WINDOWS = 12  # one minute of 5 s windows per posture
# The ridge is chosen per fold; the weight is 1 and whether the placement is followed
# is the location's (see tracker/personal.py).
RIDGE_GRID = (0.05, 0.1, 0.2)


def settings_grid(location: str) -> tuple[PersonalSettings, ...]:
    return tuple(replace(DEFAULT_SETTINGS[location], ridge=r) for r in RIDGE_GRID)


QUICK = TrainingConfig(outer_folds=3, inner_folds=2, max_iter=30, grid_offsets=(0.0,),
                       self_transition_grid=(0.9, 0.99))
QUICK_SUBJECTS = 9


@dataclass
class Subject:
    """One subject's run-grid windows under a base model not fitted on them."""

    subject: int
    base: PostureModel
    rows: np.ndarray  # indices of the subject's run-grid windows, in time order
    base_proba: np.ndarray  # (len(rows), C), full-segment context as at run time
    calibration: np.ndarray  # positions in rows of the routine's windows
    scored: np.ndarray  # positions in rows of the genuine labelled windows left to score


@dataclass
class Outcome:
    truth: np.ndarray
    without: np.ndarray
    with_: np.ndarray
    switched_off: bool
    walking_turn_deg: float  # walking orientation, calibration vs scored windows (NaN: none)
    # After the wearer also corrects the longest run of wrong windows (which then is no
    # longer scored): truth and labels without any personal model, and with it.
    corrected: tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class LocationResult:
    location: str
    per_subject: list[tuple[int, float, float]]  # subject, macro-F1 without, with
    walking_turn_deg: dict[int, float]  # subject: see Outcome
    macro_without: float
    macro_with: float
    interval_without: tuple[float, float]  # 95 % bootstrap over people
    interval_with: tuple[float, float]
    # Calibration plus one correction (the longest wrong run): macro-F1 without any
    # personal model and with it, on the windows left after the corrected span.
    corrected_without: float
    corrected_with: float
    n_scored: int
    chosen: list[PersonalSettings]
    switched_off: int
    seconds: float
    errors: dict[str, tuple[int, int, int]]  # posture: scored windows, wrong without, with

    def table(self) -> str:
        without = np.array([w for _, w, _ in self.per_subject])
        with_ = np.array([c for _, _, c in self.per_subject])
        worse = int((with_ < without - 1e-9).sum())
        better = int((with_ > without + 1e-9).sum())
        lines = [
            f"== {self.location}: {len(self.per_subject)} subjects, {self.n_scored} scored "
            f"windows, {len(self.chosen)} folds, {self.seconds:.0f} s",
            f"{'':22s}{'macro-F1':>10s}{'subject min':>13s}{'subject mean':>14s}",
            f"{'without calibration':22s}{self.macro_without:10.3f}{without.min():13.3f}"
            f"{without.mean():14.3f}   95 % over people {_interval(self.interval_without)}",
            f"{'with calibration':22s}{self.macro_with:10.3f}{with_.min():13.3f}"
            f"{with_.mean():14.3f}   95 % over people {_interval(self.interval_with)}",
            f"{'... and one correction':22s}{self.corrected_with:10.3f}   (without a personal "
            f"model on the same windows {self.corrected_without:.3f})",
            f"subjects worse / better / unchanged: {worse} / {better} / "
            f"{len(with_) - worse - better}; personal part switched off by its own check "
            f"for {self.switched_off}",
            "scored windows, wrong without -> with: "
            + ", ".join(f"{c} {n}: {a} -> {b}" for c, (n, a, b) in self.errors.items()),
            "settings chosen on training subjects per fold: "
            + ", ".join(f"ridge {s.ridge:g}" for s in self.chosen),
            "per subject (without -> with): "
            + ", ".join(f"{s} {w:.3f}->{c:.3f}" for s, w, c in sorted(self.per_subject)),
            "walking orientation, calibration vs scored windows (degrees; over 10: worn "
            f"differently for {sum(t > 10 for t in self.walking_turn_deg.values())}): "
            + ", ".join(f"{s} {t:.0f}" for s, t in sorted(self.walking_turn_deg.items())),
        ]
        return "\n".join(lines)


def _interval(interval: tuple[float, float]) -> str:
    return f"{interval[0]:.3f}-{interval[1]:.3f}"


def _subjects(
    data: LabelledWindows, x: np.ndarray, base: PostureModel, subjects: np.ndarray,
    first: int = 0,
) -> list[Subject]:
    """``first``: how many of each posture's first windows to leave out of the routine."""
    run_grid = data.offsets == 0
    genuine = (data.labels != "") & np.isin(data.sources, list(GENUINE_SOURCES))
    out = []
    for s in subjects:
        rows = np.flatnonzero(run_grid & (data.subjects == s))
        calibration = np.concatenate([
            np.flatnonzero(genuine[rows] & (data.labels[rows] == c))[first:CALIBRATION_WINDOWS]
            for c in MAIN_CLASSES
        ])
        scored = np.setdiff1d(np.flatnonzero(genuine[rows]), calibration)
        proba = base.design_proba(x[rows])
        out.append(Subject(int(s), base, rows, proba, calibration, scored))
    return out


def _calibrate(data: LabelledWindows, case: Subject, settings: PersonalSettings) -> Outcome:
    """Fit the personal model on the routine's windows and label the subject's windows."""
    cal_rows = case.rows[case.calibration]
    personal, with_ = _personal_labels(data, case, settings, case.calibration,
                                       _routine_segments(data, case))
    truth = data.labels[case.rows]
    without = np.asarray(case.base.classes)[
        _smoothed(case.base_proba, data.segments[case.rows], case.base.self_transition)]
    return Outcome(
        truth=truth[case.scored],
        without=without[case.scored],
        with_=with_[case.scored],
        switched_off=not personal.active,
        walking_turn_deg=_walking_turn_deg(data, cal_rows, case.rows[case.scored]),
        corrected=_with_one_correction(data, case, settings, with_, without),
    )


def _with_one_correction(data: LabelledWindows, case: Subject, settings: PersonalSettings,
                         with_: np.ndarray, without: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The wearer marks the longest run of scored windows the calibrated model labels
    wrong (as on the dashboard's Accuracy page); the personal model is refitted on the
    routine plus that span and scored on the remaining windows."""
    truth = data.labels[case.rows]
    wrong = case.scored[with_[case.scored] != truth[case.scored]]
    if len(wrong) == 0:
        return truth[case.scored], without[case.scored], with_[case.scored]
    segments_all = data.segments[case.rows]
    breaks = np.flatnonzero((np.diff(wrong) != 1)
                            | (segments_all[wrong[1:]] != segments_all[wrong[:-1]])) + 1
    run = max(np.split(wrong, breaks), key=len)
    stated = np.concatenate((case.calibration, run))
    segments = np.r_[[MAIN_CLASSES.index(label) for label in truth[case.calibration]],
                     np.full(len(run), len(MAIN_CLASSES))]
    _, after = _personal_labels(data, case, settings, stated, segments)
    left = np.setdiff1d(case.scored, run)
    return truth[left], without[left], after[left]


def _routine_segments(data: LabelledWindows, case: Subject) -> np.ndarray:
    """The routine records each posture as its own segment: context stays inside it."""
    return np.array([MAIN_CLASSES.index(label)
                     for label in data.labels[case.rows[case.calibration]]])


def _personal_proba(data: LabelledWindows, case: Subject, settings: PersonalSettings,
                    stated: np.ndarray, segments: np.ndarray
                    ) -> tuple[PersonalForest, np.ndarray]:
    """Fit the personal model on the subject's ``stated`` windows (positions in rows, in
    ``segments``); its posteriors for all the subject's windows, each recording (segment)
    adjusted as a whole, as the pipeline does."""
    features = data.features[case.rows]
    examples = _routine_in_one_placement(data, case, settings, features)[stated]
    personal = fit_personal_features(case.base, examples, data.labels[case.rows[stated]],
                                     segments, settings).personal
    return personal, personal.adjust(case.base_proba, features[:, personal.columns],
                                     data.segments[case.rows])


def _routine_in_one_placement(data: LabelledWindows, case: Subject,
                              settings: PersonalSettings, features: np.ndarray) -> np.ndarray:
    """The subject's features with the routine's windows turned into the placement of its
    walking minute, where the placement is followed.  The routine is one wear of the band;
    HAPT's first minute of a posture can span both recordings, worn differently, so its
    windows are turned by their recording's upright first, as the pipeline turns windows
    at run time (a wearer's corrections are not: they enter as `train --personal` reads
    them, each span on its own)."""
    routine = case.calibration
    labels = data.labels[case.rows]
    target = _walking_upright(features[routine], labels[routine], settings)
    placed, _ = _into_placement(features, labels, data.segments[case.rows], case.base_proba,
                                tuple(str(c) for c in case.base.classes), target)
    out = np.array(features, dtype=np.float64)
    out[routine] = placed[routine]
    return out


def _personal_labels(data: LabelledWindows, case: Subject, settings: PersonalSettings,
                     stated: np.ndarray, segments: np.ndarray
                     ) -> tuple[PersonalForest, np.ndarray]:
    """As :func:`_personal_proba`, as labels smoothed as shown."""
    personal, proba = _personal_proba(data, case, settings, stated, segments)
    labels = np.asarray(case.base.classes)[
        _smoothed(proba, data.segments[case.rows], case.base.self_transition)]
    return personal, labels


def _log_loss(data: LabelledWindows, cases: list[Subject], settings: PersonalSettings) -> float:
    """Mean -log of the calibrated posterior of the true posture over the scored windows."""
    total, count = 0.0, 0
    for case in cases:
        _, proba = _personal_proba(data, case, settings, case.calibration,
                                   _routine_segments(data, case))
        column = {c: k for k, c in enumerate(case.base.classes)}
        truth = data.labels[case.rows[case.scored]]
        p = proba[case.scored, [column[c] for c in truth]]
        total -= float(np.log(np.maximum(p, 1e-12)).sum())
        count += len(p)
    return total / max(count, 1)


def _walking_turn_deg(data: LabelledWindows, calibration: np.ndarray,
                      scored: np.ndarray) -> float:
    """Angle between the mean gravity direction of the calibration's walking windows and
    of the scored ones: walking is upright, so a large angle means the device was worn
    differently (HAPT's second recording), a small one the same way."""
    gravity = feature_indices(("grav_x", "grav_y", "grav_z"))

    def direction(rows: np.ndarray) -> np.ndarray | None:
        walking = rows[data.labels[rows] == "walking"]
        if len(walking) == 0:
            return None
        mean = data.features[walking][:, gravity].astype(np.float64).mean(axis=0)
        return np.asarray(mean / np.linalg.norm(mean))

    a, b = direction(calibration), direction(scored)
    if a is None or b is None:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(a @ b, -1.0, 1.0))))


def _pooled(outcomes: list[Outcome]) -> tuple[float, float]:
    truth = np.concatenate([o.truth for o in outcomes])
    return (macro_f1(truth, np.concatenate([o.without for o in outcomes])),
            macro_f1(truth, np.concatenate([o.with_ for o in outcomes])))


def _choose(data: LabelledWindows, cases: list[Subject], location: str
            ) -> tuple[PersonalSettings, float, float]:
    """The setting with the lowest log-loss on the training subjects' scored windows.
    A continuous score: their smoothed macro-F1 is the same for every setting in many
    folds (most people are labelled right either way), and which of the tied settings
    wins then changed the held-out figures by up to 0.04.  Returns the setting, the
    training subjects' macro-F1 without and with it."""
    grid = settings_grid(location)
    losses = [_log_loss(data, cases, settings) for settings in grid]
    best = grid[int(np.argmin(losses))]
    without, with_ = _pooled([_calibrate(data, case, best) for case in cases])
    return best, without, with_


def evaluate_location(location: str, data_dir: Path, quick: bool,
                      as_routine: bool = False) -> LocationResult:
    started = time.perf_counter()
    config = QUICK if quick else TrainingConfig()
    first = round(SETTLE_S / config.window_s) if as_routine else 0
    # With the training-only sequences (offset -1: trained on, never scored).
    data, x = training_design(location, data_dir, config,
                              QUICK_SUBJECTS if quick else None)
    labelled, run_grid = data.labels != "", data.offsets == 0
    classes = np.array(sorted(set(data.labels[labelled])))
    subjects = np.unique(data.subjects)
    print(f"{location}: {len(subjects)} subjects, {run_grid.sum()} run-grid windows, "
          f"loaded in {time.perf_counter() - started:.0f} s", flush=True)

    outcomes: list[Outcome] = []
    per_subject: list[tuple[int, float, float]] = []
    chosen: list[PersonalSettings] = []
    outer = GroupKFold(n_splits=min(config.outer_folds, len(subjects)))
    for fold, (train_idx, test_idx) in enumerate(outer.split(subjects, groups=subjects)):
        train_subjects = subjects[train_idx]
        train = np.isin(data.subjects, train_subjects)
        # Inner split as in model._out_of_fold_proba, keeping each inner model: it is the
        # "base never fitted on this subject" of the training subjects' simulated routines.
        inner_proba = np.full((len(x), len(classes)), np.nan)
        inner_fits = []
        inner = GroupKFold(n_splits=min(config.inner_folds, len(train_subjects)))
        for fit_idx, held_idx in inner.split(train_subjects, groups=train_subjects):
            fit_rows = train & labelled & np.isin(data.subjects, train_subjects[fit_idx])
            pipeline = _fit(x[fit_rows], data.labels[fit_rows], config)
            held_rows = train & run_grid & np.isin(data.subjects, train_subjects[held_idx])
            inner_proba[held_rows] = classifier_proba(pipeline, x[held_rows], location, config)
            inner_fits.append((pipeline, train_subjects[held_idx]))
        rows = train & run_grid
        p = _choose_self_transition(inner_proba[rows], data.labels[rows], data.segments[rows],
                                    classes, config.self_transition_grid)
        inner_cases = [
            case
            for pipeline, held in inner_fits
            for case in _subjects(data, x, _posture_model(location, config, pipeline, p).compact(),
                                  held, first)
        ]
        settings, inner_without, inner_with = _choose(data, inner_cases, location)
        chosen.append(settings)

        pipeline = _fit(x[train & labelled], data.labels[train & labelled], config)
        base = _posture_model(location, config, pipeline, p).compact()
        for case in _subjects(data, x, base, subjects[test_idx], first):
            outcome = _calibrate(data, case, settings)
            outcomes.append(outcome)
            per_subject.append((case.subject,
                                macro_f1(outcome.truth, outcome.without),
                                macro_f1(outcome.truth, outcome.with_)))
        without, with_ = _pooled(outcomes[-len(test_idx):])
        print(f"  fold {fold + 1}/{outer.get_n_splits()}: held out "
              f"{[int(s) for s in subjects[test_idx]]}, self-transition {p:g}, "
              f"chosen ridge {settings.ridge:g} "
              f"(training subjects {inner_without:.3f} -> {inner_with:.3f}), "
              f"held out {without:.3f} -> {with_:.3f}, "
              f"{time.perf_counter() - started:.0f} s", flush=True)

    without, with_ = _pooled(outcomes)
    truth = np.concatenate([o.truth for o in outcomes])
    people = np.concatenate([np.full(len(o.truth), s) for (s, _, _), o in
                             zip(per_subject, outcomes, strict=True)])
    before = truth != np.concatenate([o.without for o in outcomes])
    after = truth != np.concatenate([o.with_ for o in outcomes])
    errors = {str(c): (int((truth == c).sum()), int(before[truth == c].sum()),
                       int(after[truth == c].sum())) for c in np.unique(truth)}
    return LocationResult(
        location=location, per_subject=per_subject, macro_without=without, macro_with=with_,
        walking_turn_deg={s: o.walking_turn_deg for (s, _, _), o in
                          zip(per_subject, outcomes, strict=True)},
        interval_without=subject_interval(
            truth, np.concatenate([o.without for o in outcomes]), people),
        interval_with=subject_interval(
            truth, np.concatenate([o.with_ for o in outcomes]), people),
        corrected_without=macro_f1(*(np.concatenate([o.corrected[k] for o in outcomes])
                                     for k in (0, 1))),
        corrected_with=macro_f1(*(np.concatenate([o.corrected[k] for o in outcomes])
                                  for k in (0, 2))),
        n_scored=sum(len(o.truth) for o in outcomes), chosen=chosen,
        switched_off=sum(o.switched_off for o in outcomes),
        seconds=time.perf_counter() - started, errors=errors,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", nargs="+", choices=LOCATIONS, default=list(LOCATIONS))
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--quick", action="store_true",
                        help=f"first {QUICK_SUBJECTS} subjects, 3 folds, small models")
    parser.add_argument("--as-routine", action="store_true",
                        help=f"leave out each posture's first {SETTLE_S:g} s, as `calibrate` "
                             "does (the calibration is then the next 55 s)")
    args = parser.parse_args()
    started = time.perf_counter()
    results = []
    for location in args.locations:
        result = evaluate_location(location, args.data, args.quick, args.as_routine)
        print(result.table(), flush=True)
        results.append(result)
    print("\n| location | subjects | macro-F1 without | with calibration | 95 % over people "
          "without / with | subject min without / with | subjects worse | and one "
          "correction |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        without = min(w for _, w, _ in r.per_subject)
        with_ = min(c for _, _, c in r.per_subject)
        worse = sum(c < w - 1e-9 for _, w, c in r.per_subject)
        print(f"| {r.location} | {len(r.per_subject)} | {r.macro_without:.3f} | "
              f"{r.macro_with:.3f} | {_interval(r.interval_without)} / "
              f"{_interval(r.interval_with)} | {without:.3f} / {with_:.3f} | {worse} | "
              f"{r.corrected_with:.3f} |")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
