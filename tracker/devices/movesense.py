"""Movesense sensors running firmware with the GATT SensorData Protocol (GSP).

Facts from Movesense's device-lib sample samples/gatt_sensordata_app (GATTSensorDataClient.cpp,
python_client/movesense_sensor_data.py, web_client/index.html) and
MovesenseCoreLib/resources/movesense-api/meas/acc.yaml; UUIDs from movesense.com's GSP page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .base import DecodedFrame, FrameError, GattWrite, Profile, normalise_uuids

SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
COMMAND_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"  # write
DATA_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"  # notify
NAME_PREFIX = "Movesense"

CMD_HELLO = 0x00
CMD_SUBSCRIBE = 0x01
CMD_UNSUBSCRIBE = 0x02
NOTIFY_RESULT = 0x01
NOTIFY_DATA = 0x02

STANDARD_GRAVITY = 9.80665  # m/s^2 per g; Movesense does not state its constant
ACC_RATES_HZ = (13, 26, 52, 104, 208, 416, 833)
# 26 Hz is plenty for posture and halves the radio traffic of 52 Hz.
NOMINAL_RATE_HZ = 26
SUBSCRIPTION_REF = 0x61  # any non-zero byte; echoed in every data notification

_SAMPLE = np.dtype("<f4")
_MAX_ABS_MS2 = 16 * 32 * STANDARD_GRAVITY  # far beyond any range the sensor offers


def build_hello_command(ref: int) -> bytes:
    return bytes([CMD_HELLO, ref])


def build_subscribe_command(ref: int, path: str) -> bytes:
    """SUBSCRIBE `01 ref` + the resource path in ASCII, no terminator, e.g. `/Meas/Acc/52`."""
    if not 0 < ref < 256:
        raise ValueError("GSP reference must be 1..255")
    return bytes([CMD_SUBSCRIBE, ref]) + path.encode("ascii")


def build_unsubscribe_command(ref: int) -> bytes:
    return bytes([CMD_UNSUBSCRIBE, ref])


def acc_path(rate_hz: int) -> str:
    if rate_hz not in ACC_RATES_HZ:
        raise ValueError(f"Movesense ACC rate {rate_hz} Hz not in {ACC_RATES_HZ}")
    return f"/Meas/Acc/{rate_hz}"


@dataclass(frozen=True, slots=True)
class GspResult:
    ref: int
    status: bytes  # byte order of multi-byte codes is not settled (web client vs firmware)


def parse_gsp_result(data: bytes) -> GspResult:
    if len(data) < 2 or data[0] != NOTIFY_RESULT:
        raise FrameError("not a GSP command result")
    return GspResult(data[1], bytes(data[2:]))


def decode_gsp_acc_frame(data: bytes, sample_rate_hz: float = NOMINAL_RATE_HZ) -> DecodedFrame:
    """`02 ref | uint32 ms (first sample) | k x (x, y, z float32 LE) m/s^2` to g.

    device_time_s is the LAST sample's time on the sensor's own clock (seconds since the sensor
    started; wraps after 2^32 ms). The reference byte is not a counter, so sequence is None.
    """
    if len(data) < 2:
        raise FrameError("GSP notification too short")
    if data[0] == NOTIFY_RESULT:
        raise FrameError(f"GSP command result, status {bytes(data[2:]).hex(' ') or 'none'}")
    if data[0] != NOTIFY_DATA:
        raise FrameError(f"unknown GSP notification type {data[0]}")
    body = len(data) - 6
    if body < 12 or body % 12:
        raise FrameError(f"GSP ACC payload of {len(data)} bytes is not a timestamp + xyz floats")
    timestamp_ms = int.from_bytes(data[2:6], "little")
    ms2 = np.frombuffer(data, dtype=_SAMPLE, offset=6).reshape(-1, 3)
    if not np.isfinite(ms2).all() or np.abs(ms2).max() > _MAX_ABS_MS2:
        raise FrameError("GSP ACC sample is not a finite, physical acceleration")
    k = ms2.shape[0]
    interval_ms = 1000.0 / sample_rate_hz
    return DecodedFrame(
        xyz=(ms2.astype(np.float64) / STANDARD_GRAVITY).astype(np.float32),
        device_time_s=(timestamp_ms + (k - 1) * interval_ms) / 1000.0,
        sample_interval_s=interval_ms / 1000.0,
        sequence=None,
    )


def _decode_nominal(data: bytes) -> DecodedFrame:
    return decode_gsp_acc_frame(data, NOMINAL_RATE_HZ)


def matches_movesense(
    name: str | None, service_uuids: Sequence[str], manufacturer_data: Mapping[int, bytes]
) -> bool:
    if name is not None and name.startswith(NAME_PREFIX):
        return True
    return SERVICE_UUID in normalise_uuids(service_uuids)


MOVESENSE = Profile(
    id="movesense",
    family="movesense",
    model="Movesense (GSP firmware)",
    service_uuid=SERVICE_UUID,
    data_uuid=DATA_UUID,
    command_uuid=COMMAND_UUID,
    nominal_rate_hz=float(NOMINAL_RATE_HZ),
    # Estimate: the sensor batches several samples per notification (not measured).
    notification_interval_s=0.3,
    matches=matches_movesense,
    decode=_decode_nominal,
    start_writes=(
        GattWrite(
            COMMAND_UUID, build_subscribe_command(SUBSCRIPTION_REF, acc_path(NOMINAL_RATE_HZ))
        ),
    ),
    stop_writes=(GattWrite(COMMAND_UUID, build_unsubscribe_command(SUBSCRIPTION_REF)),),
)
