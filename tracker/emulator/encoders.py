"""Device-side encoders: the exact bytes the emulated bands put on the air.

Pure functions, written from ``/work/shared/specs/ble-accelerometer-protocols.md``
(§1 Polar PMD, §2 InfiniTime, §7 standard services). Nothing here decodes host-side
data except the small request parsers a band needs to answer its control point.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

# ---- Polar PMD -------------------------------------------------------------------------

PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

PMD_TYPE_ACC = 2
PMD_OP_GET_SETTINGS = 0x01
PMD_OP_START = 0x02
PMD_OP_STOP = 0x03
PMD_RESPONSE = 0xF0

# status codes (§1.5)
PMD_OK = 0
PMD_INVALID_OPCODE = 1
PMD_INVALID_TYPE = 2
PMD_NOT_SUPPORTED = 3
PMD_INVALID_LENGTH = 4
PMD_INVALID_PARAMETER = 5
PMD_ALREADY_IN_STATE = 6
PMD_INVALID_RESOLUTION = 7
PMD_INVALID_SAMPLE_RATE = 8
PMD_INVALID_RANGE = 9
PMD_INVALID_CHANNELS = 11

# setting type -> value size in bytes (§1.4)
PMD_SETTING_SIZES = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4, 6: 16}
PMD_SETTING_RATE, PMD_SETTING_RESOLUTION, PMD_SETTING_RANGE, PMD_SETTING_CHANNELS = 0, 1, 2, 4

# ns from 1970-01-01 to 2000-01-01, and the H10's power-on clock (2019-01-01T00:00:00)
POLAR_EPOCH_OFFSET_NS = 946_684_800_000_000_000
H10_DEFAULT_CLOCK_NS = 599_616_000_000_000_000


def pmd_features(types: Iterable[int]) -> bytes:
    """Reply to a plain read of the PMD control point: ``0F``, two bitmaps, zero padding."""
    bits = 0
    for t in types:
        bits |= 1 << t
    return bytes([0x0F, bits & 0xFF, (bits >> 8) & 0xFF]) + bytes(14)


def encode_pmd_settings(settings: Mapping[int, Sequence[int]]) -> bytes:
    """``[type][count][values…]`` for each setting, in the mapping's order."""
    out = bytearray()
    for kind, values in settings.items():
        size = PMD_SETTING_SIZES[kind]
        out += bytes([kind, len(values)])
        for v in values:
            out += int(v).to_bytes(size, "little", signed=False)
    return bytes(out)


def parse_pmd_settings(data: bytes) -> dict[int, list[int]]:
    """Inverse of :func:`encode_pmd_settings`; ValueError on unknown types or short data."""
    out: dict[int, list[int]] = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise ValueError("truncated setting header")
        kind, count = data[i], data[i + 1]
        size = PMD_SETTING_SIZES.get(kind)
        if size is None:
            raise ValueError(f"unknown setting type {kind}")
        i += 2
        end = i + size * count
        if end > len(data):
            raise ValueError("truncated setting values")
        out[kind] = [int.from_bytes(data[j : j + size], "little") for j in range(i, end, size)]
        i = end
    return out


def pmd_cp_response(
    opcode: int, measurement_type: int, status: int, params: bytes = b"", more: int = 0
) -> bytes:
    """``F0 | opcode | type | status | more | parameters`` (parameters only on success)."""
    return bytes([PMD_RESPONSE, opcode, measurement_type, status, more]) + (
        params if status == PMD_OK else b""
    )


def pmd_frame_header(measurement_type: int, timestamp_ns: int, frame_type: int) -> bytes:
    return bytes([measurement_type & 0x3F]) + struct.pack("<Q", timestamp_ns) + bytes([frame_type])


def encode_pmd_raw_frame(
    samples: np.ndarray,
    timestamp_ns: int,
    frame_type: int = 0x01,
    measurement_type: int = PMD_TYPE_ACC,
) -> bytes:
    """Uncompressed ACC frame: type 0 int8, 1 int16, 2 int24 per channel, little-endian."""
    width = {0x00: 1, 0x01: 2, 0x02: 3}[frame_type]
    body = bytearray()
    for value in np.asarray(samples, dtype=np.int64).reshape(-1):
        body += int(value).to_bytes(width, "little", signed=True)
    return pmd_frame_header(measurement_type, timestamp_ns, frame_type) + bytes(body)


def signed_width(values: np.ndarray) -> int:
    """Bits needed to hold every value as two's complement (0 for all zeros)."""
    if values.size == 0:
        return 0
    lo, hi = int(values.min()), int(values.max())
    if lo == 0 and hi == 0:
        return 0
    width = 1
    while not (-(1 << (width - 1)) <= lo and hi <= (1 << (width - 1)) - 1):
        width += 1
    return width


def _block_width(deltas: np.ndarray, min_width: int) -> int:
    return max(signed_width(deltas), min_width)


def _pack_bits(deltas: np.ndarray, width: int) -> bytes:
    """LSB-first bit stream, sample-major then channel; each delta is ``width``-bit two's
    complement."""
    if width == 0:
        return b""
    acc = 0
    nbits = 0
    mask = (1 << width) - 1
    for value in deltas.reshape(-1):
        acc |= (int(value) & mask) << nbits
        nbits += width
    return acc.to_bytes(math.ceil(nbits / 8), "little")


def encode_pmd_delta_frame(
    samples: np.ndarray,
    timestamp_ns: int,
    frame_type: int = 0x81,
    measurement_type: int = PMD_TYPE_ACC,
    block_len: int = 32,
    min_width: int = 2,
    blocks: Sequence[tuple[int, int]] | None = None,
) -> bytes:
    """Delta-compressed frame (§1.9): 16-bit reference sample, then ``[W][N][bits]`` blocks.

    Deltas are cut into blocks of ``block_len`` samples, each with its own minimal width
    (at least ``min_width``; devices are not known to emit widths below 2, so that is the
    default, but 0 and 1 are valid and decodable). ``blocks`` forces an explicit layout of
    (width, count) pairs instead, e.g. to reproduce a captured frame.
    """
    s = np.asarray(samples, dtype=np.int64)
    if s.ndim != 2 or s.shape[0] < 1:
        raise ValueError("need at least one (n, channels) sample")
    if not 1 <= block_len <= 255:
        raise ValueError("block_len must be 1..255")
    out = bytearray(pmd_frame_header(measurement_type, timestamp_ns, frame_type))
    for value in s[0]:
        out += int(value).to_bytes(2, "little", signed=True)
    deltas = np.diff(s, axis=0)
    if blocks is None:
        layout = [
            (_block_width(deltas[i : i + block_len], min_width), len(deltas[i : i + block_len]))
            for i in range(0, len(deltas), block_len)
        ]
    else:
        layout = list(blocks)
        if sum(n for _, n in layout) != len(deltas):
            raise ValueError("block counts must add up to the number of deltas")
    start = 0
    for width, count in layout:
        block = deltas[start : start + count]
        if signed_width(block) > width:
            raise ValueError(f"a delta does not fit in {width} bits")
        out += bytes([width, count]) + _pack_bits(block, width)
        start += count
    return bytes(out)


def fit_delta_frame(
    samples: np.ndarray,
    max_bytes: int,
    block_len: int = 32,
    min_width: int = 2,
    max_samples: int = 1024,
) -> int:
    """How many leading samples fit in one delta frame of at most ``max_bytes`` bytes."""
    s = np.asarray(samples, dtype=np.int64)
    channels = s.shape[1]
    size = 10 + 2 * channels
    if len(s) == 0 or size > max_bytes:
        return 0
    deltas = np.diff(s[:max_samples], axis=0)
    fitted = 1
    committed = size
    for start in range(0, len(deltas), block_len):
        block = deltas[start : start + block_len]
        # widths only grow as a block gets longer, so the prefix sizes are monotonic
        widths = np.maximum.accumulate(
            [max(signed_width(block[i]), min_width) for i in range(len(block))]
        )
        for n in range(1, len(block) + 1):
            total = committed + 2 + math.ceil(int(widths[n - 1]) * n * channels / 8)
            if total > max_bytes:
                return fitted
            fitted = start + n + 1
        committed += 2 + math.ceil(int(widths[-1]) * len(block) * channels / 8)
    return fitted


def polar_clock_to_unix_ns(device_ns: int) -> int:
    return device_ns + POLAR_EPOCH_OFFSET_NS


# ---- InfiniTime ------------------------------------------------------------------------

INFINITIME_MOTION_SERVICE = "00030000-78fc-48fe-8e23-433b3a1942d0"
INFINITIME_STEP_COUNT = "00030001-78fc-48fe-8e23-433b3a1942d0"
INFINITIME_RAW_MOTION = "00030002-78fc-48fe-8e23-433b3a1942d0"
INFINITIME_COUNTS_PER_G = 1024


def g_to_infinitime_counts(sample_g: np.ndarray) -> tuple[int, int, int]:
    """1 g = 1024; the BMA421 runs at +-2 g, so values saturate at -2048..2047."""
    counts = np.clip(
        np.rint(np.asarray(sample_g, dtype=np.float64) * INFINITIME_COUNTS_PER_G), -2048, 2047
    ).astype(int)
    return int(counts[0]), int(counts[1]), int(counts[2])


def encode_infinitime_motion(x: int, y: int, z: int) -> bytes:
    return struct.pack("<hhh", x, y, z)


def parse_new_alert(data: bytes) -> tuple[int, int, str, str]:
    """Alert Notification New Alert (0x2A46) as InfiniTime reads it.

    ``<category><count>\\x00<title>\\x00<body>``: a 3-byte header, then title and body
    separated by NUL. Returns (category, count, title, body).
    """
    if len(data) < 3:
        raise ValueError("new alert shorter than its 3-byte header")
    text = data[3:].decode("utf-8", errors="replace")
    title, _, body = text.partition("\x00")
    return data[0], data[1], title, body.rstrip("\x00")


def encode_new_alert(title: str, body: str = "", category: int = 0, count: int = 1) -> bytes:
    """What a host writes to make InfiniTime buzz (used by tests and examples)."""
    return bytes([category, count, 0]) + title.encode() + b"\x00" + body.encode()


# ---- standard services -----------------------------------------------------------------


def encode_heart_rate(
    bpm: int,
    contact_supported: bool = True,
    contact_detected: bool = True,
    rr_1024: Sequence[int] = (),
) -> bytes:
    """Heart Rate Measurement (0x2A37): flags, uint8/uint16 HR, optional RR in 1/1024 s."""
    flags = 0
    wide = bpm > 255
    if wide:
        flags |= 0x01
    if contact_detected:
        flags |= 0x02
    if contact_supported:
        flags |= 0x04
    if rr_1024:
        flags |= 0x10
    out = bytes([flags]) + (struct.pack("<H", bpm) if wide else bytes([bpm]))
    for rr in rr_1024:
        out += struct.pack("<H", rr)
    return out
