"""Nordic Thingy:52: the Motion service's raw-data characteristic (accel, gyro, compass).

Facts from NordicSemiconductor/Nordic-Thingy52-FW: include/ble_services/ble_tms.h,
source/ble_services/ble_tms.c, source/modules/m_motion.c, project/.../thingy_config.h.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .base import (
    DataCallback,
    DecodedFrame,
    DeviceStopCallback,
    GattClient,
    GattWrite,
    Profile,
    StartedStream,
    bleak_callback,
    normalise_uuids,
    require_length,
)

THINGY_UUID_TAIL = "-9b35-4933-9b10-52ffa9740042"  # base EF68xxxx-9B35-4933-9B10-52FFA9740042
MOTION_SERVICE_UUID = f"ef680400{THINGY_UUID_TAIL}"
MOTION_CONFIG_UUID = f"ef680401{THINGY_UUID_TAIL}"  # read, write: 9 bytes
RAW_DATA_UUID = f"ef680406{THINGY_UUID_TAIL}"  # notify: 18 bytes
DEFAULT_NAME = "Thingy"

# Config layout: pedometer, temperature-compensation and compass intervals (ms), motion
# frequency (Hz), wake-on-motion; out-of-range values are refused with ATT error 0x03.
_CONFIG = struct.Struct("<HHHHB")
MOTION_FREQ_RANGE_HZ = (5, 200)
DEFAULT_CONFIG = (1000, 500, 500, 10, 1)
# 25 Hz: enough for posture and step cadence, a quarter of the radio traffic of 100 Hz.
NOMINAL_RATE_HZ = 25

_RAW = np.dtype("<i2")


def build_motion_config(
    pedometer_interval_ms: int = 1000,
    temp_comp_interval_ms: int = 500,
    compass_interval_ms: int = 500,
    motion_freq_hz: int = 10,
    wake_on_motion: bool = True,
) -> bytes:
    limits = (
        ("pedometer_interval_ms", pedometer_interval_ms, 100, 5000),
        ("temp_comp_interval_ms", temp_comp_interval_ms, 100, 5000),
        ("compass_interval_ms", compass_interval_ms, 100, 1000),
        ("motion_freq_hz", motion_freq_hz, *MOTION_FREQ_RANGE_HZ),
    )
    for label, value, low, high in limits:
        if not low <= value <= high:
            raise ValueError(f"{label} {value} outside [{low}, {high}]")
    return _CONFIG.pack(
        pedometer_interval_ms,
        temp_comp_interval_ms,
        compass_interval_ms,
        motion_freq_hz,
        int(wake_on_motion),
    )


def config_with_motion_rate(current: bytes, motion_freq_hz: int) -> bytes:
    """Keep the band's other settings; fall back to firmware defaults if `current` is not a
    valid config value."""
    try:
        ped, temp, compass, _freq, wake = _CONFIG.unpack(current)
        return build_motion_config(ped, temp, compass, motion_freq_hz, bool(wake))
    except (struct.error, ValueError):
        ped, temp, compass, _freq, wake = DEFAULT_CONFIG
        return build_motion_config(ped, temp, compass, motion_freq_hz, bool(wake))


@dataclass(frozen=True, slots=True)
class ThingyRawMotion:
    accel_g: tuple[float, float, float]
    gyro_dps: tuple[float, float, float]
    compass_ut: tuple[float, float, float]


def decode_thingy52_raw_motion(data: bytes) -> ThingyRawMotion:
    """All nine raw values: accel Q6.10 g, gyro Q11.5 deg/s, compass Q12.4 uT."""
    require_length(data, 18, "Thingy:52 raw motion")
    v = struct.unpack("<9h", data)
    return ThingyRawMotion(
        (v[0] / 1024, v[1] / 1024, v[2] / 1024),
        (v[3] / 32, v[4] / 32, v[5] / 32),
        (v[6] / 16, v[7] / 16, v[8] / 16),
    )


def decode_thingy52_frame(data: bytes) -> DecodedFrame:
    """Acceleration from one raw-data notification; no timestamp on the wire."""
    require_length(data, 18, "Thingy:52 raw motion")
    raw = np.frombuffer(data, dtype=_RAW, count=3).astype(np.float32)
    return DecodedFrame(xyz=(raw / np.float32(1024.0)).reshape(1, 3))


def matches_thingy52(
    name: str | None, service_uuids: Sequence[str], manufacturer_data: Mapping[int, bytes]
) -> bool:
    # The name is user-configurable, so also accept any advertised UUID on the Thingy base.
    if name is not None and name.startswith(DEFAULT_NAME):
        return True
    return any(
        u.startswith("ef68") and u.endswith(THINGY_UUID_TAIL)
        for u in normalise_uuids(service_uuids)
    )


async def _thingy_start(
    profile: Profile,
    client: GattClient,
    on_data: DataCallback,
    on_device_stop: DeviceStopCallback | None,
) -> StartedStream:
    rate = int(profile.nominal_rate_hz)
    try:
        current = bytes(await client.read_gatt_char(MOTION_CONFIG_UUID))
    except Exception:  # unreadable config: write the firmware defaults with our rate
        current = b""
    await client.write_gatt_char(
        MOTION_CONFIG_UUID, config_with_motion_rate(current, rate), response=True
    )
    # Subscribing to raw data is what switches the motion processing on.
    await client.start_notify(RAW_DATA_UUID, bleak_callback(on_data))
    return StartedStream(float(rate), profile.new_stream_decoder())


THINGY52 = Profile(
    id="thingy52",
    family="thingy52",
    model="Nordic Thingy:52",
    service_uuid=MOTION_SERVICE_UUID,
    data_uuid=RAW_DATA_UUID,
    command_uuid=MOTION_CONFIG_UUID,
    nominal_rate_hz=float(NOMINAL_RATE_HZ),
    notification_interval_s=1.0 / NOMINAL_RATE_HZ,
    matches=matches_thingy52,
    decode=decode_thingy52_frame,
    start_writes=(
        GattWrite(MOTION_CONFIG_UUID, build_motion_config(motion_freq_hz=NOMINAL_RATE_HZ)),
    ),
    custom_start=_thingy_start,
)
