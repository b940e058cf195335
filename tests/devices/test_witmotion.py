"""WitMotion BWT901BLE 5.0 (docs spec §6): constructed vectors, resync, UUIDs, commands."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.devices import PROFILES, match_advertisement
from tracker.devices.base import FrameError
from tracker.devices.witmotion import (
    COMMAND_UUID,
    DATA_UUID,
    SERVICE_UUID,
    UNLOCK,
    WitMotionStreamDecoder,
    build_rate_command,
    build_read_register,
    build_write_register,
    decode_witmotion_frame,
    decode_witmotion_sample,
    split_witmotion_frames,
)

# CONSTRUCTED (spec §6): acc (0, 0, 1.0) g, gyro 0, angles (0, 0, 90 deg).
FLAT = bytes.fromhex("55 61 00 00 00 00 00 08 00 00 00 00 00 00 00 00 00 00 00 40")
# CONSTRUCTED (spec §6): signed values, acc (-0.0801, 0.0400, 0.9961) g.
TILTED = bytes.fromhex("55 61 5C FF 52 00 F8 07") + bytes(12)
# CONSTRUCTED: a register reply (55 71), which carries no motion.
REGISTERS = bytes.fromhex("55 71 03 00 06 00") + bytes(14)

# (notification, expected acc rows in g)
VECTORS = [
    (FLAT, [(0.0, 0.0, 1.0)]),
    (TILTED, [(-0.0801, 0.0400, 0.9961)]),
    (FLAT + TILTED, [(0.0, 0.0, 1.0), (-0.0801, 0.0400, 0.9961)]),
    (b"\x00\x55\x17" + REGISTERS + TILTED, [(-0.0801, 0.0400, 0.9961)]),  # resync + skip 55 71
]


@pytest.mark.parametrize(("data", "expected"), VECTORS)
def test_vectors(data: bytes, expected: list[tuple[float, float, float]]) -> None:
    frame = decode_witmotion_frame(data)
    assert frame.xyz.dtype == np.float32
    np.testing.assert_allclose(frame.xyz, expected, atol=1e-4)
    assert frame.device_time_s is None


def test_all_nine_values() -> None:
    sample = decode_witmotion_sample(FLAT)
    assert sample.acc_g == (0.0, 0.0, 1.0)
    assert sample.gyro_dps == (0.0, 0.0, 0.0)
    assert sample.angle_deg == (0.0, 0.0, 90.0)


@pytest.mark.parametrize("data", [b"", FLAT[:19], REGISTERS, b"\x55" * 40, bytes(20)])
def test_no_motion_frame(data: bytes) -> None:
    with pytest.raises(FrameError):
        decode_witmotion_frame(data)


def test_frames_split_across_notifications() -> None:
    decoder = WitMotionStreamDecoder()
    assert decoder.feed(FLAT[:7]) == []
    frames = decoder.feed(FLAT[7:] + TILTED[:1])
    np.testing.assert_allclose(frames[0].xyz, [(0.0, 0.0, 1.0)], atol=1e-6)
    frames = decoder.feed(TILTED[1:])
    np.testing.assert_allclose(frames[0].xyz, [(-0.0801, 0.04, 0.9961)], atol=1e-4)
    assert decoder.rejected == 0
    assert split_witmotion_frames(FLAT + FLAT[:5]) == ([FLAT], 20)


def test_uuids_have_the_9a_tail() -> None:
    # Not the SIG base (...9b34fb): short forms would expand to the wrong UUID.
    assert SERVICE_UUID == "0000ffe5-0000-1000-8000-00805f9a34fb"
    assert DATA_UUID == "0000ffe4-0000-1000-8000-00805f9a34fb"
    assert COMMAND_UUID == "0000ffe9-0000-1000-8000-00805f9a34fb"
    assert PROFILES["witmotion"].data_uuid == DATA_UUID


def test_commands() -> None:
    assert bytes.fromhex("FF AA 69 88 B5") == UNLOCK
    assert build_rate_command(10) == bytes.fromhex("FF AA 03 06 00")
    assert build_rate_command(200) == bytes.fromhex("FF AA 03 0B 00")
    assert build_write_register(0x00, 0) == bytes.fromhex("FF AA 00 00 00")  # save
    assert build_read_register(0x03) == bytes.fromhex("FF AA 27 03 00")
    assert [w.data for w in PROFILES["witmotion"].start_writes] == [
        bytes.fromhex("FF AA 69 88 B5"),
        bytes.fromhex("FF AA 03 06 00"),
    ]
    with pytest.raises(ValueError):
        build_rate_command(20)


@pytest.mark.parametrize(
    ("name", "uuids", "expected"),
    [
        ("WT901BLE68", [], "witmotion"),
        ("HC-06", ["0000ffe5-0000-1000-8000-00805f9a34fb"], "witmotion"),
        ("HC-06", ["0000ffe5-0000-1000-8000-00805f9b34fb"], None),  # SIG base: not WitMotion
        ("wt-lowercase", [], None),
    ],
)
def test_matching(name: str | None, uuids: list[str], expected: str | None) -> None:
    profile = match_advertisement(name, uuids, {})
    assert (profile.id if profile else None) == expected


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    frame = bytearray(draw(st.sampled_from([v[0] for v in VECTORS])))
    action = draw(st.sampled_from(["truncate", "flip", "extend", "random"]))
    if action == "truncate":
        return bytes(frame[: draw(st.integers(0, len(frame) - 1))])
    if action == "flip":
        k = draw(st.integers(0, len(frame) * 8 - 1))
        frame[k // 8] ^= 1 << (k % 8)
        return bytes(frame)
    if action == "extend":
        return bytes(frame) + draw(st.binary(min_size=1, max_size=30))
    return draw(st.binary(max_size=64))


@settings(max_examples=300, deadline=None)
@given(mutated())
def test_fuzz_only_frame_error_escapes(data: bytes) -> None:
    try:
        frame = decode_witmotion_frame(data)
    except FrameError:
        return
    assert frame.xyz.shape[1] == 3 and np.abs(frame.xyz).max() <= 16
    decoder = WitMotionStreamDecoder()
    decoder.feed(data)
