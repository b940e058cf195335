"""The thigh's step rule: windows that are plainly steps are walking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tracker.features import LOCATION_FEATURES, feature_indices, window_features
from tracker.posture_model import PostureModel, load_default_model
from tracker.signal import Segment, window_view
from tracker.step_rule import StepRule
from tracker.training_data import WISDM_FILE

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
NAMES = LOCATION_FEATURES["thigh"]
CLASSES = ("sitting", "standing", "walking")


def _row(dyn_std: float, cadence_corr: float, half_turn: float) -> np.ndarray:
    row = np.zeros(len(NAMES) + 3)  # own features, then a context column
    row[NAMES.index("dyn_std")] = dyn_std
    row[NAMES.index("cadence_corr")] = cadence_corr
    row[NAMES.index("half_turn")] = half_turn
    return row


def test_only_moving_rhythmic_windows_facing_one_way_are_steps() -> None:
    x = np.array([
        _row(-0.5, 0.8, -2.0),  # steps
        _row(-1.5, 0.8, -2.0),  # too little movement
        _row(-0.5, 0.3, -2.0),  # no rhythm
        _row(-0.5, 0.8, -0.3),  # the thigh turned: standing up or sitting down
    ])
    proba = np.array([[0.7, 0.2, 0.1]] * 4)
    out = StepRule().apply(proba, x, NAMES, CLASSES)
    assert out[0].argmax() == CLASSES.index("walking")
    assert out[0].sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(out[1:], proba[1:])
    np.testing.assert_array_equal(proba[0], [0.7, 0.2, 0.1])  # the input is left alone


def _own_features(subject: int, label: str) -> np.ndarray:
    """The thigh's own features of 5 s windows of one person's recording of `label`."""
    frame = pd.read_parquet(DATA_DIR / WISDM_FILE, filters=[
        ("device", "==", "thigh"), ("subject", "==", subject), ("label", "==", label)])
    xyz = frame.sort_values("t")[["acc_x", "acc_y", "acc_z"]].to_numpy(np.float32)
    windows = window_view(Segment(0.0, 20.0, xyz), 5.0)
    return window_features(windows, 20.0)[:, feature_indices(NAMES)]


def test_on_real_thighs_the_rule_finds_walking_and_never_sitting_or_standing() -> None:
    # Over all 15 WISDM thigh recordings: 0 % of sitting and standing windows, 95 % of
    # walking ones (63-100 % by person; with the cadence looked for at seven lags only,
    # 49 %, and 53 % of these six people's).
    walking = []
    for subject in (1604, 1611, 1615, 1622, 1630, 1637):
        for label in ("sitting", "standing"):
            assert not StepRule().fires(_own_features(subject, label), NAMES).any(), \
                (subject, label)
        walking.append(StepRule().fires(_own_features(subject, "walking"), NAMES))
    assert np.concatenate(walking).mean() >= 0.85


def test_the_shipped_thigh_model_carries_the_rule_and_the_others_do_not() -> None:
    for compact in (False, True):
        assert load_default_model("thigh", compact=compact).step_rule == StepRule()
        assert load_default_model("wrist", compact=compact).step_rule is None
        assert load_default_model("waist", compact=compact).step_rule is None


def test_the_rule_survives_saving(tmp_path: Path) -> None:
    model = load_default_model("thigh", compact=True)
    model.save_compact(tmp_path / "thigh.trees.npz")
    assert PostureModel.load(tmp_path / "thigh.trees.npz").step_rule == model.step_rule
