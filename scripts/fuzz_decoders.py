"""Fuzz every band decoder: random bytes and mutated valid frames must decode or raise FrameError.

    .venv/bin/python scripts/fuzz_decoders.py [--frames 100000] [--seed 1]

Prints, per decoder, how many inputs decoded, how many were rejected with FrameError, and how
many escaped with any other exception (or decoded to a malformed frame); exits 1 if any escaped.
"""

from __future__ import annotations

import argparse
import random
import struct
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from tracker.devices import FrameError, make_custom_profile
from tracker.devices.banglejs import (
    BangleStreamDecoder,
    decode_banglejs_notification,
    parse_banglejs_line,
)
from tracker.devices.base import DecodedFrame
from tracker.devices.infinitime import decode_infinitime_motion
from tracker.devices.movesense import decode_gsp_acc_frame
from tracker.devices.polar import PmdAccStreamDecoder, decode_pmd_acc_frame
from tracker.devices.thingy52 import decode_thingy52_frame
from tracker.devices.witmotion import WitMotionStreamDecoder, decode_witmotion_frame

H = bytes.fromhex

# Polar V1 (SDK-TEST), V2 (SDK-TEST), V3 (SDK-TEST), V4 (VENDOR-DOC), V6 (CAPTURE): spec §1.10.
POLAR_V1 = H(
    "02 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03 F8 FF FE FF E5 03 F9 FF "
    "FF FF E5 03 FA FF FF FF E6 03 FA FF FE FF E6 03 F9 FF FF FF E5 03 F8 FF "
    "FF FF E6 03 F8 FF FE FF E6 03 FA FF FF FF E5 03 FA FF FF FF E7 03 FA FF "
    "FF FF E5 03 F8 FF FF FF E6 03 F7 FF FF FF E6 03 F8 FF FE FF E6 03 F9 FF "
    "FE FF E7 03 F9 FF 00 00 E6 03 F9 FF FF FF E6 03 F7 FF FE FF E5 03 F9 FF "
    "FF FF E5 03 F9 FF FF FF E5 03 FA FF 00 00 E6 03 F9 FF FE FF E6 03 F8 FF "
    "FF FF E6 03 F8 FF FF FF E5 03 F9 FF FF FF E6 03 F9 FF FF FF E5 03 FA FF "
    "FF FF E6 03 F9 FF FF FF E5 03 F9 FF FF FF E5 03 F8 FF FE FF E6 03 F9 FF "
    "FF FF E6 03 F9 FF FF FF E6 03 F9 FF 00 00 E5 03 F9 FF FE FF E6 03 F8 FF "
    "FE FF E6 03 F7 FF FE FF E6 03"
)
POLAR_V2 = H(
    "02 00 94 35 77 00 00 00 00 80 71 07 F0 6A 9E 8D 0A 38 BE 5C BE BA 2F 96 "
    "B3 EE 4B E5 AD FB 42 B9 EB BE 4C FE BA 2F 92 BF EE 4B E4 B1 FB 12 B9 EC "
    "BD 3C 3E BB 2F 8F D3 DE 4B E3 B5 F7 D2 B8 ED BD 30 7E 7B 2F 8B E3 CE 8B "
    "E2 BA F7 A2 B8 EE BC 20 BE 7B 2F 88 F3 CE CB E1 BD EF 52 F8 EF BC 18 FE "
    "3B 2F 84 03 BF CB E0 C2 EF 32 B8 F0 BB 04 4E BC 2E 81 13 AF 0B E0 C6 EF "
    "F2 F7 F1 B9 FC 7D BC 2E 7D 27 9F 4B DF CA EB C2 F7 F2 B8 EC CD 7C 2E 7B "
    "37 8F 4B DE CE E3 92 F7 F3 B8 E0 0D FD 2D 77 4B 7F CB DD D2 DF 62 37 F5 "
    "B7 D4 4D BD 2D 74 5B 6F CB DC D7 D7 32 37 F6 B5 C8 8D 7D 2D 71 6B 4F 4B "
    "DC DC D3 F2 36 F7 B4 BC DD FD 2C 6F 7B 3F 4B DB E0 CF D2 36 F8 B2 B0 2D "
    "BE 2C 6C 8F 1F CB DA E3 C7 A2 76 F9"
)
POLAR_V3 = H("02 66 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08")
POLAR_V4 = H("02 EA 54 A2 42 8B 45 52 08 01 45 FF E4 FF B5 03 45 FF E4 FF B8 03")
POLAR_V6 = H(
    "02 2E 57 8A F1 37 32 94 0A 81 AE FF C2 FF E6 03 06 3E 7D B2 13 F9 E1 23 "
    "3C D1 FB BE 1F 00 45 10 10 BC EF 07 82 51 00 79 FF F3 40 2F F8 83 20 F8 "
    "41 20 E8 81 60 14 3C E0 0F F7 FF 2F 3D 71 F7 B8 20 20 05 B0 F7 C1 EE EF "
    "09 31 F0 F5 D1 37 B7 E0 2B 4A FC E8 89 BA 13 44 C0 0B 01 B1 FB 7F 3F 00 "
    "06 00 11 C0 CE F7 F6 4E 0C C3 DF 13 7F 9E 03 43 C0 17 BF B0 17 C5 E0 F3 "
    "C3 1E 0C 01 90 1B C2 F0 FF 3E E0 FB BA 10 20 00 B0 FB 3E F1 07 FC 70 0C "
    "C1 FD F3 42 41 18 7A 9F 03 FE DF 07 88 0F 04 14 E4 23 2C 4B 53 B2 DC 12 "
    "0E 1C 63 D2 EB 30 42 11 EB 2B 31 30 D1 0D 12 50 BD FF D3 E3 C0 D1 06 10 "
    "00 22 0C F9 1F FC 06 A0 E3 3F 52 FC 7E E0 0F 39 D1 27 7F D0 03 C0 2F 08 "
    "81 D0 EB BF 61 00 FB C0 17 7B 30 00"
)
INFINITIME = H("E2 FF 0C 00 04 FC")  # CONSTRUCTED, spec §2
THINGY = H("00 00 00 00 00 04 20 00 00 00 F0 FF A0 00 C0 FE 80 02")  # CONSTRUCTED, spec §5
WITMOTION = H("55 61 5C FF 52 00 F8 07") + bytes(12)  # CONSTRUCTED, spec §6
MOVESENSE_2 = H(  # CONSTRUCTED, spec §4
    "02 63 A0 86 01 00 00 00 00 00 00 00 00 00 0A E8 1C 41 00 00 00 3F 00 00 80 BE 00 00 1C 41"
)


def movesense_frame(k: int) -> bytes:
    """A realistic GSP ACC notification with k samples of a still sensor."""
    rng = np.random.default_rng(k)
    xyz = (np.array([0.3, -0.2, 9.8]) + rng.normal(0, 0.05, (k, 3))).astype("<f4")
    return H("02 63") + struct.pack("<I", 123456) + xyz.tobytes()


def bangle_text(n: int) -> bytes:
    """n lines of our Bangle.js format, as the watch prints one batch."""
    return b"".join(
        b"A,%.3f,%.3f,%.3f,%.3f\n" % (1700000000 + i * 0.08, 0.012 * i, -0.5, 0.866)
        for i in range(n)
    )


CUSTOM = make_custom_profile(
    {
        "service_uuid": "0000aaaa-0000-1000-8000-00805f9b34fb",
        "data_uuid": "0000aaab-0000-1000-8000-00805f9b34fb",
        "sample_format": "<hhh",
        "scale_to_g": 1 / 4096,
        "header_size": 2,
        "sample_rate_hz": 25,
        "notification_interval_s": 0.2,
    }
)
CUSTOM_FRAME = H("0700") + np.tile(np.array([0, 0, 4096], "<i2"), 10).tobytes()

# decoder name -> (decode function, valid frames to mutate / benchmark)
DECODERS: dict[str, tuple[Callable[[bytes], DecodedFrame], list[bytes]]] = {
    "polar pmd (factor 2.44e-4)": (
        partial(decode_pmd_acc_frame, factor=2.44e-4),
        [POLAR_V6, POLAR_V1, POLAR_V2, POLAR_V3, POLAR_V4],
    ),
    "polar pmd (no factor)": (decode_pmd_acc_frame, [POLAR_V6, POLAR_V1, POLAR_V3, POLAR_V4]),
    "infinitime": (decode_infinitime_motion, [INFINITIME]),
    "thingy52": (decode_thingy52_frame, [THINGY]),
    "witmotion": (decode_witmotion_frame, [WITMOTION, WITMOTION * 2]),
    "movesense gsp": (decode_gsp_acc_frame, [MOVESENSE_2, movesense_frame(8)]),
    "banglejs line": (parse_banglejs_line, [bangle_text(1)[:-1]]),
    "banglejs notification": (decode_banglejs_notification, [bangle_text(3)]),
    "custom <hhh": (CUSTOM.decode, [CUSTOM_FRAME]),
}

# Stream decoders never raise: bad input is counted and skipped. One long-lived decoder each,
# so state carried between notifications (partial lines/frames, previous timestamps) is fuzzed.
STREAMS: dict[str, tuple[Callable[[bytes], list[DecodedFrame]], list[bytes]]] = {
    "stream: polar": (PmdAccStreamDecoder(52.0, 2.44e-4).feed, [POLAR_V6, POLAR_V2]),
    "stream: witmotion": (WitMotionStreamDecoder().feed, [WITMOTION, WITMOTION[:7]]),
    "stream: banglejs": (BangleStreamDecoder().feed, [bangle_text(3), bangle_text(2)[5:40]]),
}


def mutate(rng: random.Random, valid: list[bytes]) -> bytes:
    frame = bytearray(rng.choice(valid))
    kind = rng.randrange(5)
    if kind == 0:  # truncated
        return bytes(frame[: rng.randrange(len(frame))])
    if kind == 1:  # bit flips
        for _ in range(rng.randint(1, 8)):
            k = rng.randrange(len(frame) * 8)
            frame[k // 8] ^= 1 << (k % 8)
        return bytes(frame)
    if kind == 2:  # extended
        return bytes(frame) + rng.randbytes(rng.randint(1, 40))
    if kind == 3:  # a byte overwritten (lengths, block headers, frame type)
        frame[rng.randrange(len(frame))] = rng.randrange(256)
        return bytes(frame)
    # spliced with another valid frame
    other = rng.choice(valid)
    cut = rng.randrange(len(frame) + 1)
    return bytes(frame[:cut]) + other[rng.randrange(len(other) + 1) :]


def well_formed(frame: DecodedFrame) -> bool:
    xyz = frame.xyz
    return (
        isinstance(xyz, np.ndarray)
        and xyz.dtype == np.float32
        and xyz.ndim == 2
        and xyz.shape[1] == 3
        and xyz.shape[0] >= 1
        and bool(np.isfinite(xyz).all())
    )


def fuzz(
    decode: Callable[[bytes], DecodedFrame | list[DecodedFrame]],
    valid: list[bytes],
    n: int,
    rng: random.Random,
) -> tuple[int, int, int, list[str]]:
    decoded = rejected = escaped = 0
    examples: list[str] = []
    max_len = max(len(v) for v in valid) * 2
    for i in range(n):
        data = rng.randbytes(rng.randint(0, max_len)) if i % 2 else mutate(rng, valid)
        try:
            result = decode(data)
        except FrameError:
            rejected += 1
            continue
        except Exception as exc:  # what this script exists to find
            escaped += 1
            if len(examples) < 3:
                examples.append(f"{type(exc).__name__}: {exc} <- {data.hex()}")
            continue
        frames = result if isinstance(result, list) else [result]
        if not frames:
            rejected += 1  # a stream decoder that skipped the input
        elif all(well_formed(f) for f in frames):
            decoded += 1
        else:
            escaped += 1
            if len(examples) < 3:
                examples.append(f"malformed frame <- {data.hex()}")
    return decoded, rejected, escaped, examples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for decode, valid in DECODERS.values():  # the valid frames themselves must decode
        for frame in valid:
            decode(frame)
    print(f"{'decoder':28} {'frames':>8} {'decoded':>8} {'rejected':>9} {'escaped':>8} {'s':>6}")
    total_escaped = 0
    targets: dict[str, tuple[Callable[[bytes], Any], list[bytes]]] = {**DECODERS, **STREAMS}
    for name, (decode, valid) in targets.items():
        rng = random.Random(f"{args.seed}:{name}")
        start = time.perf_counter()
        decoded, rejected, escaped, examples = fuzz(decode, valid, args.frames, rng)
        took = time.perf_counter() - start
        print(f"{name:28} {args.frames:8d} {decoded:8d} {rejected:9d} {escaped:8d} {took:6.2f}")
        for example in examples:
            print(f"    {example}")
        total_escaped += escaped
    return 1 if total_escaped else 0


if __name__ == "__main__":
    sys.exit(main())
