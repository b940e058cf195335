"""InfiniTime Motion service (docs spec §2): constructed vector, matching, start sequence."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.devices import PROFILES, match_advertisement
from tracker.devices.base import FIRMWARE_REVISION_UUID, FrameError
from tracker.devices.infinitime import (
    MOTION_SERVICE_UUID,
    RAW_MOTION_UUID,
    decode_infinitime_motion,
    firmware_warning,
    parse_firmware_version,
)

# (notification, expected xyz in g)
VECTORS = [
    # CONSTRUCTED (spec §2): (-30, 12, -1020) counts at 1024/g.
    (bytes.fromhex("E2 FF 0C 00 04 FC"), (-0.0293, 0.0117, -0.9961)),
    # CONSTRUCTED: flat on its back, +1 g; and the +-2 g saturation limits.
    (bytes.fromhex("00 00 00 00 00 04"), (0.0, 0.0, 1.0)),
    (bytes.fromhex("00 F8 FF 07 00 00"), (-2.0, 2047 / 1024, 0.0)),
]


@pytest.mark.parametrize(("data", "expected"), VECTORS)
def test_vectors(data: bytes, expected: tuple[float, float, float]) -> None:
    frame = decode_infinitime_motion(data)
    assert frame.xyz.shape == (1, 3) and frame.xyz.dtype == np.float32
    np.testing.assert_allclose(frame.xyz[0], expected, atol=1e-4)
    assert frame.device_time_s is None and frame.sequence is None


@pytest.mark.parametrize("data", [b"", b"\x00" * 5, b"\x00" * 7, b"\x00" * 4])
def test_wrong_length(data: bytes) -> None:
    with pytest.raises(FrameError):
        decode_infinitime_motion(data)


def test_uuids_and_profile() -> None:
    profile = PROFILES["infinitime"]
    assert profile.service_uuid == MOTION_SERVICE_UUID == "00030000-78fc-48fe-8e23-433b3a1942d0"
    assert profile.data_uuid == RAW_MOTION_UUID == "00030002-78fc-48fe-8e23-433b3a1942d0"
    assert profile.silent_when_still and profile.nominal_rate_hz == 10
    assert profile.start_writes == () and profile.stop_writes == ()


@pytest.mark.parametrize(
    ("name", "uuids", "expected"),
    [
        ("InfiniTime", [], "infinitime"),
        (None, ["00030000-78FC-48FE-8E23-433B3A1942D0"], "infinitime"),
        ("Infini", [], None),
        ("PineTime-XYZ", [], None),
    ],
)
def test_matching(name: str | None, uuids: list[str], expected: str | None) -> None:
    profile = match_advertisement(name, uuids, {})
    assert (profile.id if profile else None) == expected


def test_firmware_warnings() -> None:
    assert parse_firmware_version("1.14.0") == (1, 14, 0)
    assert "raise-to-wake" in (firmware_warning("1.14.0") or "")
    assert "no motion service" in (firmware_warning("1.6.0") or "")
    assert firmware_warning("1.15.0") is None
    assert firmware_warning("1.16.0-rc1") is None


class FakeWatch:
    def __init__(self, revision: bytes | None) -> None:
        self.revision = revision
        self.subscribed: dict[str, Callable[[Any, bytearray], None]] = {}
        self.unsubscribed: list[str] = []

    async def write_gatt_char(self, char: str, data: bytes, response: bool | None = None) -> None:
        raise AssertionError("InfiniTime needs no writes")

    async def read_gatt_char(self, char: str) -> bytearray:
        assert char == FIRMWARE_REVISION_UUID
        if self.revision is None:
            raise OSError("characteristic not found")
        return bytearray(self.revision)

    async def start_notify(self, char: str, callback: Callable[[Any, bytearray], None]) -> None:
        self.subscribed[char] = callback

    async def stop_notify(self, char: str) -> None:
        self.unsubscribed.append(char)


@pytest.mark.parametrize(
    ("revision", "warns"), [(b"1.14.0", True), (b"1.15.0", False), (None, False)]
)
def test_start_stop(revision: bytes | None, warns: bool) -> None:
    watch = FakeWatch(revision)
    got: list[bytes] = []
    profile = PROFILES["infinitime"]
    started = asyncio.run(profile.start(watch, got.append))
    assert list(watch.subscribed) == [RAW_MOTION_UUID]
    assert any("raise-to-wake" in n for n in started.notes) == warns
    watch.subscribed[RAW_MOTION_UUID](None, bytearray(VECTORS[0][0]))
    assert started.decoder.feed(got[0])[0].xyz.shape == (1, 3)
    asyncio.run(profile.stop(watch))
    assert watch.unsubscribed == [RAW_MOTION_UUID]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=16), st.sampled_from([v[0] for v in VECTORS])))
def test_fuzz_only_frame_error_escapes(data: bytes) -> None:
    try:
        frame = decode_infinitime_motion(data)
    except FrameError:
        return
    assert frame.xyz.shape == (1, 3) and np.isfinite(frame.xyz).all()
