"""Streaming resampling and windowing: raw samples in, fixed-rate windows and gaps out.

The same code serves a recording read in million-sample chunks and a live band that
delivers a few samples per notification, and gives the same windows either way: the
resampling grid is anchored at the first sample of each gap-free segment
(`t0 + k / rate`), each grid point is a linear interpolation between the two raw samples
around it, and a window is emitted only once the raw samples reach past its end.
A gap in `t` longer than `max_gap_s` ends the segment: the partial window before it is
dropped and the time from the last whole window to the next segment is reported as a
`Gap`, so no window ever spans missing data.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np


@dataclass(frozen=True)
class WindowBlock:
    """Consecutive whole windows of one segment."""

    segment: int  # 0, 1, ... in time order
    first_index: int  # index of the first window within its segment
    start: np.ndarray  # (n,) float64 seconds, start time of each window
    samples: np.ndarray  # (n, L, 3) float32 g, resampled


@dataclass(frozen=True)
class Gap:
    """Time not covered by any window: missing data or a too-short piece of a segment."""

    start: float
    end: float


@dataclass(frozen=True)
class SegmentEnd:
    """Marks that a segment is complete: no more windows will come for it."""

    segment: int
    n_windows: int


StreamItem = WindowBlock | Gap | SegmentEnd


class StreamingWindower:
    """Turns raw `(t, xyz)` chunks into `WindowBlock`s, `Gap`s and `SegmentEnd`s."""

    def __init__(self, rate_hz: float, window_s: float, max_gap_s: float = 2.0) -> None:
        self.rate_hz = float(rate_hz)
        self.window_len = round(window_s * rate_hz)
        if self.window_len < 2:
            raise ValueError("a window needs at least two samples at the model rate")
        self.window_s = self.window_len / self.rate_hz
        self.max_gap_s = max_gap_s
        self._t = np.empty(0)
        self._xyz = np.empty((0, 3), dtype=np.float32)
        self._segment = -1
        self._t0 = 0.0  # time of the segment's first raw sample, where its grid starts
        self._next_window = 0  # index within the segment of the next window to emit
        self._covered_until: float | None = None  # end of the last window, or start

    def push(self, t: np.ndarray, xyz: np.ndarray) -> list[StreamItem]:
        """Add raw samples (time strictly increasing across calls); return what is complete."""
        if len(t) == 0:
            return []
        items: list[StreamItem] = []
        t_all = np.concatenate((self._t, np.asarray(t, dtype=np.float64)))
        xyz_all = np.concatenate((self._xyz, np.asarray(xyz, dtype=np.float32)))
        breaks = (np.flatnonzero(np.diff(t_all) > self.max_gap_s) + 1).tolist()
        bounds = [0, *breaks, len(t_all)]
        for number, (a, b) in enumerate(pairwise(bounds)):
            if self._segment < 0 or number > 0:
                items.extend(self._start_segment(float(t_all[a])))
            piece_t, piece_xyz = t_all[a:b], xyz_all[a:b]
            items.extend(self._emit_windows(piece_t, piece_xyz))
            if b < len(t_all):
                items.extend(self._end_segment())
            else:
                self._keep_tail(piece_t, piece_xyz)
        return items

    def flush(self) -> list[StreamItem]:
        """End of input: close the open segment (its partial last window is dropped)."""
        if self._segment < 0:
            return []
        items = self._end_segment()
        last_t = float(self._t[-1]) if len(self._t) else None
        if last_t is not None and self._covered_until is not None and last_t > self._covered_until:
            items.append(Gap(self._covered_until, last_t))
        self._t = np.empty(0)
        self._xyz = np.empty((0, 3), dtype=np.float32)
        self._covered_until = last_t
        return items

    def _start_segment(self, t0: float) -> list[StreamItem]:
        items: list[StreamItem] = []
        if self._covered_until is not None and t0 > self._covered_until:
            items.append(Gap(self._covered_until, t0))
        self._segment += 1
        self._t0 = t0
        self._next_window = 0
        self._covered_until = t0
        self._t = np.empty(0)
        self._xyz = np.empty((0, 3), dtype=np.float32)
        return items

    def _end_segment(self) -> list[StreamItem]:
        return [SegmentEnd(self._segment, self._next_window)]

    def _emit_windows(self, t: np.ndarray, xyz: np.ndarray) -> list[StreamItem]:
        # Grid points available so far: those not after the last raw sample.
        last_grid = int(np.floor((t[-1] - self._t0) * self.rate_hz + 1e-9))
        n_whole = (last_grid + 1) // self.window_len - self._next_window
        if n_whole <= 0:
            return []
        first = self._next_window * self.window_len
        grid_index = np.arange(first, first + n_whole * self.window_len)
        grid_t = self._t0 + grid_index / self.rate_hz
        samples = np.empty((len(grid_t), 3), dtype=np.float32)
        for axis in range(3):
            samples[:, axis] = np.interp(grid_t, t, xyz[:, axis])
        starts = grid_t[:: self.window_len].copy()  # a view would keep all of grid_t alive
        block = WindowBlock(self._segment, self._next_window, starts,
                            samples.reshape(n_whole, self.window_len, 3))
        self._next_window += n_whole
        self._covered_until = float(starts[-1] + self.window_s)
        return [block]

    def _keep_tail(self, t: np.ndarray, xyz: np.ndarray) -> None:
        """Keep the raw samples the next windows still need, plus the one before them."""
        next_grid_t = self._t0 + self._next_window * self.window_len / self.rate_hz
        keep_from = max(0, int(np.searchsorted(t, next_grid_t, side="right")) - 1)
        self._t = t[keep_from:].copy()
        self._xyz = xyz[keep_from:].copy()
