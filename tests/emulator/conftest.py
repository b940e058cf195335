"""Helpers for the emulator tests: an independent PMD reference decoder and bus checks."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pytest


def _reference_decode_pmd(frame: bytes) -> tuple[int, int, np.ndarray]:
    """(frame type, timestamp ns, (n, 3) int samples) of a PMD ACC frame.

    Written from the spec's bit rules independently of the encoder under test.
    """
    frame_type = frame[9]
    timestamp = int.from_bytes(frame[1:9], "little")
    body = frame[10:]
    if frame_type & 0x80 == 0:
        width = {0: 1, 1: 2, 2: 3}[frame_type]
        values = [
            int.from_bytes(body[i : i + width], "little", signed=True)
            for i in range(0, len(body), width)
        ]
        return frame_type, timestamp, np.array(values, dtype=np.int64).reshape(-1, 3)
    samples = [[int.from_bytes(body[i : i + 2], "little", signed=True) for i in (0, 2, 4)]]
    pos = 6
    while pos < len(body):
        width, count = body[pos], body[pos + 1]
        pos += 2
        nbytes = (width * count * 3 + 7) // 8
        assert pos + nbytes <= len(body), "truncated block"
        bits = "".join(f"{b:08b}"[::-1] for b in body[pos : pos + nbytes])
        pos += nbytes
        for k in range(count):
            prev = samples[-1]
            new = []
            for c in range(3):
                start = (k * 3 + c) * width
                field = bits[start : start + width][::-1]
                value = int(field, 2) if width else 0
                if width and value >= 1 << (width - 1):
                    value -= 1 << width
                new.append(prev[c] + value)
            samples.append(new)
    return frame_type, timestamp, np.array(samples, dtype=np.int64)


PmdDecoder = Callable[[bytes], tuple[int, int, np.ndarray]]


@pytest.fixture
def pmd_reference_decode() -> PmdDecoder:
    return _reference_decode_pmd


@pytest.fixture
def open_fd_count() -> Callable[[], int]:
    return lambda: len(os.listdir("/proc/self/fd"))
