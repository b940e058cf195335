"""Resampling and windowing: irregular and repeated timestamps, gaps, short segments."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.signal import Segment, split_segments, window_start_times, window_view


def _ramp(t: np.ndarray) -> np.ndarray:
    """A signal linear in time, which linear interpolation must reproduce exactly."""
    return np.stack((t, 2 * t, -t), axis=1).astype(np.float32) / 100


def test_irregular_timestamps_are_resampled_by_time() -> None:
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.01, 0.09, size=2000))
    (segment,) = split_segments(t, _ramp(t), rate_hz=20.0)
    grid = segment.start + np.arange(len(segment.samples)) / 20.0
    assert segment.start == pytest.approx(t[0])
    assert grid[-1] <= t[-1] + 1e-9
    np.testing.assert_allclose(segment.samples, _ramp(grid), atol=1e-5)
    assert segment.samples.dtype == np.float32


def test_repeated_timestamps_are_averaged() -> None:
    t = np.array([0.0, 0.1, 0.1, 0.2, 0.3])
    xyz = np.array([[0, 0, 1], [1, 0, 1], [3, 0, 1], [2, 0, 1], [3, 0, 1]], dtype=np.float32)
    (segment,) = split_segments(t, xyz, rate_hz=10.0)
    np.testing.assert_allclose(segment.samples[:, 0], [0, 2, 2, 3], atol=1e-6)


def test_unsorted_input_is_sorted() -> None:
    t = np.arange(100) / 10.0
    order = np.random.default_rng(0).permutation(100)
    (segment,) = split_segments(t[order], _ramp(t)[order], rate_hz=10.0)
    np.testing.assert_allclose(segment.samples, _ramp(t), atol=1e-6)


def test_gaps_split_segments_and_no_window_spans_a_gap() -> None:
    t = np.concatenate((np.arange(0, 30, 0.02), np.arange(33, 40, 0.02), np.arange(40.5, 52, 0.02)))
    segments = split_segments(t, _ramp(t), rate_hz=20.0, max_gap_s=2.0)
    assert len(segments) == 2  # the 0.5 s dropout is bridged, the 3 s gap is not
    assert segments[1].start == pytest.approx(33.0)
    for segment in segments:
        starts = window_start_times(segment, 5.0)
        windows = window_view(segment, 5.0)
        assert len(starts) == len(windows)
        # every window lies inside its segment's time span
        assert np.all(starts + 5.0 <= segment.start + segment.duration_s + 1e-9)
        assert not np.any((starts < 33.0) & (starts + 5.0 > 30.0))
    assert [len(window_view(s, 5.0)) for s in segments] == [6, 3]


def test_window_view_is_a_view_and_drops_the_partial_window() -> None:
    samples = np.zeros((105, 3), dtype=np.float32)
    segment = Segment(start=0.0, rate_hz=20.0, samples=samples)
    windows = window_view(segment, 2.5)
    assert windows.shape == (2, 50, 3)
    assert np.shares_memory(windows, samples)


def test_segments_shorter_than_a_window_give_no_windows() -> None:
    t = np.array([0.0, 0.05, 0.1, 10.0])
    segments = split_segments(t, _ramp(t), rate_hz=20.0)
    assert [len(s.samples) for s in segments] == [3, 1]
    assert all(window_view(s, 5.0).shape == (0, 100, 3) for s in segments)


def test_empty_input_gives_no_segments() -> None:
    assert split_segments(np.zeros(0), np.zeros((0, 3)), rate_hz=20.0) == []
