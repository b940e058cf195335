"""The numpy copy of the trees gives exactly scikit-learn's probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from tracker.forest import compact_forest
from tracker.posture_model import PostureModel, compact_path, default_model_path
from tracker.recording import read_recording
from tracker.windowing import StreamingWindower, WindowBlock

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "waist-hapt-subject01.csv"


def _real_windows(model: PostureModel) -> np.ndarray:
    windower = StreamingWindower(model.rate_hz, model.window_s)
    items = [item for chunk in read_recording(SAMPLE) for item in windower.push(chunk.t, chunk.xyz)]
    items += windower.flush()
    return np.concatenate([b.samples for b in items if isinstance(b, WindowBlock)])


@pytest.mark.parametrize("location", ["waist", "wrist", "thigh"])
def test_shipped_compact_copy_is_the_shipped_model(location: str) -> None:
    full = PostureModel.load(default_model_path(location))
    compact = PostureModel.load(compact_path(default_model_path(location)))
    assert compact.meta() == full.meta()
    windows = _real_windows(full)
    assert len(windows) > 50
    # Bit for bit: the collector's live labels must equal `classify` on the same samples.
    np.testing.assert_array_equal(compact.predict_proba(windows), full.predict_proba(windows))


def test_missing_values_and_thresholds_follow_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 6))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5) + (np.isnan(x[:, 2]) | (x[:, 2] > 1))
    x[rng.random(x.shape) < 0.1] = np.nan  # NaNs seen in training: learnt directions
    classifier = HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(x, y)
    probe = rng.normal(size=(2000, 6))
    probe[rng.random(probe.shape) < 0.2] = np.nan
    probe[:50, 0] = classifier._predictors[0][0].nodes["num_threshold"][0]  # exact ties
    forest = compact_forest(classifier)
    np.testing.assert_array_equal(forest.predict_proba(probe), classifier.predict_proba(probe))


def test_binary_models_and_wrong_widths_are_refused() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 3))
    binary = HistGradientBoostingClassifier(max_iter=3).fit(x, x[:, 0] > 0)
    with pytest.raises(ValueError, match="multi-class"):
        compact_forest(binary)
    three = HistGradientBoostingClassifier(max_iter=3).fit(x, np.digitize(x[:, 0], [-0.5, 0.5]))
    with pytest.raises(ValueError, match="3 feature columns"):
        compact_forest(three).predict_proba(np.zeros((2, 4)))


def test_a_compact_file_cannot_carry_pickled_objects(tmp_path: Path) -> None:
    model = PostureModel.load(compact_path(default_model_path("thigh")))
    path = tmp_path / "thigh.trees.npz"
    arrays = model.pipeline.arrays()  # type: ignore[attr-defined]
    arrays["value"] = np.array([object()], dtype=object)
    np.savez(path, meta=np.array("{}"), **arrays)
    with pytest.raises(ValueError, match="pickle"):
        PostureModel.load(path)
