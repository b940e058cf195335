"""PineTime running InfiniTime >= 1.7.0: the Motion service's raw x/y/z characteristic.

Facts from InfiniTime (InfiniTimeOrg/InfiniTime): doc/MotionService.md,
src/components/ble/MotionService.cpp, src/drivers/Bma421.cpp, src/systemtask/SystemTask.cpp.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from .base import (
    FIRMWARE_REVISION_UUID,
    DataCallback,
    DecodedFrame,
    DeviceStopCallback,
    GattClient,
    Profile,
    StartedStream,
    bleak_callback,
    normalise_uuids,
    require_length,
)

MOTION_SERVICE_UUID = "00030000-78fc-48fe-8e23-433b3a1942d0"
STEP_COUNT_UUID = "00030001-78fc-48fe-8e23-433b3a1942d0"  # uint32 LE steps today
RAW_MOTION_UUID = "00030002-78fc-48fe-8e23-433b3a1942d0"  # 3 x int16 LE, read + notify
ADVERTISED_NAME = "InfiniTime"

# 1024 counts per g in every release >= 1.7.0: raw BMA421 counts at +-2 g / 12 bit before 1.15,
# explicitly scaled to 1024/g from 1.15 ("binary milli-g").
COUNTS_PER_G = 1024.0
# The system task samples about every 100 ms and notifies only when a value changed.
NOMINAL_RATE_HZ = 10.0
# Motion keeps updating with the screen off only from 1.15 (raise-to-wake needed before).
FIRST_FIRMWARE_STREAMING_ASLEEP = (1, 15)

_RAW = np.dtype("<i2")


def decode_infinitime_motion(data: bytes) -> DecodedFrame:
    """One raw-motion notification: x, y, z int16 LE, 1024 = 1 g; no timestamp on the wire."""
    require_length(data, 6, "InfiniTime motion value")
    raw = np.frombuffer(data, dtype=_RAW).astype(np.float32)
    return DecodedFrame(xyz=(raw / np.float32(COUNTS_PER_G)).reshape(1, 3))


def parse_firmware_version(revision: str) -> tuple[int, ...] | None:
    """'1.14.0' (DIS firmware revision) to (1, 14, 0); None when it has no version number."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", revision)
    if match is None:
        return None
    return tuple(int(g) for g in match.groups() if g is not None)


def firmware_warning(revision: str) -> str | None:
    version = parse_firmware_version(revision)
    if version is None:
        return f"InfiniTime firmware revision {revision!r} not understood"
    if version < (1, 7):
        return f"InfiniTime {revision} has no motion service (needs 1.7.0 or later)"
    if version < FIRST_FIRMWARE_STREAMING_ASLEEP:
        return (
            f"InfiniTime {revision} stops motion updates while the screen sleeps: enable "
            "raise-to-wake, or update to 1.15 or later"
        )
    return None


def matches_infinitime(
    name: str | None, service_uuids: Sequence[str], manufacturer_data: Mapping[int, bytes]
) -> bool:
    return name == ADVERTISED_NAME or MOTION_SERVICE_UUID in normalise_uuids(service_uuids)


async def _infinitime_start(
    profile: Profile,
    client: GattClient,
    on_data: DataCallback,
    on_device_stop: DeviceStopCallback | None,
) -> StartedStream:
    notes: list[str] = []
    try:
        revision = bytes(await client.read_gatt_char(FIRMWARE_REVISION_UUID)).decode(
            "utf-8", "replace"
        )
    except Exception:  # an informational read: its absence must not block the stream
        revision = ""
    if revision:
        warning = firmware_warning(revision)
        notes.append(warning or f"InfiniTime {revision}")
    await client.start_notify(RAW_MOTION_UUID, bleak_callback(on_data))
    return StartedStream(profile.nominal_rate_hz, profile.new_stream_decoder(), tuple(notes))


INFINITIME = Profile(
    id="infinitime",
    family="infinitime",
    model="PineTime (InfiniTime)",
    service_uuid=MOTION_SERVICE_UUID,
    data_uuid=RAW_MOTION_UUID,
    command_uuid=None,
    nominal_rate_hz=NOMINAL_RATE_HZ,
    notification_interval_s=1.0 / NOMINAL_RATE_HZ,
    matches=matches_infinitime,
    decode=decode_infinitime_motion,
    silent_when_still=True,
    custom_start=_infinitime_start,
)
