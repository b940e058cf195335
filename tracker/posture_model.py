"""A fitted posture model for one wear location, and the files it is kept in.

A :class:`PostureModel` bundles the fitted classifier with everything needed to use it on
new data: sampling rate, window length, which base features the location uses, the
neighbour-context radii, the HMM self-transition probability and, at the thigh, the step
rule (tracker.step_rule).

Each model is saved twice, side by side, from the same fit (training writes both):

- ``<location>.skops``: the scikit-learn pipeline, stored with skops (no pickle).  Batch
  work (`classify`, evaluation) uses it.
- ``<location>.trees.npz``: the same trees as plain arrays (:mod:`tracker.forest`), with
  identical probabilities.  The collector uses it, so a process that runs all day never
  imports scikit-learn.

Nothing here imports scikit-learn or skops until a ``.skops`` file is read or written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tracker.features import (
    FEATURES_VERSION,
    feature_indices,
    multi_scale_context,
    window_features,
)
from tracker.forest import CompactForest, compact_forest
from tracker.smoothing import sticky_transition, viterbi
from tracker.step_rule import StepRule

# Types a model file may contain beyond what skops trusts by default.  Loading refuses
# anything else, so a tampered file cannot run arbitrary code.
TRUSTED_TYPES: tuple[str, ...] = (
    "collections.OrderedDict",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)
COMPACT_SUFFIX = ".trees.npz"
PERSONAL_SUFFIX = ".personal.npz"


class OutdatedModelError(ValueError):
    """A model file fitted to window features this version no longer computes."""

    def __init__(self, version: int) -> None:
        super().__init__(
            f"fitted to the window features of an earlier sitting-tracker (version "
            f"{version}; this one computes version {FEATURES_VERSION}): a personal model is "
            "refitted by `sitting-tracker train --personal`, a model of your own by "
            "training it again")
        self.version = version


class ProbabilityModel(Protocol):
    def predict_proba(self, x: np.ndarray) -> Any: ...


@dataclass
class PostureModel:
    """A fitted posture classifier for one wear location."""

    pipeline: ProbabilityModel  # a scikit-learn Pipeline, or its CompactForest
    location: str
    rate_hz: float
    window_s: float
    classes: tuple[str, ...]
    context_windows: int  # neighbour windows used on each side (the look-ahead in windows)
    feature_names: tuple[str, ...]  # base features this location uses, in column order
    self_transition: float  # HMM probability of keeping the same posture between windows
    context_radii: tuple[int, ...] = ()  # radii of the neighbour summaries; max = context_windows
    step_rule: StepRule | None = None  # windows that are plainly steps are walking (thigh)
    features_version: int = FEATURES_VERSION  # tracker.features: what the trees were fitted to

    def __post_init__(self) -> None:
        if not self.context_radii:
            self.context_radii = (self.context_windows,) if self.context_windows else ()
        if max(self.context_radii, default=0) != self.context_windows:
            raise ValueError("context_windows must be the largest of context_radii")

    def design_matrix(self, base_features: np.ndarray) -> np.ndarray:
        """Classifier input from all base features of one segment's windows, in order."""
        own = base_features[:, feature_indices(self.feature_names)]
        return np.hstack((own, multi_scale_context(own, self.context_radii)))

    def predict_proba(self, windows: np.ndarray) -> np.ndarray:
        """Posteriors (n, len(classes)) for the windows of ONE contiguous segment in time
        order (neighbouring windows feed each window's context features)."""
        if len(windows) == 0:
            return np.zeros((0, len(self.classes)))
        return self.design_proba(self.design_matrix(window_features(windows, self.rate_hz)))

    def design_proba(self, x: np.ndarray) -> np.ndarray:
        """Posteriors of design-matrix rows `x` (step rule included)."""
        return self.with_step_rule(np.asarray(self.pipeline.predict_proba(x)), x)

    def with_step_rule(self, proba: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The classifier's posteriors `proba` of design-matrix rows `x`, with the
        location's step rule applied (tracker.step_rule)."""
        if self.step_rule is None:
            return proba
        return self.step_rule.apply(proba, x, self.feature_names, self.classes)

    def window_numbers(self, windows: np.ndarray) -> np.ndarray:
        """What the pipeline keeps of each window of a segment (in time order) until the
        segment ends: here its posteriors; a personal model adds what it needs to adjust
        them over the whole segment (tracker.personal)."""
        return self.predict_proba(windows)

    def segment_proba(self, numbers: np.ndarray) -> np.ndarray:
        """Posteriors of one whole segment's windows from their ``window_numbers``."""
        return numbers

    def smooth(self, proba: np.ndarray) -> np.ndarray:
        """Most likely posture index per window of one segment (HMM / Viterbi)."""
        transition = sticky_transition(len(self.classes), self.self_transition)
        return viterbi(proba, transition)

    def predict(self, windows: np.ndarray, smooth: bool = True) -> np.ndarray:
        """Posture label per window of one contiguous segment."""
        proba = self.predict_proba(windows)
        index = self.smooth(proba) if smooth else proba.argmax(axis=1)
        return np.asarray(self.classes, dtype=object)[index].astype(str)

    def meta(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "rate_hz": self.rate_hz,
            "window_s": self.window_s,
            "classes": list(self.classes),
            "context_windows": self.context_windows,
            "context_radii": list(self.context_radii),
            "feature_names": list(self.feature_names),
            "self_transition": self.self_transition,
            "step_rule": self.step_rule.meta() if self.step_rule else None,
            "features_version": self.features_version,
        }

    def compact(self) -> PostureModel:
        """The same model with its trees as numpy arrays (no scikit-learn needed)."""
        if isinstance(self.pipeline, CompactForest):
            return self
        steps = getattr(self.pipeline, "steps", None)
        classifier = steps[-1][1] if steps else self.pipeline
        return with_meta(compact_forest(classifier), self.meta())

    def save(self, path: str | Path) -> None:
        """Write ``path`` (.skops) and the compact copy beside it."""
        import skops.io as sio

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        sio.dump({"pipeline": self.pipeline, "meta": self.meta()}, path, compression=8)
        self.compact().save_compact(compact_path(path))

    def save_compact(self, path: str | Path) -> None:
        if not isinstance(self.pipeline, CompactForest):
            raise TypeError("call compact() first")
        arrays: dict[str, Any] = {"meta": np.array(json.dumps(self.meta())),
                                  **self.pipeline.arrays()}
        with open(path, "wb") as file:  # savez would append .npz to a str path
            np.savez_compressed(file, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> PostureModel:
        """Read a .skops model (imports scikit-learn), a compact .trees.npz one or a
        personal .personal.npz one (tracker.personal; numpy only)."""
        if str(path).endswith(COMPACT_SUFFIX):
            return cls.load_compact(path)
        if str(path).endswith(PERSONAL_SUFFIX):
            from tracker.personal import load_personal

            return load_personal(path)
        import skops.io as sio

        untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
        if untrusted:
            raise ValueError(f"{path} contains types not on the trusted list: {sorted(untrusted)}")
        stored = sio.load(path, trusted=list(TRUSTED_TYPES))
        return with_meta(stored["pipeline"], stored["meta"])

    @classmethod
    def load_compact(cls, path: str | Path) -> PostureModel:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            forest = CompactForest.from_arrays(stored)
        return with_meta(forest, meta)


def with_meta(pipeline: ProbabilityModel, meta: dict[str, Any]) -> PostureModel:
    """Raises OutdatedModelError for a model fitted to other window features (files
    without a version predate versions: 1)."""
    version = int(meta.get("features_version", 1))
    if version != FEATURES_VERSION:
        raise OutdatedModelError(version)
    return PostureModel(
        pipeline=pipeline,
        location=str(meta["location"]),
        rate_hz=float(meta["rate_hz"]),
        window_s=float(meta["window_s"]),
        classes=tuple(str(c) for c in meta["classes"]),
        context_windows=int(meta["context_windows"]),
        context_radii=tuple(int(r) for r in meta["context_radii"]),
        feature_names=tuple(str(f) for f in meta["feature_names"]),
        self_transition=float(meta["self_transition"]),
        step_rule=StepRule.from_meta(meta.get("step_rule")),
        features_version=version,
    )


def compact_path(model_path: str | Path) -> Path:
    """Where the compact copy of a .skops model lives (same folder, same stem)."""
    path = Path(model_path)
    return path.with_name(path.name.removesuffix(".skops") + COMPACT_SUFFIX)


def default_model_path(location: str) -> Path:
    """Where the shipped model for ``location`` lives inside the package."""
    return Path(str(resources.files("tracker") / "models" / f"{location}.skops"))


def load_default_model(location: str, compact: bool = False) -> PostureModel:
    """The shipped model; ``compact`` gives its numpy-only copy (for the collector)."""
    name = f"{location}{COMPACT_SUFFIX}" if compact else f"{location}.skops"
    with resources.as_file(resources.files("tracker") / "models" / name) as path:
        if not path.exists():
            raise FileNotFoundError(f"no shipped model for location {location!r} at {path}")
        return PostureModel.load(path)
