"""Personal calibration: it helps a person the base model never saw, files stand alone and
load without scikit-learn, missing postures keep the base behaviour, bad input is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tracker.calibration import SPAN_ID, LabelledWindows, agreement, held_out_agreement
from tracker.features import LOCATION_FEATURES
from tracker.forest import compact_forest
from tracker.model import make_pipeline
from tracker.personal import (
    PersonalModel,
    fit_personal,
    load_personal,
    personal_accuracy,
    save_personal,
)
from tracker.posture_model import PostureModel, load_default_model
from tracker.signal import split_segments, window_view
from tracker.training_data import WISDM_FILE, load_location

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
REPO = Path(__file__).resolve().parents[1]
HELD_OUT = 1622  # a thigh subject the small base model below calls mostly wrong
POSTURES = ("sitting", "standing", "walking")


class Case:
    """A thigh base model fitted without HELD_OUT, and HELD_OUT's real windows."""

    def __init__(self) -> None:
        self.base = _small_thigh_model()
        self.windows, self.labels, self.segments = _subject_windows(HELD_OUT)
        # The routine: the first minute (12 windows) of each posture.
        self.calibration = np.zeros(len(self.labels), dtype=bool)
        for posture in POSTURES:
            self.calibration[np.flatnonzero(self.labels == posture)[:12]] = True
        self.rest = ~self.calibration

    def part(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.windows[mask], self.labels[mask], self.segments[mask]


def _small_thigh_model() -> PostureModel:
    """A quick thigh model (one window grid, 20 boosting rounds) on all other subjects."""
    data = load_location("thigh", DATA_DIR, 20.0, 5.0)
    model = PostureModel(
        pipeline=make_pipeline(max_iter=20), location="thigh", rate_hz=20.0, window_s=5.0,
        classes=POSTURES, context_windows=8, context_radii=(8,),
        feature_names=LOCATION_FEATURES["thigh"], self_transition=0.95,
    )
    starts = np.flatnonzero(np.r_[True, data.segments[1:] != data.segments[:-1]])
    ends = np.r_[starts[1:], len(data)]
    x = np.vstack([model.design_matrix(data.features[a:b])
                   for a, b in zip(starts, ends, strict=True)])
    train = (data.subjects != HELD_OUT) & (data.labels != "")
    classifier = make_pipeline(max_iter=20).fit(x[train], data.labels[train])
    model.pipeline = compact_forest(classifier[-1])
    return model


def _subject_windows(subject: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-time windows of one subject's sitting, standing and walking blocks."""
    frame = pd.read_parquet(DATA_DIR / WISDM_FILE,
                            filters=[("device", "==", "thigh"), ("subject", "==", subject)])
    names = frame["label"].astype(str).to_numpy()
    windows, labels, segments = [], [], []
    for number, posture in enumerate(POSTURES):
        block = frame[names == posture]
        t = block["t"].to_numpy(np.float64) / 1e9
        xyz = block[["acc_x", "acc_y", "acc_z"]].to_numpy(np.float32)
        for part, segment in enumerate(split_segments(t, xyz, 20.0)):
            w = window_view(segment, 5.0)
            windows.append(w)
            labels += [posture] * len(w)
            segments += [number * 100 + part] * len(w)
    return np.concatenate(windows), np.array(labels), np.array(segments)


@pytest.fixture(scope="module")
def case() -> Case:
    return Case()


@pytest.fixture(scope="module")
def personal(case: Case) -> PersonalModel:
    return fit_personal(case.base, *case.part(case.calibration))


def test_calibration_helps_a_subject_the_base_never_saw(case: Case, personal) -> None:
    windows, labels, segments = case.part(case.rest)
    before = personal_accuracy(case.base, windows, labels, segments)
    after = personal_accuracy(personal, windows, labels, segments)
    # Measured 0.39 -> 1.00: the base calls this subject's standing sitting; one minute of
    # each posture shows how the phone sits in this pocket.
    assert before < 0.8
    assert personal.personal.active
    assert after >= 0.95 and after >= before
    assert personal.meta() == case.base.meta()


def test_save_and_load_give_identical_probabilities(case: Case, personal,
                                                    tmp_path: Path) -> None:
    path = tmp_path / "thigh.personal.npz"
    save_personal(personal, path)
    loaded = PostureModel.load(path)  # dispatches on the suffix
    assert isinstance(loaded, PersonalModel)
    assert loaded.meta() == personal.meta()
    windows = case.windows[case.segments == case.segments[case.rest][0]]
    np.testing.assert_array_equal(loaded.predict_proba(windows), personal.predict_proba(windows))
    np.testing.assert_array_equal(load_personal(path).predict(windows), personal.predict(windows))


def test_a_personal_file_loads_and_runs_without_scikit_learn(case: Case, personal,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "thigh.personal.npz"
    save_personal(personal, path)
    np.save(tmp_path / "windows.npy", case.windows[:40])
    code = (
        "import sys, numpy as np\n"
        "from tracker.posture_model import PostureModel\n"
        f"model = PostureModel.load({str(path)!r})\n"
        f"labels = model.predict(np.load({str(tmp_path / 'windows.npy')!r}))\n"
        "assert len(labels) == 40\n"
        "heavy = sorted(m for m in ('sklearn', 'scipy') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_posture_without_examples_keeps_the_base_probability(case: Case) -> None:
    windows, labels, segments = case.part(case.calibration & (case.labels != "standing"))
    model = fit_personal(case.base, windows, labels, segments)
    assert model.personal.known.tolist() == [True, False, True]
    probe = case.windows[case.segments == case.segments[case.rest][0]]
    base, adapted = case.base.predict_proba(probe), model.predict_proba(probe)
    np.testing.assert_array_equal(adapted[:, 1], base[:, 1])
    np.testing.assert_allclose(adapted.sum(axis=1), 1.0)

    only_sitting = case.calibration & (case.labels == "sitting")
    model = fit_personal(case.base, *case.part(only_sitting))
    assert not model.personal.active  # nothing to tell postures apart with
    np.testing.assert_array_equal(model.predict_proba(probe), base)


def test_bad_input_is_refused_with_a_clear_message() -> None:
    base = load_default_model("wrist", compact=True)
    windows = np.zeros((24, 100, 3), dtype=np.float32)
    windows[..., 0] = 1.0
    labels = np.array(["sitting", "standing"] * 12)
    with pytest.raises(ValueError, match=r"shape \(n, 100, 3\)"):
        fit_personal(base, windows[:, :50], labels)
    with pytest.raises(ValueError, match=r"unknown posture labels.*jogging"):
        fit_personal(base, windows, np.array(["jogging"] * 24))
    with pytest.raises(ValueError, match="one per window"):
        fit_personal(base, windows, labels[:10])
    with pytest.raises(ValueError, match="no labelled windows"):
        fit_personal(base, windows, np.array([""] * 24))
    windows[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_personal(base, windows, labels)


def _stated(case: Case, spans_per_posture: int) -> LabelledWindows:
    """The subject's windows as corrections: each posture's first minute one span and,
    with two spans per posture, the rest another."""
    posture = np.array([POSTURES.index(label) for label in case.labels])
    span = posture * 2 + (~case.calibration if spans_per_posture == 2 else 0)
    return LabelledWindows(case.windows, case.labels, span * SPAN_ID,
                           np.full(len(case.labels), "correction"))


def test_held_out_agreement_tests_on_spans_the_fit_did_not_see(case: Case) -> None:
    """Two corrected spans per posture: each left out is labelled from the other, as on new
    data.  One span per posture: a span left out has no sibling to learn from, and the
    held-out figure says so instead of repeating the in-sample one."""
    twice = _stated(case, 2)
    everything = np.ones(len(twice.labels), dtype=bool)
    before = agreement(case.base, twice)
    held_out_twice = held_out_agreement(case.base, twice, everything)
    # Measured: before 0.49, held out 1.00 with two spans per posture, 0.42 with one (in
    # sample 1.00).
    assert before < 0.8  # the base calls this subject's standing sitting
    assert held_out_twice >= 0.95
    once = _stated(case, 1)
    held_out_once = held_out_agreement(case.base, once, everything)
    in_sample = agreement(fit_personal(case.base, once.windows, once.labels, once.segments),
                          once)
    assert held_out_once < in_sample and held_out_once < held_out_twice
    single = once.subset(once.labels == "sitting")
    assert np.isnan(held_out_agreement(case.base, single, np.ones(len(single.labels), bool)))
