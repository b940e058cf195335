"""Window features: shapes, rotation invariance where claimed, neighbour context."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.features import (
    FEATURE_NAMES,
    LOCATION_FEATURES,
    MOTION_FEATURES,
    context_features,
    feature_indices,
    multi_scale_context,
    window_features,
)

RATE = 20.0


def _walking_like(n: int, seed: int = 0) -> np.ndarray:
    """Windows (n, 100, 3): gravity in a random direction plus 2 Hz bouncing and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(100) / RATE
    gravity = rng.normal(size=(n, 1, 3))
    gravity /= np.linalg.norm(gravity, axis=2, keepdims=True)
    bounce = 0.3 * np.sin(2 * np.pi * 2.0 * t)[None, :, None] * rng.normal(size=(n, 1, 3))
    return (gravity + bounce + 0.02 * rng.normal(size=(n, 100, 3))).astype(np.float32)


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def test_shape_dtype_and_names() -> None:
    features = window_features(_walking_like(7), RATE)
    assert features.shape == (7, len(FEATURE_NAMES))
    assert features.dtype == np.float32
    assert np.isfinite(features).all()
    assert window_features(np.zeros((0, 100, 3)), RATE).shape == (0, len(FEATURE_NAMES))


def test_motion_features_do_not_change_under_any_rotation() -> None:
    windows = _walking_like(50)
    rotated = windows @ _rotation(np.array([0.3, -1.0, 0.5]), 1.1).T.astype(np.float32)
    cols = feature_indices(MOTION_FEATURES)
    np.testing.assert_allclose(
        window_features(rotated, RATE)[:, cols],
        window_features(windows, RATE)[:, cols],
        rtol=2e-3,
        atol=2e-4,
    )


@pytest.mark.parametrize("angle", [0.4, np.pi / 2, 2.5])
def test_face_tilt_does_not_change_under_rotation_about_z(angle: float) -> None:
    windows = _walking_like(50, seed=2)
    rotated = windows @ _rotation(np.array([0.0, 0.0, 1.0]), angle).T.astype(np.float32)
    cols = feature_indices(("grav_z", "grav_abs_z", *MOTION_FEATURES))
    np.testing.assert_allclose(
        window_features(rotated, RATE)[:, cols],
        window_features(windows, RATE)[:, cols],
        rtol=2e-3,
        atol=2e-4,
    )


def test_thigh_features_do_not_change_when_the_device_is_flipped() -> None:
    """Screen in or out, upside down: 180-degree turns about any device axis."""
    windows = _walking_like(50, seed=3)
    cols = feature_indices(LOCATION_FEATURES["thigh"])
    for flip in (np.diag([-1, 1, -1]), np.diag([-1, -1, 1]), np.diag([1, -1, -1])):
        flipped = windows @ flip.astype(np.float32)
        np.testing.assert_allclose(
            window_features(flipped, RATE)[:, cols],
            window_features(windows, RATE)[:, cols],
            rtol=1e-4,
            atol=1e-5,
        )


def test_gravity_direction_and_stillness() -> None:
    still = np.zeros((2, 100, 3), dtype=np.float32)
    still[0, :, 2] = 1.0  # lying flat, face up
    still[1, :, 0] = -1.0  # x pointing down
    f = dict(zip(FEATURE_NAMES, window_features(still, RATE).T, strict=True))
    np.testing.assert_allclose(f["grav_z"], [1, 0], atol=1e-6)
    np.testing.assert_allclose(f["grav_x"], [0, -1], atol=1e-6)
    np.testing.assert_allclose(f["dyn_std"], [-7, -7], atol=1e-5)  # log10, at the floor
    moving = window_features(_walking_like(20), RATE)
    assert (moving[:, FEATURE_NAMES.index("dyn_std")] > np.log10(0.05)).all()
    assert (moving[:, FEATURE_NAMES.index("cadence_corr")] > 0.5).mean() > 0.8


@pytest.mark.parametrize("period_s", [0.35, 0.55, 0.7, 0.9, 1.1])
def test_cadence_finds_a_step_rhythm_at_any_pace(period_s: float) -> None:
    # Gravity along z plus a rhythm with a second harmonic, as a leg's steps give: a
    # few tried lags (0.3, 0.4, ..., 1.2 s) missed paces that fall between them.
    t = np.arange(100) / RATE
    phase = 2 * np.pi * t / period_s
    bounce = 0.3 * np.sin(phase) + 0.15 * np.sin(2 * phase)
    windows = np.zeros((1, 100, 3), dtype=np.float32)
    windows[0, :, 2] = 1.0 + bounce
    cadence = window_features(windows, RATE)[0, FEATURE_NAMES.index("cadence_corr")]
    assert cadence > 0.8


def test_context_is_a_centred_mean_and_std_cut_at_the_edges() -> None:
    base = np.arange(10, dtype=np.float32)[:, None] ** 2
    ctx = context_features(base, radius=2)
    assert ctx.shape == (10, 2)
    for i in range(10):
        neighbours = base[max(i - 2, 0) : i + 3, 0]
        assert ctx[i, 0] == pytest.approx(neighbours.mean(), rel=1e-5)
        assert ctx[i, 1] == pytest.approx(neighbours.std(), rel=1e-4, abs=1e-4)
    assert context_features(base, radius=0).shape == (10, 0)


def test_context_has_bounded_look_ahead() -> None:
    base = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    changed = base.copy()
    changed[30:] += 5.0
    same = slice(0, 30 - 3)  # windows more than `radius` before the change
    np.testing.assert_array_equal(
        context_features(base, 3)[same], context_features(changed, 3)[same]
    )


def test_multi_scale_context_stacks_each_radius() -> None:
    base = np.random.default_rng(1).normal(size=(25, 4)).astype(np.float32)
    stacked = multi_scale_context(base, (1, 5))
    np.testing.assert_array_equal(
        stacked, np.hstack((context_features(base, 1), context_features(base, 5)))
    )
    assert multi_scale_context(base, ()).shape == (25, 0)
