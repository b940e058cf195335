"""Gradient-boosted trees as plain arrays, evaluated with numpy alone.

The collector runs for days beside everything else on a desk computer, and importing
scikit-learn (with SciPy under it) costs about 90 MB of memory before a single window is
labelled.  A fitted :class:`~sklearn.ensemble.HistGradientBoostingClassifier` is only a
list of small binary trees, so the live path keeps their nodes in a few arrays and walks
them here.  The sums are taken in the same order and with the same float64 arithmetic as
scikit-learn, so the probabilities are identical, not merely close (tested).

The arrays are saved as ``.npz`` and loaded with ``allow_pickle=False`` (see
:mod:`tracker.posture_model`): nothing in such a file can run code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CompactForest:
    """All trees of a fitted multi-class gradient-boosting model, node arrays concatenated.

    Tree ``t`` starts at node ``roots[t]`` and adds to class ``t % n_classes``.  A leaf's
    children are the leaf itself, so walking a fixed number of steps is harmless.
    """

    classes: np.ndarray  # class labels, in output column order
    baseline: np.ndarray  # (n_classes,) raw score before any tree
    roots: np.ndarray  # (n_trees,) index of each tree's root node
    feature: np.ndarray  # per node: column of X the split reads (0 for leaves)
    threshold: np.ndarray  # per node: go left when X[feature] <= threshold
    missing_left: np.ndarray  # per node: where a NaN goes
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray  # per node: the leaf's contribution to the raw score
    depth: int  # longest root-to-leaf path, in splits
    n_features: int

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) for the rows of ``x`` (n, n_features)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} feature columns, got shape {x.shape}")
        raw = self.raw_scores(x)
        # The softmax exactly as scikit-learn computes it (max-shifted, in place).
        raw -= raw.max(axis=1, keepdims=True)
        np.exp(raw, out=raw)
        raw /= raw.sum(axis=1, keepdims=True)
        return raw

    def raw_scores(self, x: np.ndarray) -> np.ndarray:
        rows = np.arange(len(x))[:, None]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots)))
        for _ in range(self.depth):
            values = x[rows, self.feature[node]]
            go_left = np.where(np.isnan(values), self.missing_left[node],
                               values <= self.threshold[node])
            node = np.where(go_left, self.left[node], self.right[node])
        leaf_values = self.value[node]
        raw = np.empty((len(x), self.n_classes))
        raw[:] = self.baseline
        # One iteration at a time, as scikit-learn adds them: float sums depend on order.
        for start in range(0, leaf_values.shape[1], self.n_classes):
            raw += leaf_values[:, start:start + self.n_classes]
        return raw

    def arrays(self) -> dict[str, np.ndarray]:
        """Every field as an array, for ``np.savez`` (no object arrays, so no pickle)."""
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}
        arrays["classes"] = arrays["classes"].astype(str)
        return arrays

    @classmethod
    def from_arrays(cls, stored: Mapping[str, np.ndarray]) -> CompactForest:
        arrays: dict[str, Any] = {f.name: np.asarray(stored[f.name]) for f in fields(cls)}
        arrays["depth"] = int(arrays["depth"])
        arrays["n_features"] = int(arrays["n_features"])
        return cls(**arrays)


def compact_forest(classifier: Any) -> CompactForest:
    """The trees of a fitted ``HistGradientBoostingClassifier`` with three or more classes
    and numeric features only (what the posture models are)."""
    classes = np.asarray(classifier.classes_)
    if len(classes) < 3 or classifier.n_trees_per_iteration_ != len(classes):
        raise ValueError("only multi-class models (three or more classes) can be compacted")
    if classifier.is_categorical_ is not None and np.any(classifier.is_categorical_):
        raise ValueError("categorical features are not supported")
    node_arrays: dict[str, list[np.ndarray]] = {
        "feature": [], "threshold": [], "missing_left": [], "left": [], "right": [],
        "value": [],
    }
    roots, offset, depth = [], 0, 0
    for iteration in classifier._predictors:
        for predictor in iteration:
            nodes = predictor.nodes
            own = np.arange(len(nodes))
            leaf = nodes["is_leaf"].astype(bool)
            roots.append(offset)
            node_arrays["feature"].append(np.where(leaf, 0, nodes["feature_idx"]))
            node_arrays["threshold"].append(nodes["num_threshold"])
            node_arrays["missing_left"].append(nodes["missing_go_to_left"].astype(bool))
            node_arrays["left"].append(np.where(leaf, own, nodes["left"]) + offset)
            node_arrays["right"].append(np.where(leaf, own, nodes["right"]) + offset)
            node_arrays["value"].append(nodes["value"])
            depth = max(depth, int(nodes["depth"].max()))
            offset += len(nodes)
    joined = {name: np.concatenate(parts) for name, parts in node_arrays.items()}
    return CompactForest(
        classes=classes.astype(str),
        baseline=np.asarray(classifier._baseline_prediction, dtype=np.float64).ravel(),
        roots=np.asarray(roots, dtype=np.int64),
        feature=joined["feature"].astype(np.int64),
        threshold=joined["threshold"].astype(np.float64),
        missing_left=joined["missing_left"],
        left=joined["left"].astype(np.int64),
        right=joined["right"].astype(np.int64),
        value=joined["value"].astype(np.float64),
        depth=depth,
        n_features=int(classifier.n_features_in_),
    )
