"""Where an emulated band's accelerometer samples come from.

A :class:`MotionSource` yields (n, 3) float32 samples in g at ``rate_hz``. The band pulls
from it at band time: the wearer keeps moving while the band is disconnected, so samples
that fall in a link gap are read and discarded, never replayed late.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class MotionSource(Protocol):
    """Accelerometer samples in g. ``read`` may return fewer than n rows only when the
    source has run out (then ``exhausted`` should be true)."""

    rate_hz: float

    def read(self, n: int) -> np.ndarray: ...


def is_exhausted(source: MotionSource) -> bool:
    return bool(getattr(source, "exhausted", False))


class ArrayMotionSource:
    """Plays back an (n, 3) array in g, optionally looping."""

    def __init__(self, samples: np.ndarray, rate_hz: float, loop: bool = False) -> None:
        data = np.asarray(samples, dtype=np.float32)
        if data.ndim != 2 or data.shape[1] != 3 or len(data) == 0:
            raise ValueError("samples must be a non-empty (n, 3) array")
        self.samples = data
        self.rate_hz = float(rate_hz)
        self.loop = loop
        self.position = 0  # index of the next sample to read (grows past len when looping)

    @property
    def exhausted(self) -> bool:
        return not self.loop and self.position >= len(self.samples)

    def read(self, n: int) -> np.ndarray:
        if n <= 0:
            return np.empty((0, 3), np.float32)
        total = len(self.samples)
        if self.loop:
            idx = (self.position + np.arange(n)) % total
            self.position += n
            return self.samples[idx]
        out = self.samples[self.position : self.position + n]
        self.position += len(out)
        return out


class SyntheticMotionSource:
    """Generated motion for tests and demos only; not a recording of anybody.

    ``still-sitting``: gravity along a tilted thigh/wrist axis with slow sway and sensor
    noise. ``walking-synthetic``: a 1.8 Hz step bounce on top of an upright orientation.
    """

    KINDS = ("still-sitting", "walking-synthetic")

    def __init__(self, kind: str, rate_hz: float, seed: int = 0) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown synthetic scenario {kind!r}")
        self.kind = kind
        self.rate_hz = float(rate_hz)
        self.exhausted = False
        self._rng = np.random.default_rng(seed)
        self._n = 0

    def read(self, n: int) -> np.ndarray:
        t = (self._n + np.arange(n)) / self.rate_hz
        self._n += n
        noise = self._rng.normal(0.0, 0.004, size=(n, 3))
        if self.kind == "still-sitting":
            sway = 0.01 * np.sin(2 * np.pi * 0.05 * t)
            base = np.stack([0.05 + sway, -0.30 + 0 * t, 0.95 - sway], axis=1)
        else:
            step = 2 * np.pi * 1.8 * t
            base = np.stack(
                [0.15 * np.sin(step / 2), 0.98 + 0.25 * np.sin(step), 0.10 * np.cos(step)], axis=1
            )
        return (base + noise).astype(np.float32)


class MotionTimeline:
    """A source laid out on the band's time axis, read at whatever rate a stream uses.

    Output sample j at ``rate_hz`` lies at band time j / rate_hz; it is the source sample
    at that time (linear interpolation when the rates differ, exact samples when they
    match). Reading a window discards everything before it, so time only moves forward.
    """

    def __init__(self, source: MotionSource) -> None:
        self.source = source
        self._buffer = np.empty((0, 3), np.float32)
        self._start = 0  # source index of _buffer[0]

    @property
    def source_rate_hz(self) -> float:
        return float(self.source.rate_hz)

    def _discard_before(self, index: int) -> None:
        drop = index - self._start
        if drop <= 0:
            return
        in_buffer = min(drop, len(self._buffer))
        self._buffer = self._buffer[in_buffer:]
        drop -= in_buffer
        while drop > 0 and not is_exhausted(self.source):
            got = len(self.source.read(min(drop, 65536)))
            if got == 0:
                break
            drop -= got
        self._start = index

    def _fill_to(self, end: int) -> int:
        """Make the buffer reach source index ``end`` if possible; return its end index."""
        have = self._start + len(self._buffer)
        if end > have and not is_exhausted(self.source):
            more = np.asarray(self.source.read(end - have), np.float32).reshape(-1, 3)
            self._buffer = np.concatenate([self._buffer, more])
        return self._start + len(self._buffer)

    def window(self, first: int, n: int, rate_hz: float) -> np.ndarray:
        """Output samples first .. first+n-1 at ``rate_hz`` (fewer if the source ends)."""
        ratio = self.source_rate_hz / rate_hz
        if abs(ratio - 1.0) < 1e-12:
            self._discard_before(first)
            end = self._fill_to(first + n)
            return self._buffer[: max(0, min(n, end - first))]
        pos = (first + np.arange(n)) * ratio
        lo = np.floor(pos).astype(np.int64)
        self._discard_before(int(lo[0]) if n else self._start)
        end = self._fill_to(int(lo[-1]) + 2 if n else 0)
        frac = pos - lo
        usable = (lo + 1 < end) | ((frac == 0) & (lo < end))
        count = int(np.argmin(usable)) if not usable.all() else n
        lo, frac = lo[:count] - self._start, frac[:count, None]
        hi = np.minimum(lo + 1, len(self._buffer) - 1)
        return (self._buffer[lo] * (1 - frac) + self._buffer[hi] * frac).astype(np.float32)

    def exhausted_at(self, first: int, rate_hz: float) -> bool:
        return len(self.window(first, 1, rate_hz)) == 0
