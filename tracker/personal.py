"""Personal calibration: the shipped model of a wear location, adapted to one wearer.

A minute each of sitting, standing and walking (the guided routine), and later the spans
the wearer corrects in the dashboard, show how *this* band sits on *this* person: the
direction gravity takes in each posture, how still they sit, how they walk.  The shipped
trees were fitted on other people and only on orientation cues that hold across people
(at the wrist and thigh not even the signed gravity components), so these few examples
carry information the trees cannot have.

Method (chosen by leave-subjects-out evaluation, ``scripts/evaluate_calibration.py``):

* a class-conditional model of the person's windows over all base features
  (:data:`~tracker.features.FEATURE_NAMES`, signed gravity included): one mean per
  posture and one shared covariance, widened by a ridge of ``ridge**2`` times each
  feature's overall variance (36 windows cannot estimate 17 x 17 covariances, and one
  still minute would otherwise make sitting look impossibly narrow);
* Student-t rather than Gaussian scores (``dof``): a window far from every calibrated
  posture (fiddling with the band, an activity never shown) shifts the odds in
  proportion to the log of its distance, not its square, so it cannot overrule the
  trees on its own;
* combined with the base posteriors as ``log p_base + score``, renormalised *within the
  postures the person showed*: a posture without examples (lying at the waist, a class
  the user skipped) keeps exactly its base probability.  The personal score enters at
  weight 1, as Bayes' rule multiplies a prior (the shipped model) by a likelihood (the
  person's examples).  A weight tuned per location was tried and dropped: chosen on
  training subjects, it flipped between folds (at the waist between 3 and 0), a sign
  that the data cannot pin it down;
* at the waist, the band's placement is followed (:mod:`tracker.alignment`): the
  calibration keeps the band's upright while walking, and each stretch of wear with half
  a minute of walking has its gravity turned back by the turn between its own upright and
  the calibration's before it is scored, so a band clipped on again a little differently
  keeps its calibration (on HAPT, where each person's second recording was made with the
  phone worn differently, this fixed the one person the calibration had failed).  Other
  placements have no recordings of walking and postures in one wear to check it on, so
  it is off there;
* a safety check on the examples themselves: both models label each half of the
  examples (interleaved windows) with the personal part fitted on the other half,
  smoothed as shown; if the personal part makes more errors than the base alone, it is
  switched off and the model behaves exactly as the shipped one.

Everything here is numpy: the collector loads and runs personal models without
scikit-learn or SciPy.  A personal model is one ``.personal.npz`` file holding the base
trees too, loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from tracker.alignment import turn_between, turned, upright
from tracker.features import FEATURE_NAMES, window_features
from tracker.forest import CompactForest
from tracker.labels import WALKING
from tracker.posture_model import PERSONAL_SUFFIX as PERSONAL_SUFFIX  # re-exported
from tracker.posture_model import PostureModel, with_meta
from tracker.scores import macro_f1
from tracker.smoothing import sticky_transition, viterbi

FORMAT_VERSION = 2  # 2 added the calibration's upright; files of format 1 still load
_READABLE_FORMATS = (1, 2)
# A posture needs half a minute of examples before its mean is trusted; with fewer it
# keeps the base behaviour, as if it were missing.
MIN_WINDOWS_PER_CLASS = 6
_FLOOR = 1e-12  # probability floor before taking logs, as in tracker.smoothing
_VARIANCE_FLOOR = 1e-6  # a feature constant over all examples must not make Sigma singular


@dataclass(frozen=True)
class PersonalSettings:
    """How strongly the person's examples move the shipped model."""

    ridge: float = 0.05  # added within-posture spread, as a fraction of each feature's spread
    dof: float = 3.0  # Student-t degrees of freedom (small: heavy tails, robust to outliers)
    follow_placement: bool = False  # turn each stretch into the calibration's placement


# The ridge per location, chosen in the leave-subjects-out evaluation (scripts/
# evaluate_calibration.py) on training subjects only, from 0.05, 0.1 and 0.2 by log-loss:
# the value picked in most of the five outer folds (waist 4 with its placement followed,
# wrist 4, thigh 4).
DEFAULT_SETTINGS: dict[str, PersonalSettings] = {
    "waist": PersonalSettings(ridge=0.2, follow_placement=True),
    "wrist": PersonalSettings(ridge=0.2),
    "thigh": PersonalSettings(ridge=0.05),
}


@dataclass(frozen=True)
class PersonalForest:
    """The base trees plus what was learnt from one person.

    ``predict_proba`` takes the base design matrix with the person's feature columns
    appended, as one stretch of wear; :class:`PersonalModel` keeps the two apart
    (``window_numbers``) until a segment is whole."""

    forest: CompactForest
    columns: np.ndarray  # (d,) indices into FEATURE_NAMES of the personal features
    known: np.ndarray  # (n_classes,) bool: postures learnt from this person
    means: np.ndarray  # (known.sum(), d) per known posture, in class order
    precision: np.ndarray  # (d, d) inverse of the shared, widened covariance
    weight: float  # 0: the personal part is off (too few examples, or it did not help)
    dof: float
    # Unit gravity direction while walking in the calibration, in device axes; zeros: the
    # placement is not followed (see tracker.alignment).
    upright: np.ndarray = field(default_factory=lambda: np.zeros(3))

    @property
    def classes(self) -> np.ndarray:
        return self.forest.classes

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.classes)

    @property
    def active(self) -> bool:
        return self.weight > 0 and int(self.known.sum()) >= 2

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        n_base = self.forest.n_features
        if x.ndim != 2 or x.shape[1] != n_base + len(self.columns):
            raise ValueError(
                f"expected {n_base} + {len(self.columns)} feature columns, got shape {x.shape}"
            )
        return self.adjust(self.forest.predict_proba(x[:, :n_base]), x[:, n_base:])

    def adjust(self, base_proba: np.ndarray, features: np.ndarray,
               segments: np.ndarray | None = None) -> np.ndarray:
        """Base posteriors (n, C) moved by the personal scores of ``features`` (n, d),
        stretch by stretch of continuous wear (``segments``; None: all one stretch).  A
        stretch worn too differently from the calibration keeps the base posteriors."""
        if not self.active:
            return base_proba
        out = np.array(base_proba, dtype=np.float64)
        runs = [slice(0, len(out))] if segments is None else _runs(np.asarray(segments))
        for s in runs:
            placed = in_placement(base_proba[s], features[s], self.class_names, self.upright)
            if placed is not None:
                out[s] = combine(base_proba[s], self.scores(placed), self.known, self.weight)
        return out

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Student-t log-density (up to a shared constant) of each known posture (n, K)."""
        return _student_t(features, self.means, self.precision, self.dof)

    def arrays(self) -> dict[str, np.ndarray]:
        own = {
            "columns": self.columns, "known": self.known, "means": self.means,
            "precision": self.precision, "weight": np.array(self.weight),
            "dof": np.array(self.dof), "upright": self.upright,
        }
        forest = {f"forest_{k}": v for k, v in self.forest.arrays().items()}
        return {**{f"personal_{k}": np.asarray(v) for k, v in own.items()}, **forest}

    @classmethod
    def from_arrays(cls, stored: Any) -> PersonalForest:
        forest = CompactForest.from_arrays(
            {k.removeprefix("forest_"): stored[k] for k in stored if k.startswith("forest_")}
        )
        return cls(
            forest=forest,
            columns=np.asarray(stored["personal_columns"], dtype=np.intp),
            known=np.asarray(stored["personal_known"], dtype=bool),
            means=np.asarray(stored["personal_means"], dtype=np.float64),
            precision=np.asarray(stored["personal_precision"], dtype=np.float64),
            weight=float(stored["personal_weight"]),
            dof=float(stored["personal_dof"]),
            upright=np.asarray(stored.get("personal_upright", np.zeros(3)), dtype=np.float64),
        )


@dataclass
class PersonalModel(PostureModel):
    """A :class:`PostureModel` whose classifier also reads the person's feature columns."""

    def window_numbers(self, windows: np.ndarray) -> np.ndarray:
        """The base posteriors and the person's features of each window: the personal
        scores wait for the whole stretch, whose walking shows how the band sits."""
        features = window_features(windows, self.rate_hz)
        if len(features) == 0:
            return np.zeros((0, len(self.classes) + len(self.personal.columns)))
        x = PostureModel.design_matrix(self, features)
        base = self.with_step_rule(self.personal.forest.predict_proba(x), x)
        return np.hstack((base, features[:, self.personal.columns]))

    def predict_proba(self, windows: np.ndarray) -> np.ndarray:
        return self.segment_proba(self.window_numbers(windows))

    def segment_proba(self, numbers: np.ndarray) -> np.ndarray:
        n_classes = len(self.classes)
        return self.personal.adjust(numbers[:, :n_classes], numbers[:, n_classes:])

    @property
    def personal(self) -> PersonalForest:
        if not isinstance(self.pipeline, PersonalForest):
            raise TypeError("a PersonalModel needs a PersonalForest pipeline")
        return self.pipeline

    def compact(self) -> PostureModel:
        return self  # already numpy only

    def save(self, path: str | Path) -> None:
        save_personal(self, path)


# ------------------------------------------------------------------------------ fitting


def fit_personal(
    base: PostureModel,
    windows: np.ndarray,
    labels: np.ndarray,
    segments: np.ndarray | None = None,
    settings: PersonalSettings | None = None,
) -> PersonalModel:
    """Adapt ``base`` to the wearer of the labelled ``windows`` (n, L, 3) in g.

    ``labels`` are postures among ``base.classes``, or "" for windows that only give
    context; ``segments`` mark contiguous stretches (None: all one stretch).  Neighbour
    context is computed within each stretch, as at run time.  ``settings`` default to
    those evaluated for ``base.location``.
    """
    windows = np.asarray(windows)
    length = round(base.rate_hz * base.window_s)
    if windows.ndim != 3 or windows.shape[1:] != (length, 3):
        raise ValueError(
            f"expected windows of shape (n, {length}, 3) ({base.window_s:g} s at "
            f"{base.rate_hz:g} Hz, x/y/z), got {windows.shape}"
        )
    if not np.isfinite(windows).all():
        raise ValueError("windows contain NaN or infinite samples")
    features = window_features(windows, base.rate_hz)
    return fit_personal_features(base, features, labels, segments, settings)


def fit_personal_features(
    base: PostureModel,
    features: np.ndarray,
    labels: np.ndarray,
    segments: np.ndarray | None = None,
    settings: PersonalSettings | None = None,
) -> PersonalModel:
    """:func:`fit_personal` from the windows' base features (``window_features``), for
    evaluations that already have them."""
    features = np.asarray(features, dtype=np.float32)
    n = len(features)
    labels, segments = _check_labels(base, n, labels, segments)
    if features.shape != (n, len(FEATURE_NAMES)):
        raise ValueError(f"expected features of shape ({n}, {len(FEATURE_NAMES)})")
    settings = settings or DEFAULT_SETTINGS.get(base.location, PersonalSettings())
    forest = _base_forest(base)
    classes = tuple(str(c) for c in forest.classes)
    columns = np.arange(len(FEATURE_NAMES), dtype=np.intp)
    base_proba = _segment_proba(base, forest, features, segments)
    calibration_upright = _walking_upright(features, labels, settings)
    features, labels = _into_placement(features, labels, segments, base_proba, classes,
                                       calibration_upright)

    labelled = labels != ""
    x, y = features[labelled][:, columns], labels[labelled]
    known = _known(classes, y)
    means, precision = _gaussian(x, y, classes, known, settings.ridge)
    on = known.sum() >= 2 and _helps(
        base, classes, x, y, segments[labelled], base_proba[labelled], known, settings
    )
    personal = PersonalForest(
        forest=forest, columns=columns, known=known, means=means, precision=precision,
        weight=1.0 if on else 0.0, dof=settings.dof, upright=calibration_upright,
    )
    return _as_personal(base, personal)


def in_placement(base_proba: np.ndarray, features: np.ndarray, classes: tuple[str, ...],
                 calibration_upright: np.ndarray) -> np.ndarray | None:
    """Base ``features`` of one stretch of wear turned into the calibration's placement,
    by the turn between the stretch's upright while walking (its windows the base model
    calls walking) and the calibration's.  Unchanged when the placement is not followed
    or the stretch has too little walking to tell; None when the band sits too
    differently (tracker.alignment.MAX_TURN_DEG)."""
    if not calibration_upright.any() or WALKING not in classes:
        return features
    walking = np.asarray(base_proba).argmax(axis=1) == classes.index(WALKING)
    here = upright(features, walking)
    if here is None:
        return features
    rotation = turn_between(here, calibration_upright)
    return None if rotation is None else turned(features, rotation)


def _walking_upright(features: np.ndarray, labels: np.ndarray,
                     settings: PersonalSettings) -> np.ndarray:
    """The calibration's upright: gravity while the wearer said they walked (zeros when
    the placement is not followed or there is too little walking)."""
    found = upright(features, labels == WALKING) if settings.follow_placement else None
    return np.zeros(3) if found is None else found


def _into_placement(features: np.ndarray, labels: np.ndarray, segments: np.ndarray,
                    base_proba: np.ndarray, classes: tuple[str, ...],
                    calibration_upright: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Examples turned into the calibration's placement, stretch by stretch, as windows
    are at run time; a stretch worn too differently teaches nothing (its labels are
    dropped)."""
    features, labels = np.array(features, dtype=np.float64), labels.copy()
    for s in _runs(segments):
        placed = in_placement(base_proba[s], features[s], classes, calibration_upright)
        if placed is None:
            labels[s] = ""
        else:
            features[s] = placed
    return features, labels


def _check_labels(
    base: PostureModel, n: int, labels: np.ndarray, segments: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels).astype(str)
    if labels.shape != (n,):
        raise ValueError(f"expected {n} labels, one per window, got shape {labels.shape}")
    unknown = sorted(set(labels.tolist()) - set(base.classes) - {""})
    if unknown:
        raise ValueError(
            f"unknown posture labels {unknown}: the {base.location} model knows "
            f"{list(base.classes)} ('' marks a window that only gives context)"
        )
    if not (labels != "").any():
        raise ValueError("no labelled windows to learn from")
    segments = np.zeros(n, dtype=np.int64) if segments is None else np.asarray(segments)
    if segments.shape != (n,):
        raise ValueError(f"expected {n} segment ids, one per window, got shape {segments.shape}")
    return labels, segments


def _base_forest(base: PostureModel) -> CompactForest:
    """The shipped trees: refitting a personal model starts again from them."""
    if isinstance(base.pipeline, PersonalForest):
        return base.pipeline.forest
    compact = base.compact().pipeline
    if not isinstance(compact, CompactForest):
        raise TypeError("the base model has no compact trees")
    return compact


def _as_personal(base: PostureModel, personal: PersonalForest) -> PersonalModel:
    """``base``'s meta (location, rate, window, classes, context, smoothing) unchanged."""
    kept = {f.name: getattr(base, f.name) for f in fields(PostureModel) if f.name != "pipeline"}
    return PersonalModel(pipeline=personal, **kept)


def _segment_proba(
    base: PostureModel, forest: CompactForest, features: np.ndarray, segments: np.ndarray
) -> np.ndarray:
    """Base posteriors of each window, context taken within its own stretch."""
    proba = np.empty((len(features), forest.n_classes))
    for s in _runs(segments):
        x = PostureModel.design_matrix(base, features[s])
        proba[s] = base.with_step_rule(forest.predict_proba(x), x)
    return proba


def _runs(segments: np.ndarray) -> list[slice]:
    starts = np.flatnonzero(np.r_[True, segments[1:] != segments[:-1]])
    ends = np.r_[starts[1:], len(segments)]
    return [slice(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def _known(classes: tuple[str, ...], y: np.ndarray) -> np.ndarray:
    return np.array([(y == c).sum() >= MIN_WINDOWS_PER_CLASS for c in classes])


def _gaussian(
    x: np.ndarray, y: np.ndarray, classes: tuple[str, ...], known: np.ndarray, ridge: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-posture means and the precision of the shared, widened covariance."""
    d = x.shape[1]
    names = [c for c, k in zip(classes, known, strict=True) if k]
    if len(names) < 2:
        return np.zeros((len(names), d)), np.eye(d)
    x = x.astype(np.float64)
    rows = np.isin(y, names)
    means = np.array([x[y == c].mean(axis=0) for c in names])
    residual = x[rows] - means[[names.index(label) for label in y[rows]]]
    within = residual.T @ residual / max(int(rows.sum()) - len(names), 1)
    spread = np.diag(np.maximum(x[rows].var(axis=0), _VARIANCE_FLOOR))
    return means, np.linalg.inv(within + ridge**2 * spread)


def _student_t(x: np.ndarray, means: np.ndarray, precision: np.ndarray, dof: float) -> np.ndarray:
    diff = np.asarray(x, dtype=np.float64)[:, None, :] - means[None]
    distance = np.einsum("nki,ij,nkj->nk", diff, precision, diff)
    return -0.5 * (dof + means.shape[1]) * np.log1p(distance / dof)


def combine(base_proba: np.ndarray, scores: np.ndarray, known: np.ndarray,
            weight: float) -> np.ndarray:
    """Move the base posteriors of the known postures by ``weight * scores`` and share
    out their total mass again; unknown postures keep their base probability."""
    logits = np.log(np.maximum(base_proba[:, known], _FLOOR)) + weight * scores
    logits -= logits.max(axis=1, keepdims=True)
    share = np.exp(logits)
    share /= share.sum(axis=1, keepdims=True)
    out = np.array(base_proba, dtype=np.float64)
    out[:, known] = base_proba[:, known].sum(axis=1, keepdims=True) * share
    return out


def _helps(
    base: PostureModel,
    classes: tuple[str, ...],
    x: np.ndarray,
    y: np.ndarray,
    segments: np.ndarray,
    base_proba: np.ndarray,
    known_all: np.ndarray,
    settings: PersonalSettings,
) -> bool:
    """Whether the personal part, fitted on every other example window, labels the rest
    (smoothed, as shown) at least as well as the base model alone."""
    half = np.arange(len(y)) % 2
    transition = sticky_transition(len(classes), base.self_transition)
    errors_base = errors_personal = 0
    for k in (0, 1):
        fit, held = half != k, half == k
        known = known_all & _known_half(classes, y[fit])
        if known.sum() < 2 or not held.any():
            continue
        means, precision = _gaussian(x[fit], y[fit], classes, known, settings.ridge)
        scores = _student_t(x[held], means, precision, settings.dof)
        personal = combine(base_proba[held], scores, known, 1.0)
        for proba, is_base in ((base_proba[held], True), (personal, False)):
            predicted = np.empty(int(held.sum()), dtype=np.intp)
            for s in _runs(segments[held]):
                predicted[s] = viterbi(proba[s], transition)
            wrong = int((np.asarray(classes)[predicted] != y[held]).sum())
            if is_base:
                errors_base += wrong
            else:
                errors_personal += wrong
    return errors_personal <= errors_base


def _known_half(classes: tuple[str, ...], y: np.ndarray) -> np.ndarray:
    # Half the examples: half the minimum, so a class known on all is known on each half.
    return np.array([(y == c).sum() >= MIN_WINDOWS_PER_CLASS // 2 for c in classes])


# ------------------------------------------------------------------------ files, scores


def save_personal(model: PostureModel, path: str | Path) -> None:
    """Write ``model`` as one self-contained ``.npz`` (trees included, no pickle)."""
    if not isinstance(model.pipeline, PersonalForest):
        raise TypeError("not a personal model (fit one with fit_personal)")
    meta = {**model.meta(), "kind": "personal", "format": FORMAT_VERSION}
    arrays: dict[str, Any] = {"meta": np.array(json.dumps(meta)), **model.pipeline.arrays()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:  # savez would append .npz to a str path
        np.savez_compressed(file, **arrays)


def load_personal(path: str | Path) -> PersonalModel:
    with np.load(path, allow_pickle=False) as stored:
        meta = json.loads(str(stored["meta"]))
        if meta.get("kind") != "personal" or meta.get("format") not in _READABLE_FORMATS:
            raise ValueError(f"{path} is not a personal model file of format "
                             f"{' or '.join(map(str, _READABLE_FORMATS))}")
        personal = PersonalForest.from_arrays({k: stored[k] for k in stored.files})
    return _as_personal(with_meta(personal, meta), personal)


def personal_accuracy(
    model: PostureModel, windows: np.ndarray, labels: np.ndarray, segments: np.ndarray
) -> float:
    """Macro-F1 over sitting/standing/walking of the smoothed labels (as the product shows
    them), on labelled windows; each segment is classified on its own.  Averaged over the
    main postures that occur in ``labels`` (a correction of sitting alone scores how much
    of it is called sitting, and how clean that call is); NaN when none does."""
    labels = np.asarray(labels).astype(str)
    segments = np.asarray(segments)
    predicted = np.empty(len(labels), dtype=object)
    for s in _runs(segments):
        predicted[s] = model.predict(windows[s])
    return macro_f1(labels[labels != ""], predicted[labels != ""].astype(str))
