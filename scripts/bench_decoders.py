"""Decoding cost per notification for each band decoder, on realistic frames.

    .venv/bin/python scripts/bench_decoders.py [--seconds 0.5]

Frames are the spec's vectors (Polar V1/V2/V6 are full-size notifications) and notifications
built at each band's nominal size; the cost includes building the DecodedFrame.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_decoders import (  # a sibling script holds the frame table
    CUSTOM,
    CUSTOM_FRAME,
    INFINITIME,
    MOVESENSE_2,
    POLAR_V1,
    POLAR_V2,
    POLAR_V6,
    THINGY,
    WITMOTION,
    bangle_text,
    movesense_frame,
)

from tracker.devices.banglejs import BangleStreamDecoder, parse_banglejs_line
from tracker.devices.infinitime import decode_infinitime_motion
from tracker.devices.movesense import decode_gsp_acc_frame
from tracker.devices.polar import PmdAccStreamDecoder, decode_pmd_acc_frame
from tracker.devices.thingy52 import decode_thingy52_frame
from tracker.devices.witmotion import decode_witmotion_frame

# (label, decode, frame, samples per frame)
CASES: list[tuple[str, Callable[[bytes], object], bytes, int]] = [
    ("polar 0x81 delta, Verity V6", decode_pmd_acc_frame, POLAR_V6, 99),
    ("polar 0x80 delta, V2", partial(decode_pmd_acc_frame, factor=2.44e-4), POLAR_V2, 57),
    ("polar 0x01 int16, H10 V1", decode_pmd_acc_frame, POLAR_V1, 36),
    ("polar stream decoder, V6", PmdAccStreamDecoder(52.0).feed, POLAR_V6, 99),
    ("infinitime", decode_infinitime_motion, INFINITIME, 1),
    ("thingy52", decode_thingy52_frame, THINGY, 1),
    ("witmotion", decode_witmotion_frame, WITMOTION, 1),
    ("movesense gsp, 2 samples", decode_gsp_acc_frame, MOVESENSE_2, 2),
    ("movesense gsp, 8 samples", decode_gsp_acc_frame, movesense_frame(8), 8),
    ("banglejs line", parse_banglejs_line, bangle_text(1)[:-1], 1),
    ("banglejs stream, 128-byte slice", BangleStreamDecoder().feed, bangle_text(20)[:128], 3),
    ("custom <hhh, 10 samples", CUSTOM.decode, CUSTOM_FRAME, 10),
]


def per_call_us(decode: Callable[[bytes], object], frame: bytes, seconds: float) -> float:
    """Best of five timed runs, each long enough to be above timer noise."""
    calls = 1
    while True:  # find a batch size that takes ~seconds/5
        start = time.perf_counter()
        for _ in range(calls):
            decode(frame)
        took = time.perf_counter() - start
        if took >= seconds / 5:
            break
        calls *= 2
    best = took
    for _ in range(4):
        start = time.perf_counter()
        for _ in range(calls):
            decode(frame)
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time budget per decoder")
    args = parser.parse_args()
    print(f"{'decoder':34} {'bytes':>5} {'samples':>7} {'us/frame':>9} {'us/sample':>9}")
    for label, decode, frame, samples in CASES:
        us = per_call_us(decode, frame, args.seconds)
        print(f"{label:34} {len(frame):5d} {samples:7d} {us:9.2f} {us / samples:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
