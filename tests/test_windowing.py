"""Streaming windows: the same windows whatever the chunking, and never across a gap."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from tracker.windowing import Gap, SegmentEnd, StreamingWindower, WindowBlock


def run(t: np.ndarray, xyz: np.ndarray, cuts: list[int], rate: float = 25.0,
        window_s: float = 2.0) -> list[object]:
    windower = StreamingWindower(rate, window_s)
    items: list[object] = []
    bounds = [0, *cuts, len(t)]
    for a, b in pairwise(bounds):
        items += windower.push(t[a:b], xyz[a:b])
    return items + windower.flush()


def windows_of(items: list[object]) -> tuple[np.ndarray, np.ndarray]:
    blocks = [i for i in items if isinstance(i, WindowBlock)]
    return (np.concatenate([b.start for b in blocks]),
            np.concatenate([b.samples for b in blocks]))


@pytest.fixture
def irregular() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.01, 0.05, 6000))
    t[2500:] += 7.5  # one gap of several seconds
    t[4000:] += 2.5  # and another just over the 2 s limit
    xyz = rng.normal(size=(len(t), 3)).astype(np.float32)
    return t, xyz


def test_chunking_does_not_change_windows(irregular: tuple[np.ndarray, np.ndarray]) -> None:
    t, xyz = irregular
    whole = run(t, xyz, [])
    rng = np.random.default_rng(4)
    for _ in range(5):
        cuts = sorted(set(rng.integers(1, len(t) - 1, 200).tolist()))
        pieces = run(t, xyz, cuts)
        for a, b in zip(windows_of(whole), windows_of(pieces), strict=True):
            np.testing.assert_array_equal(a, b)
        assert [i for i in whole if isinstance(i, Gap)] == \
            [i for i in pieces if isinstance(i, Gap)]
    single = run(t, xyz, list(range(1, len(t))))  # one sample at a time, as a live band
    np.testing.assert_array_equal(windows_of(whole)[1], windows_of(single)[1])


def test_no_window_spans_a_gap_and_gaps_are_reported(
        irregular: tuple[np.ndarray, np.ndarray]) -> None:
    t, xyz = irregular
    items = run(t, xyz, [1000, 3000])
    starts, _ = windows_of(items)
    gaps = [i for i in items if isinstance(i, Gap)]
    big_gaps = [(t[i - 1], t[i]) for i in np.flatnonzero(np.diff(t) > 2.0) + 1]
    assert len(big_gaps) == 2
    for before, after in big_gaps:
        spans = (starts < after) & (starts + 2.0 > before)
        assert not spans.any()
        assert any(g.start <= before and g.end == after for g in gaps)
    assert [i.segment for i in items if isinstance(i, SegmentEnd)] == [0, 1, 2]


def test_windows_and_gaps_tile_the_recording(irregular: tuple[np.ndarray, np.ndarray]) -> None:
    t, xyz = irregular
    items = run(t, xyz, [777])
    spans = sorted([(float(s), float(s) + 2.0) for b in items if isinstance(b, WindowBlock)
                    for s in b.start] + [(g.start, g.end) for g in items if isinstance(g, Gap)])
    assert spans[0][0] == t[0] and spans[-1][1] == pytest.approx(t[-1])
    for (_, end), (start, _) in pairwise(spans):
        assert start == pytest.approx(end, abs=1e-9)


def test_resampling_interpolates_between_raw_samples() -> None:
    t = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    xyz = np.column_stack([t * 10, -t, np.ones_like(t)]).astype(np.float32)
    items = run(t, xyz, [], rate=20.0, window_s=0.2)
    _, samples = windows_of(items)
    np.testing.assert_allclose(samples[:, :, 0].ravel(), np.arange(0, 0.4, 0.05) * 10,
                               atol=1e-6)
