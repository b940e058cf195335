"""Nordic Thingy:52 raw motion (docs spec §5): constructed vectors, config bytes, start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.devices import PROFILES, match_advertisement
from tracker.devices.base import FrameError
from tracker.devices.thingy52 import (
    MOTION_CONFIG_UUID,
    MOTION_SERVICE_UUID,
    RAW_DATA_UUID,
    build_motion_config,
    config_with_motion_rate,
    decode_thingy52_frame,
    decode_thingy52_raw_motion,
)

# CONSTRUCTED (spec §5): accel (0, 0, 1.0) g, gyro (1.0, 0, -0.5) deg/s, compass (10, -20, 40) uT.
RAW_VECTOR = bytes.fromhex("00 00 00 00 00 04 20 00 00 00 F0 FF A0 00 C0 FE 80 02")

# (notification, expected accel g)
VECTORS = [
    (RAW_VECTOR, (0.0, 0.0, 1.0)),
    # CONSTRUCTED: Q6.10 fractions and negatives.
    (bytes.fromhex("00 FE 00 01 00 FC") + bytes(12), (-0.5, 0.25, -1.0)),
]


@pytest.mark.parametrize(("data", "expected"), VECTORS)
def test_vectors(data: bytes, expected: tuple[float, float, float]) -> None:
    frame = decode_thingy52_frame(data)
    assert frame.xyz.dtype == np.float32 and frame.xyz.shape == (1, 3)
    np.testing.assert_allclose(frame.xyz[0], expected, atol=1e-6)
    assert frame.device_time_s is None


def test_all_nine_values() -> None:
    raw = decode_thingy52_raw_motion(RAW_VECTOR)
    assert raw.accel_g == (0.0, 0.0, 1.0)
    assert raw.gyro_dps == (1.0, 0.0, -0.5)
    assert raw.compass_ut == (10.0, -20.0, 40.0)


@pytest.mark.parametrize("data", [b"", RAW_VECTOR[:17], RAW_VECTOR + b"\x00", RAW_VECTOR[:6]])
def test_wrong_length(data: bytes) -> None:
    with pytest.raises(FrameError):
        decode_thingy52_frame(data)


def test_config_bytes() -> None:
    # Spec §5: 50 Hz with the other firmware defaults.
    assert build_motion_config(motion_freq_hz=50) == bytes.fromhex("E8 03 F4 01 F4 01 32 00 01")
    assert build_motion_config() == bytes.fromhex("E8 03 F4 01 F4 01 0A 00 01")
    with pytest.raises(ValueError):
        build_motion_config(motion_freq_hz=201)
    custom = bytes.fromhex("D0 07 F4 01 64 00 0A 00 00")  # 2000 ms pedometer, no wake
    assert config_with_motion_rate(custom, 25) == bytes.fromhex("D0 07 F4 01 64 00 19 00 00")
    assert config_with_motion_rate(b"\x01", 25) == build_motion_config(motion_freq_hz=25)


def test_uuids() -> None:
    assert MOTION_SERVICE_UUID == "ef680400-9b35-4933-9b10-52ffa9740042"
    assert MOTION_CONFIG_UUID == "ef680401-9b35-4933-9b10-52ffa9740042"
    assert RAW_DATA_UUID == "ef680406-9b35-4933-9b10-52ffa9740042"


@pytest.mark.parametrize(
    ("name", "uuids", "expected"),
    [
        ("Thingy", [], "thingy52"),
        ("MyDesk", ["EF680100-9B35-4933-9B10-52FFA9740042"], "thingy52"),
        ("Thing", [], None),
    ],
)
def test_matching(name: str | None, uuids: list[str], expected: str | None) -> None:
    profile = match_advertisement(name, uuids, {})
    assert (profile.id if profile else None) == expected


class FakeThingy:
    def __init__(self, config: bytes) -> None:
        self.config = config
        self.log: list[tuple[str, str, bytes]] = []
        self.callbacks: dict[str, Callable[[Any, bytearray], None]] = {}

    async def write_gatt_char(self, char: str, data: bytes, response: bool | None = None) -> None:
        self.log.append(("write", char, bytes(data)))

    async def read_gatt_char(self, char: str) -> bytearray:
        self.log.append(("read", char, b""))
        return bytearray(self.config)

    async def start_notify(self, char: str, callback: Callable[[Any, bytearray], None]) -> None:
        self.log.append(("notify", char, b""))
        self.callbacks[char] = callback

    async def stop_notify(self, char: str) -> None:
        self.log.append(("stop", char, b""))


def test_start_keeps_other_settings_then_subscribes() -> None:
    thingy = FakeThingy(bytes.fromhex("D0 07 F4 01 64 00 0A 00 00"))
    profile = PROFILES["thingy52"]
    started = asyncio.run(profile.start(thingy, lambda _d: None))
    assert started.sample_rate_hz == 25
    assert thingy.log == [
        ("read", MOTION_CONFIG_UUID, b""),
        ("write", MOTION_CONFIG_UUID, bytes.fromhex("D0 07 F4 01 64 00 19 00 00")),
        ("notify", RAW_DATA_UUID, b""),  # subscribing switches motion processing on
    ]
    asyncio.run(profile.stop(thingy))
    assert thingy.log[-1] == ("stop", RAW_DATA_UUID, b"")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=40), st.sampled_from([v[0] for v in VECTORS])))
def test_fuzz_only_frame_error_escapes(data: bytes) -> None:
    try:
        frame = decode_thingy52_frame(data)
    except FrameError:
        return
    assert frame.xyz.shape == (1, 3) and np.abs(frame.xyz).max() <= 32
