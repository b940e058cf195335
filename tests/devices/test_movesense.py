"""Movesense GSP (docs spec §4): constructed vector, commands, result notifications."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.devices import PROFILES, match_advertisement
from tracker.devices.base import FrameError
from tracker.devices.movesense import (
    COMMAND_UUID,
    DATA_UUID,
    SERVICE_UUID,
    acc_path,
    build_hello_command,
    build_subscribe_command,
    build_unsubscribe_command,
    decode_gsp_acc_frame,
    parse_gsp_result,
)

# CONSTRUCTED (spec §4): ref 0x63, ts 100000 ms, (0, 0, 9.80665) and (0.5, -0.25, 9.75) m/s^2.
TWO_SAMPLES = bytes.fromhex(
    "02 63 A0 86 01 00 00 00 00 00 00 00 00 00 0A E8 1C 41 00 00 00 3F 00 00 80 BE 00 00 1C 41"
)

# (notification, rate, expected g rows, device time of the last sample in s)
VECTORS = [
    (TWO_SAMPLES, 52.0, [(0.0, 0.0, 1.0), (0.0510, -0.0255, 0.9942)], 100.0 + 1 / 52),
    (TWO_SAMPLES, 26.0, [(0.0, 0.0, 1.0), (0.0510, -0.0255, 0.9942)], 100.0 + 1 / 26),
    (TWO_SAMPLES[:18], 52.0, [(0.0, 0.0, 1.0)], 100.0),
]


@pytest.mark.parametrize(("data", "rate", "expected", "last_time"), VECTORS)
def test_vectors(
    data: bytes, rate: float, expected: list[tuple[float, float, float]], last_time: float
) -> None:
    frame = decode_gsp_acc_frame(data, rate)
    assert frame.xyz.dtype == np.float32
    np.testing.assert_allclose(frame.xyz, expected, atol=1e-4)
    assert frame.device_time_s == pytest.approx(last_time)
    assert frame.sample_interval_s == pytest.approx(1 / rate)
    assert frame.sequence is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02",
        TWO_SAMPLES[:6],  # timestamp, no samples
        TWO_SAMPLES[:-1],
        TWO_SAMPLES + b"\x00",
        bytes.fromhex("01 63 01 FB"),  # result: no free subscription slot
        bytes.fromhex("03 63") + TWO_SAMPLES[2:],  # continuation codes are not handled
        TWO_SAMPLES[:6] + bytes.fromhex("00 00 C0 7F 00 00 00 00 00 00 00 00"),  # NaN
    ],
)
def test_rejected(data: bytes) -> None:
    with pytest.raises(FrameError):
        decode_gsp_acc_frame(data)


def test_commands_and_results() -> None:
    assert build_hello_command(0x63) == bytes.fromhex("00 63")
    assert build_subscribe_command(0x63, "/Meas/Acc/52") == b"\x01\x63/Meas/Acc/52"
    assert build_unsubscribe_command(0x63) == bytes.fromhex("02 63")
    assert acc_path(26) == "/Meas/Acc/26"
    with pytest.raises(ValueError):
        acc_path(50)
    with pytest.raises(ValueError):
        build_subscribe_command(0, "/Meas/Acc/52")
    result = parse_gsp_result(bytes.fromhex("01 63 01 FB"))
    assert result.ref == 0x63 and result.status == bytes.fromhex("01 FB")
    profile = PROFILES["movesense"]
    assert [w.data for w in profile.start_writes] == [b"\x01\x61/Meas/Acc/26"]
    assert [w.data for w in profile.stop_writes] == [b"\x02\x61"]


def test_uuids() -> None:
    assert SERVICE_UUID == "34802252-7185-4d5d-b431-630e7050e8f0"
    assert COMMAND_UUID == "34800001-7185-4d5d-b431-630e7050e8f0"
    assert DATA_UUID == "34800002-7185-4d5d-b431-630e7050e8f0"


@pytest.mark.parametrize(
    ("name", "uuids", "expected"),
    [
        ("Movesense 174630000192", [], "movesense"),
        (None, ["34802252-7185-4d5d-b431-630e7050e8f0"], "movesense"),
        ("Move", [], None),
    ],
)
def test_matching(name: str | None, uuids: list[str], expected: str | None) -> None:
    profile = match_advertisement(name, uuids, {})
    assert (profile.id if profile else None) == expected


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    frame = bytearray(TWO_SAMPLES)
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
        frame = decode_gsp_acc_frame(data)
    except FrameError:
        return
    assert np.isfinite(frame.xyz).all() and frame.xyz.shape[1] == 3
