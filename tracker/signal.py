"""Resampling raw accelerometer streams to a fixed rate and cutting them into windows.

Input streams carry their own timestamps (irregular spacing allowed, 10-200 Hz).  A
recording is split wherever the timestamps jump by more than ``max_gap_s``; each
gap-free stretch is linearly interpolated onto a regular grid and becomes a
:class:`Segment`.  Windows are cut inside one segment only, so no window spans a gap.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Segment:
    """One gap-free stretch of signal resampled to a fixed rate."""

    start: float  # seconds, in the input's time base, time of samples[0]
    rate_hz: float
    samples: np.ndarray  # (m, 3) float32, g

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate_hz


def samples_per_window(rate_hz: float, window_s: float) -> int:
    return round(rate_hz * window_s)


def merge_repeated_timestamps(t: np.ndarray, xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average the samples that share a timestamp (``t`` must be sorted)."""
    is_new = np.empty(len(t), dtype=bool)
    is_new[:1] = True
    np.not_equal(t[1:], t[:-1], out=is_new[1:])
    if is_new.all():
        return t, xyz
    starts = np.flatnonzero(is_new)
    counts = np.diff(np.append(starts, len(t)))
    sums = np.add.reduceat(xyz.astype(np.float64), starts, axis=0)
    return t[starts], (sums / counts[:, None]).astype(np.float32)


def resample_linear(t: np.ndarray, xyz: np.ndarray, rate_hz: float) -> np.ndarray:
    """Linearly interpolate one gap-free, strictly increasing stretch onto ``t[0] + k / rate``.

    One ``np.interp`` of the sample index gives, for every output instant, both the sample
    before it (integer part) and the interpolation weight (fraction); the three axes then
    share them, which costs about a third of interpolating each axis.
    """
    n_out = int(np.floor((t[-1] - t[0]) * rate_hz + 1e-9)) + 1
    if len(t) == 1:
        return np.repeat(xyz[:1].astype(np.float32), n_out, axis=0)
    grid = t[0] + np.arange(n_out) / rate_hz
    position = np.interp(grid, t, np.arange(len(t), dtype=np.float64))
    left = position.astype(np.intp).clip(0, len(t) - 2)
    weight = (position - left).astype(np.float32)[:, None]
    x_left = xyz[left]
    return (x_left + weight * (xyz[left + 1] - x_left)).astype(np.float32, copy=False)


def split_segments(
    t: np.ndarray, xyz: np.ndarray, rate_hz: float, max_gap_s: float = 2.0
) -> list[Segment]:
    """Split a recording at gaps longer than ``max_gap_s`` and resample each stretch.

    Unsorted input is sorted by time; samples sharing a timestamp are averaged.  A stretch
    shorter than one sample period yields a one-sample segment (too short for any window,
    which :func:`window_view` then reports as zero windows).
    """
    t = np.asarray(t, dtype=np.float64)
    xyz = np.asarray(xyz, dtype=np.float32)
    if t.ndim != 1 or xyz.shape != (len(t), 3):
        raise ValueError(f"expected t (n,) and xyz (n, 3), got {t.shape} and {xyz.shape}")
    if len(t) == 0:
        return []
    # whole-array sums are a cheap first test: any NaN or inf makes them non-finite
    if not (np.isfinite(t.sum()) and np.isfinite(xyz.sum())):
        finite = np.isfinite(t) & np.isfinite(xyz).all(axis=1)
        t, xyz = t[finite], xyz[finite]
        if len(t) == 0:
            return []
    step = np.diff(t)
    if len(step) and step.min() <= 0:
        if step.min() < 0:
            order = np.argsort(t, kind="stable")
            t, xyz = t[order], xyz[order]
        t, xyz = merge_repeated_timestamps(t, xyz)
        step = np.diff(t)
    cuts = np.flatnonzero(step > max_gap_s) + 1
    bounds = np.concatenate(([0], cuts, [len(t)]))
    return [
        Segment(
            start=float(t[a]), rate_hz=rate_hz, samples=resample_linear(t[a:b], xyz[a:b], rate_hz)
        )
        for a, b in itertools.pairwise(bounds)
    ]


def window_view(segment: Segment, window_s: float) -> np.ndarray:
    """Non-overlapping windows (n_windows, L, 3) of a segment; the trailing partial window
    is dropped.  A view on ``segment.samples`` when that array is C-contiguous."""
    length = samples_per_window(segment.rate_hz, window_s)
    n_windows = len(segment.samples) // length
    return segment.samples[: n_windows * length].reshape(n_windows, length, 3)


def window_start_times(segment: Segment, window_s: float) -> np.ndarray:
    """Start time (input time base) of each window returned by :func:`window_view`."""
    length = samples_per_window(segment.rate_hz, window_s)
    n_windows = len(segment.samples) // length
    return segment.start + np.arange(n_windows) * (length / segment.rate_hz)
