"""From raw samples to labelled windows: the one pipeline behind `classify` and the
collector.

raw (t, xyz) chunks -> StreamingWindower (resample, window, gaps)
    -> model probabilities, block by block with neighbour context
    -> per segment: temporal smoothing, non-wear detection -> window rows

Memory stays bounded: windows are turned into probabilities in blocks and dropped;
only per-window numbers (a few dozen bytes each) are kept until a segment ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from tracker.labels import NONWEAR, POSTURES, UNKNOWN
from tracker.recording import MAX_GAP_S
from tracker.windowing import Gap, SegmentEnd, StreamingWindower, WindowBlock

# Windows turned into probabilities at a time: about a day of 5 s windows, a few
# tens of MB of samples at 50 Hz.
BLOCK_WINDOWS = 8192

# Non-wear: the band lying still somewhere. Rule of van Hees et al. (PLoS ONE 8:e61691,
# 2013): within 60 minutes, at least two axes with standard deviation below 13 mg and
# range below 50 mg. A person sitting still for an hour still moves more than that.
NONWEAR_BLOCK_S = 60 * 60.0
NONWEAR_STD_G = 0.013
NONWEAR_RANGE_G = 0.050

WINDOW_COLUMNS = ["start", "end", "label", "confidence", *(f"p_{p}" for p in POSTURES)]


class Classifier(Protocol):
    """What the pipeline needs of a model (see tracker.posture_model.PostureModel)."""

    rate_hz: float
    window_s: float
    classes: tuple[str, ...]
    context_windows: int

    def window_numbers(self, windows: np.ndarray) -> np.ndarray: ...

    def segment_proba(self, numbers: np.ndarray) -> np.ndarray: ...

    def smooth(self, proba: np.ndarray) -> np.ndarray: ...


@dataclass
class _SegmentState:
    """Per-window numbers of the open segment, and windows still waiting for context."""

    first_start: float = 0.0
    starts: list[np.ndarray] = field(default_factory=list)
    numbers: list[np.ndarray] = field(default_factory=list)  # model.window_numbers
    stats: list[np.ndarray] = field(default_factory=list)
    pending: np.ndarray | None = None  # (k, L, 3) windows not yet turned into proba
    pending_first: int = 0  # segment index of pending[0]
    done: int = 0  # windows whose probabilities are final


class WindowClassifier:
    """Feed raw chunks, get finished window rows (DataFrames) in time order."""

    def __init__(self, model: Classifier, *, max_gap_s: float = MAX_GAP_S,
                 block_windows: int = BLOCK_WINDOWS) -> None:
        self.model = model
        self.windower = StreamingWindower(model.rate_hz, model.window_s, max_gap_s)
        self.window_s = self.windower.window_s
        # Live use passes block_windows=1: probabilities as soon as a window's context
        # is there. Batch use takes big blocks to spread the fixed cost of a call.
        self.block_windows = max(1, block_windows)
        self.segment = _SegmentState()

    def push(self, t: np.ndarray, xyz: np.ndarray) -> list[pd.DataFrame]:
        return self._handle(self.windower.push(t, xyz))

    def finish(self) -> list[pd.DataFrame]:
        return self._handle(self.windower.flush())

    def _handle(self, items: Iterable[object]) -> list[pd.DataFrame]:
        rows: list[pd.DataFrame] = []
        for item in items:
            if isinstance(item, Gap):
                rows.append(_gap_row(item))
            elif isinstance(item, WindowBlock):
                self._add_block(item)
            elif isinstance(item, SegmentEnd):
                frame = self._close_segment()
                if frame is not None:
                    rows.append(frame)
        return rows

    def _add_block(self, block: WindowBlock) -> None:
        state = self.segment
        if block.first_index == 0:
            state = self.segment = _SegmentState(first_start=float(block.start[0]))
        state.starts.append(block.start)
        state.stats.append(_window_stats(block.samples))
        if state.pending is None:
            state.pending, state.pending_first = block.samples, block.first_index
        else:
            state.pending = np.concatenate((state.pending, block.samples))
        context = self.model.context_windows
        while len(state.pending) >= self.block_windows + 2 * context:
            self._predict_pending(final=False)

    def _predict_pending(self, final: bool) -> None:
        """Probabilities for pending windows; interior ones are final, the last
        `2 * context` are kept as the context of the next block."""
        state = self.segment
        assert state.pending is not None
        context = self.model.context_windows
        numbers = self.model.window_numbers(state.pending)
        # The first `context` pending windows were already final (kept only as context),
        # except at the very start of the segment.
        skip = state.done - state.pending_first
        keep_until = len(numbers) if final else len(numbers) - context
        state.numbers.append(numbers[skip:keep_until])
        state.done = state.pending_first + keep_until
        if final:
            state.pending = None
            return
        cut = len(state.pending) - 2 * context
        state.pending = state.pending[cut:]
        state.pending_first += cut

    def _close_segment(self) -> pd.DataFrame | None:
        state = self.segment
        if state.pending is not None and len(state.pending):
            self._predict_pending(final=True)
        self.segment = _SegmentState()
        return self._label_rows(state)

    @property
    def open_segment_windows(self) -> int:
        """How many windows of the open segment have final probabilities so far."""
        return sum(len(p) for p in self.segment.numbers)

    def open_segment_rows(self) -> pd.DataFrame | None:
        """Rows of the segment still open, as far as their probabilities are final.

        Smoothing looks at the whole segment, so these labels can still change while the
        segment goes on; they become the rows `push`/`finish` return when it ends.
        """
        return self._label_rows(self.segment)

    def _label_rows(self, state: _SegmentState) -> pd.DataFrame | None:
        if not state.numbers:
            return None
        # Keep one array per kind, so calling this often stays linear overall.
        state.numbers = [np.concatenate(state.numbers)]
        state.starts = [np.concatenate(state.starts)]
        state.stats = [np.concatenate(state.stats)]
        if len(state.numbers[0]) == 0:
            return None
        proba = self.model.segment_proba(state.numbers[0])
        starts, stats = state.starts[0][:len(proba)], state.stats[0][:len(proba)]
        labels = np.asarray(self.model.classes, dtype=object)[self.model.smooth(proba)]
        labels[_nonwear_windows(stats, self.window_s)] = NONWEAR
        return _window_rows(starts, self.window_s, labels, proba, self.model.classes)


def _window_stats(samples: np.ndarray) -> np.ndarray:
    """(n, 12): per-axis mean, variance, min, max of each window."""
    # Axis-major copy first: numpy reduces along the last axis ten times faster.
    by_axis = np.ascontiguousarray(samples.transpose(0, 2, 1))
    length = samples.shape[1]
    mean = by_axis.sum(axis=2, dtype=np.float64) / length
    second = np.einsum("nkl,nkl->nk", by_axis, by_axis, dtype=np.float64) / length
    return np.concatenate((mean, np.maximum(second - mean**2, 0.0), by_axis.min(axis=2),
                           by_axis.max(axis=2)), axis=1)


def _nonwear_windows(stats: np.ndarray, window_s: float) -> np.ndarray:
    """Boolean mask of windows inside an hour of near-perfect stillness."""
    n = len(stats)
    k = round(NONWEAR_BLOCK_S / window_s)
    mask = np.zeros(n, dtype=bool)
    if n < k:
        return mask
    mean, var, low, high = stats[:, 0:3], stats[:, 3:6], stats[:, 6:9], stats[:, 9:12]
    # Pooled standard deviation over k windows from per-window means and variances.
    sum_mean = _moving_sum(mean, k)
    sum_second = _moving_sum(var + mean**2, k)
    pooled_std = np.sqrt(np.maximum(sum_second / k - (sum_mean / k) ** 2, 0.0))
    # Running max/min over k windows in O(n) (a sliding view would cost O(n k)).
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    first = k // 2  # the filters centre their window; take the ones starting at each index
    spread = (maximum_filter1d(high, k, axis=0, mode="nearest")[first:first + n - k + 1]
              - minimum_filter1d(low, k, axis=0, mode="nearest")[first:first + n - k + 1])
    still_axes = ((pooled_std < NONWEAR_STD_G) & (spread < NONWEAR_RANGE_G)).sum(axis=1)
    still_block = np.flatnonzero(still_axes >= 2)
    # Every window of a still hour is non-wear: mark block starts, spread over k windows.
    marks = np.zeros(n + 1, dtype=np.int64)
    np.add.at(marks, still_block, 1)
    np.add.at(marks, still_block + k, -1)
    mask = np.cumsum(marks[:n]) > 0
    return mask


def _moving_sum(values: np.ndarray, k: int) -> np.ndarray:
    totals = np.cumsum(np.vstack((np.zeros((1, values.shape[1])), values)), axis=0)
    return totals[k:] - totals[:-k]


def _window_rows(starts: np.ndarray, window_s: float, labels: np.ndarray, proba: np.ndarray,
                 classes: tuple[str, ...]) -> pd.DataFrame:
    # The probability of the label given, not the largest one: where smoothing overrules a
    # window, its confidence says that the window itself leant the other way.  Non-wear
    # comes from stillness, not from the model, so it has no confidence.
    given = pd.Index(classes).get_indexer(labels)  # -1: not a class of the model
    confidence = np.where(given >= 0, proba[np.arange(len(proba)), given], np.nan)
    frame = pd.DataFrame({"start": starts, "end": starts + window_s, "label": labels,
                          "confidence": np.round(confidence, 4)})
    for posture in POSTURES:
        frame[f"p_{posture}"] = np.round(proba[:, classes.index(posture)], 4) \
            if posture in classes else np.nan
    return frame


def _gap_row(gap: Gap) -> pd.DataFrame:
    frame = pd.DataFrame({"start": [gap.start], "end": [gap.end], "label": [UNKNOWN],
                          "confidence": [np.nan]})
    return frame.reindex(columns=WINDOW_COLUMNS)


def classify_chunks(chunks: Iterable[tuple[np.ndarray, np.ndarray]],
                    model: Classifier) -> Iterator[pd.DataFrame]:
    """Window rows for a whole recording given as (t, xyz) chunks, in time order."""
    classifier = WindowClassifier(model)
    for t, xyz in chunks:
        yield from classifier.push(t, xyz)
    yield from classifier.finish()


def classify_arrays(t: np.ndarray, xyz: np.ndarray, model: Classifier) -> pd.DataFrame:
    """Window rows for a recording held in memory."""
    frames = list(classify_chunks([(t, xyz)], model))
    if not frames:
        return pd.DataFrame(columns=WINDOW_COLUMNS)
    return pd.concat(frames, ignore_index=True)
