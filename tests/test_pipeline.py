"""The pipeline: chunked and one-shot runs agree, gaps are never sitting, non-wear found."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracker.pipeline import WindowClassifier, classify_arrays


class TiltModel:
    """A transparent stand-in for the trained model: sitting when the sensor's z axis
    carries gravity, standing otherwise, with neighbour context like the real one."""

    rate_hz = 20.0
    window_s = 5.0
    classes = ("sitting", "standing", "walking")
    context_windows = 2

    def window_numbers(self, windows: np.ndarray) -> np.ndarray:
        z = windows[:, :, 2].mean(axis=1)
        padded = np.pad(z, self.context_windows, mode="edge")
        k = 2 * self.context_windows + 1
        smooth_z = np.convolve(padded, np.ones(k) / k, mode="valid")
        moving = windows.std(axis=1).max(axis=1) > 0.2
        p_sit = np.clip(smooth_z, 0.05, 0.95)
        proba = np.column_stack([p_sit, 1 - p_sit, np.zeros_like(p_sit)])
        proba[moving] = [0.05, 0.05, 0.9]
        return proba

    def segment_proba(self, numbers: np.ndarray) -> np.ndarray:
        return numbers

    def smooth(self, proba: np.ndarray) -> np.ndarray:
        return proba.argmax(axis=1)


def day_like(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sit, stand, walk, a 10 min gap, sit; 25 Hz with jitter and 15 mg noise."""
    parts = [((0.0, 0.2, 0.98), 600, 0.015), ((0.0, 0.98, 0.2), 300, 0.015),
             ((0.0, 0.9, 0.3), 120, 0.4), ((0.0, 0.2, 0.98), 900, 0.015)]
    t_all, xyz_all, t0 = [], [], 0.0
    for number, (gravity, seconds, noise) in enumerate(parts):
        t = t0 + np.cumsum(rng.uniform(0.03, 0.05, int(seconds * 25)))
        t_all.append(t)
        xyz_all.append(np.array(gravity) + rng.normal(0, noise, (len(t), 3)))
        t0 = t[-1] + (600.0 if number == 2 else 0.04)
    return np.concatenate(t_all), np.concatenate(xyz_all).astype(np.float32)


@pytest.mark.parametrize("block_windows", [1, 7])
def test_chunked_equals_one_shot(block_windows: int) -> None:
    t, xyz = day_like(np.random.default_rng(0))
    whole = classify_arrays(t, xyz, TiltModel())
    classifier = WindowClassifier(TiltModel(), block_windows=block_windows)
    frames = []
    for piece in np.array_split(np.arange(len(t)), 97):
        frames += classifier.push(t[piece], xyz[piece])
    frames += classifier.finish()
    pieces = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(whole, pieces)


def test_rows_are_in_time_order_and_gaps_are_unknown() -> None:
    t, xyz = day_like(np.random.default_rng(1))
    rows = classify_arrays(t, xyz, TiltModel())
    assert (np.diff(rows["start"]) > 0).all()
    assert np.allclose(rows["start"].iloc[1:].to_numpy(), rows["end"].iloc[:-1].to_numpy())
    gap = rows[(rows["start"] < t[-1] - 900) & (rows["end"] > t[-1] - 1400)]
    assert "unknown" in set(gap["label"])
    long_rows = rows[rows["end"] - rows["start"] > 100]
    assert (long_rows["label"] == "unknown").all() and len(long_rows) == 1
    labels = rows["label"].tolist()
    assert labels[-1] == "unknown"  # the partial window at the end is not a window
    assert labels[0] == "sitting" and labels[-2] == "sitting"
    assert "standing" in labels and "walking" in labels


def test_an_hour_of_perfect_stillness_is_nonwear_not_sitting() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(0, 3 * 3600, 0.05)
    xyz = np.tile([0.0, 0.2, 0.98], (len(t), 1)) + rng.normal(0, 0.02, (len(t), 3))
    desk = (t > 3600) & (t < 3600 + 75 * 60)  # band left on the desk for 75 minutes
    xyz[desk] = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.002, (int(desk.sum()), 3))
    rows = classify_arrays(t, xyz.astype(np.float32), TiltModel())
    nonwear = rows[rows["label"] == "nonwear"]
    assert nonwear["start"].min() == pytest.approx(3600, abs=10)
    assert nonwear["end"].max() == pytest.approx(3600 + 75 * 60, abs=10)
    assert (rows.loc[rows["start"] < 3500, "label"] == "sitting").all()
    # Non-wear is stillness, not a posture the model weighed: no confidence.  Elsewhere
    # the confidence is the probability of the label given.
    assert nonwear["confidence"].isna().all()
    worn = rows[rows["label"].isin(["sitting", "standing", "walking"])]
    given = [row[f"p_{row['label']}"] for _, row in worn.iterrows()]
    assert worn["confidence"].tolist() == pytest.approx(given)


def test_open_segment_rows_grow_live_and_end_as_the_final_rows() -> None:
    t, xyz = day_like(np.random.default_rng(3))
    first_segment = t < t[0] + 600 + 300 + 120  # before the 10-minute gap
    classifier = WindowClassifier(TiltModel(), block_windows=1)
    seen = []
    for piece in np.array_split(np.flatnonzero(first_segment), 40):
        classifier.push(t[piece], xyz[piece])
        rows = classifier.open_segment_rows()
        seen.append(0 if rows is None else len(rows))
    assert seen[-1] > seen[len(seen) // 2] > 0 and seen == sorted(seen)
    live = classifier.open_segment_rows()
    final = classifier.push(t[~first_segment], xyz[~first_segment])[0]
    assert live is not None
    # Windows still waiting for their right-hand context are not shown live.
    assert len(final) - len(live) <= TiltModel.context_windows + 1
    pd.testing.assert_frame_equal(live, final.iloc[:len(live)])
