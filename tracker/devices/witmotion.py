"""WitMotion BWT901BLE 5.0 / WT901BLECL (and, reportedly, WT9011DCL): `55 61` motion frames.

Facts from WITMOTION/WitBluetooth_BWT901BLE5_0 (Python device_model.py, Android
DeviceModel.java for the rate codes) and the WT901BLECL datasheet section 6.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .base import DecodedFrame, FrameError, GattWrite, Profile, normalise_uuids

# Not Bluetooth-SIG UUIDs: the tail is ...00805f9a34fb (9a), so short forms such as "ffe4"
# expand to the wrong UUID in bleak.
WITMOTION_UUID_TAIL = "-0000-1000-8000-00805f9a34fb"
SERVICE_UUID = f"0000ffe5{WITMOTION_UUID_TAIL}"
DATA_UUID = f"0000ffe4{WITMOTION_UUID_TAIL}"  # notify
COMMAND_UUID = f"0000ffe9{WITMOTION_UUID_TAIL}"  # write

FRAME_SIZE = 20
HEADER = 0x55
TYPE_MOTION = 0x61  # acc, gyro, angle
TYPE_REGISTERS = 0x71  # register read reply; skipped
ACC_SCALE_G = 16 / 32768
GYRO_SCALE_DPS = 2000 / 32768
ANGLE_SCALE_DEG = 180 / 32768

UNLOCK = bytes.fromhex("FF AA 69 88 B5")  # valid for about 10 s
SAVE = bytes.fromhex("FF AA 00 00 00")
REGISTER_RATE = 0x03
RATE_CODES = {1: 0x03, 5: 0x05, 10: 0x06, 50: 0x08, 100: 0x09, 200: 0x0B}
# 10 Hz: ample for posture, and the commonly stated default, set explicitly since that
# default is not confirmed.
NOMINAL_RATE_HZ = 10

_VALUES = np.dtype("<i2")


def build_write_register(register: int, value: int) -> bytes:
    return bytes([0xFF, 0xAA, register]) + (value & 0xFFFF).to_bytes(2, "little")


def build_read_register(register: int) -> bytes:
    return bytes([0xFF, 0xAA, 0x27, register, 0x00])


def build_rate_command(rate_hz: int) -> bytes:
    if rate_hz not in RATE_CODES:
        raise ValueError(f"unsupported WitMotion rate {rate_hz} Hz; use {sorted(RATE_CODES)}")
    return build_write_register(REGISTER_RATE, RATE_CODES[rate_hz])


def split_witmotion_frames(buffer: bytes) -> tuple[list[bytes], int]:
    """Complete `55 61` frames in `buffer`, resynchronising byte by byte on `55 61`/`55 71` as
    the vendor parser does. Returns the motion frames and how many bytes were consumed; the
    rest may be the start of a frame continued in the next notification."""
    frames: list[bytes] = []
    i = 0
    n = len(buffer)
    while i < n:
        if buffer[i] != HEADER:
            i += 1
            continue
        if i + 1 >= n:
            break  # a lone 0x55 at the end: keep it
        if buffer[i + 1] not in (TYPE_MOTION, TYPE_REGISTERS):
            i += 1
            continue
        if i + FRAME_SIZE > n:
            break
        if buffer[i + 1] == TYPE_MOTION:
            frames.append(bytes(buffer[i : i + FRAME_SIZE]))
        i += FRAME_SIZE
    return frames, i


@dataclass(frozen=True, slots=True)
class WitMotionSample:
    acc_g: tuple[float, float, float]
    gyro_dps: tuple[float, float, float]
    angle_deg: tuple[float, float, float]


def decode_witmotion_sample(frame: bytes) -> WitMotionSample:
    """All nine values of one `55 61` frame (signed: several third-party parsers forget)."""
    if len(frame) != FRAME_SIZE or frame[0] != HEADER or frame[1] != TYPE_MOTION:
        raise FrameError("not a 20-byte 55 61 WitMotion frame")
    v = np.frombuffer(frame, dtype=_VALUES, offset=2).astype(np.float64)
    acc, gyro, angle = v[0:3] * ACC_SCALE_G, v[3:6] * GYRO_SCALE_DPS, v[6:9] * ANGLE_SCALE_DEG
    return WitMotionSample(
        (float(acc[0]), float(acc[1]), float(acc[2])),
        (float(gyro[0]), float(gyro[1]), float(gyro[2])),
        (float(angle[0]), float(angle[1]), float(angle[2])),
    )


def _frames_to_xyz(frames: list[bytes]) -> np.ndarray:
    joined = np.frombuffer(b"".join(frames), dtype=_VALUES).reshape(-1, 10)
    # Column 0 is the 55 61 header read as int16; acc is columns 1-3.
    return (joined[:, 1:4].astype(np.float32) * np.float32(ACC_SCALE_G)).astype(np.float32)


def decode_witmotion_frame(data: bytes) -> DecodedFrame:
    """Acceleration from one notification (normally exactly one 20-byte frame); stray bytes
    and register replies are skipped. No timestamp on the wire."""
    frames, _consumed = split_witmotion_frames(bytes(data))
    if not frames:
        raise FrameError("no complete 55 61 frame in the notification")
    return DecodedFrame(xyz=_frames_to_xyz(frames))


class WitMotionStreamDecoder:
    """Keeps a partial frame between notifications, like the vendor parser's byte buffer."""

    max_buffer = 4 * FRAME_SIZE

    def __init__(self) -> None:
        self._buffer = b""
        self.rejected = 0
        self.last_error: str | None = None

    def feed(self, data: bytes) -> list[DecodedFrame]:
        buffer = self._buffer + bytes(data)
        frames, consumed = split_witmotion_frames(buffer)
        self._buffer = buffer[consumed:][-self.max_buffer :]
        if not frames:
            if consumed and not self._buffer:
                self.rejected += 1
                self.last_error = "notification without a 55 61 frame"
            return []
        return [DecodedFrame(xyz=_frames_to_xyz(frames))]


def matches_witmotion(
    name: str | None, service_uuids: Sequence[str], manufacturer_data: Mapping[int, bytes]
) -> bool:
    # The vendor's example filters on "WT" in the name.
    if name is not None and "WT" in name:
        return True
    return SERVICE_UUID in normalise_uuids(service_uuids)


WITMOTION = Profile(
    id="witmotion",
    family="witmotion",
    model="WitMotion BWT901BLE / WT901BLECL",
    service_uuid=SERVICE_UUID,
    data_uuid=DATA_UUID,
    command_uuid=COMMAND_UUID,
    nominal_rate_hz=float(NOMINAL_RATE_HZ),
    notification_interval_s=1.0 / NOMINAL_RATE_HZ,
    matches=matches_witmotion,
    decode=decode_witmotion_frame,
    # Unlock, then set the rate for this power cycle only (no SAVE: the band's stored
    # configuration is left alone). response=None lets bleak choose the write type.
    start_writes=(
        GattWrite(COMMAND_UUID, UNLOCK, response=None),
        GattWrite(COMMAND_UUID, build_rate_command(NOMINAL_RATE_HZ), response=None),
    ),
    make_stream_decoder=WitMotionStreamDecoder,
)
