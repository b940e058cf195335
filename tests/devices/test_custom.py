"""Config-built profiles, and the registry that matches advertisements to profiles."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.devices import (
    PROFILES,
    CustomProfileConfig,
    FrameError,
    make_custom_profile,
    match_advertisement,
    profiles_with_custom,
)
from tracker.devices.custom import decode_custom_frame

CONFIG = {
    "name_prefix": "MyBand",
    "service_uuid": "0000AAAA-0000-1000-8000-00805F9B34FB",
    "data_uuid": "0000aaab-0000-1000-8000-00805f9b34fb",
    "command_uuid": "0000aaac-0000-1000-8000-00805f9b34fb",
    "sample_format": "<hhh",
    "scale_to_g": 1 / 4096,
    "header_size": 2,
    "start_hex": "01 01",
    "stop_hex": "01 00",
    "sample_rate_hz": 25,
    "notification_interval_s": 0.2,
}

# CONSTRUCTED: 2-byte header (e.g. a counter), then two samples at 4096 counts/g.
TWO_SAMPLES = bytes.fromhex("07 00 00 00 00 00 00 10 00 08 00 F8 00 00")

# (config changes, notification, expected xyz g)
VECTORS: list[tuple[dict[str, Any], bytes, list[tuple[float, float, float]]]] = [
    ({}, TWO_SAMPLES, [(0.0, 0.0, 1.0), (0.5, -0.5, 0.0)]),
    # Big-endian samples with a leading temperature byte, axes reordered.
    (
        {"sample_format": ">bhhh", "xyz_fields": [3, 1, 2], "header_size": 0, "scale_to_g": 0.001},
        bytes.fromhex("19 03 E8 00 00 FC 18"),
        [(-1.0, 1.0, 0.0)],
    ),
    ({"sample_format": "<fff", "scale_to_g": 1.0, "header_size": 0}, bytes(12), [(0, 0, 0)]),
]


@pytest.mark.parametrize(("changes", "data", "expected"), VECTORS)
def test_vectors(
    changes: dict[str, Any], data: bytes, expected: list[tuple[float, float, float]]
) -> None:
    profile = make_custom_profile({**CONFIG, **changes})
    frame = profile.decode(data)
    assert frame.xyz.dtype == np.float32
    np.testing.assert_allclose(frame.xyz, expected, atol=1e-6)


@pytest.mark.parametrize("data", [b"", b"\x07\x00", TWO_SAMPLES[:-1], TWO_SAMPLES + b"\x00"])
def test_rejected(data: bytes) -> None:
    with pytest.raises(FrameError):
        make_custom_profile(CONFIG).decode(data)


def test_non_finite_float_rejected() -> None:
    config = CustomProfileConfig.from_mapping(
        {**CONFIG, "sample_format": "<fff", "scale_to_g": 1.0, "header_size": 0}
    )
    with pytest.raises(FrameError):
        decode_custom_frame(bytes.fromhex("00 00 C0 7F") + bytes(8), config)


@pytest.mark.parametrize(
    "changes",
    [
        {"service_uuid": "aaaa"},  # short UUIDs are ambiguous (SIG base or a vendor's)
        {"sample_format": "hhh"},  # native alignment and byte order
        {"sample_format": "<hh"},  # only two fields for x, y, z
        {"sample_format": "<3s"},
        {"xyz_fields": [0, 1, 5]},
        {"scale_to_g": 0},
        {"sample_rate_hz": -1},
        {"command_uuid": None},  # start bytes with nowhere to write them
        {"typo_key": 1},
    ],
)
def test_bad_configs(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_custom_profile({**CONFIG, **changes})


def test_missing_key() -> None:
    config = dict(CONFIG)
    del config["scale_to_g"]
    with pytest.raises(ValueError, match="scale_to_g"):
        make_custom_profile(config)


def test_profile_fields_and_commands() -> None:
    profile = make_custom_profile(CONFIG)
    assert profile.id == "custom" and profile.family == "custom"
    assert profile.service_uuid == "0000aaaa-0000-1000-8000-00805f9b34fb"
    assert [(w.char_uuid, w.data) for w in profile.start_writes] == [
        ("0000aaac-0000-1000-8000-00805f9b34fb", b"\x01\x01")
    ]
    assert [w.data for w in profile.stop_writes] == [b"\x01\x00"]
    assert profile.nominal_rate_hz == 25 and profile.notification_interval_s == 0.2


class FakeBand:
    def __init__(self) -> None:
        self.log: list[tuple[str, str, bytes]] = []
        self.callbacks: dict[str, Callable[[Any, bytearray], None]] = {}

    async def write_gatt_char(self, char: str, data: bytes, response: bool | None = None) -> None:
        self.log.append(("write", char, bytes(data)))

    async def read_gatt_char(self, char: str) -> bytearray:
        raise AssertionError

    async def start_notify(self, char: str, callback: Callable[[Any, bytearray], None]) -> None:
        self.log.append(("notify", char, b""))
        self.callbacks[char] = callback

    async def stop_notify(self, char: str) -> None:
        self.log.append(("stop", char, b""))


def test_generic_start_stop() -> None:
    profile = make_custom_profile(CONFIG)
    band = FakeBand()
    got: list[bytes] = []
    started = asyncio.run(profile.start(band, got.append))
    band.callbacks[profile.data_uuid](None, bytearray(TWO_SAMPLES))
    assert started.decoder.feed(got[0])[0].n_samples == 2
    assert started.decoder.feed(b"\x00") == [] and started.decoder.rejected == 1
    asyncio.run(profile.stop(band))
    data, command = profile.data_uuid, profile.command_uuid or ""
    assert band.log == [
        ("notify", data, b""),  # subscribe first so no sample is missed
        ("write", command, b"\x01\x01"),
        ("write", command, b"\x01\x00"),
        ("stop", data, b""),
    ]


# -- Registry ------------------------------------------------------------------------------------


def test_registry_ids() -> None:
    assert set(PROFILES) == {
        "polar-h10",
        "polar-verity",
        "polar-oh1",
        "polar-360",
        "infinitime",
        "banglejs2",
        "movesense",
        "thingy52",
        "witmotion",
    }
    for key, profile in PROFILES.items():
        assert profile.id == key
        assert profile.nominal_rate_hz > 0 and profile.notification_interval_s > 0
        for uuid in (profile.service_uuid, profile.data_uuid, profile.command_uuid):
            assert uuid is None or (len(uuid) == 36 and uuid == uuid.lower())


def test_custom_profile_is_matched_first() -> None:
    profiles = profiles_with_custom(CONFIG)
    assert next(iter(profiles)) == "custom"
    # A name containing "WT" would otherwise fall to the WitMotion profile.
    name = "MyBand WT"
    assert match_advertisement(name, [], {}) is PROFILES["witmotion"]
    matched = match_advertisement(name, [], {}, profiles.values())
    assert matched is not None and matched.id == "custom"
    assert match_advertisement("Unknown", [], {}, profiles.values()) is None
    assert match_advertisement(None, [str(CONFIG["service_uuid"])], {}, profiles.values())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_fuzz_only_frame_error_escapes(data: bytes) -> None:
    for changes, _, _ in VECTORS:
        try:
            frame = make_custom_profile({**CONFIG, **changes}).decode(data)
        except FrameError:
            continue
        assert frame.xyz.shape[1] == 3
