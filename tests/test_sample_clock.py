"""Where a real band's samples land on the timeline when the computer sleeps: the host's
monotonic clock stops while it sleeps, the band and the wall clock do not."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tracker.ble import SampleClock
from tracker.devices import DecodedFrame

RATE_HZ = 52.0
SLEPT_S = 3600.0


def _frame(device_time_s: float | None) -> DecodedFrame:
    return DecodedFrame(xyz=np.zeros((36, 3), np.float32), device_time_s=device_time_s,
                        sample_interval_s=1 / RATE_HZ if device_time_s is not None else None)


@pytest.mark.parametrize("band_clock", [True, False], ids=["band clock", "arrival"])
def test_frames_after_the_computer_slept_an_hour_land_an_hour_later(
        monkeypatch: pytest.MonkeyPatch, band_clock: bool) -> None:
    clock = SampleClock(RATE_HZ)
    before = clock.times(_frame(1000.0 if band_clock else None), time.monotonic())
    assert abs(before[-1] - time.time()) < 1.0
    awake = time.time
    # An hour asleep: the wall clock and the band's clock went on, the monotonic one not.
    monkeypatch.setattr(time, "time", lambda: awake() + SLEPT_S)
    after = clock.times(_frame(1000.0 + SLEPT_S if band_clock else None), time.monotonic())
    assert after[-1] - before[-1] == pytest.approx(SLEPT_S, abs=1.0)
    assert clock.jumps == 0  # the band's clock agrees with the wall clock: no jump


def test_a_replayed_band_keeps_its_own_timeline_whatever_the_wall_clock_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SampleClock(RATE_HZ, time_scale=100.0, origin=1.7e9)
    first = clock.times(_frame(None), 10.0)
    awake = time.time
    monkeypatch.setattr(time, "time", lambda: awake() + SLEPT_S)
    second = clock.times(_frame(None), 11.0)
    assert first[-1] == pytest.approx(1.7e9)
    assert second[-1] == pytest.approx(1.7e9 + 100.0)
