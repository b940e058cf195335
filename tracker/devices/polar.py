"""Polar Measurement Data (PMD) accelerometer stream: H10, Verity Sense, OH1, Polar 360.

Protocol facts (UUIDs, opcodes, TLV sizes, frame layouts, delta compression) come from the
Polar BLE SDK (polarofficial/polar-ble-sdk: BlePMDClient.kt, PmdSetting.kt, PmdDataFrame.kt,
PmdControlPointCommand.kt, PmdControlPointResponse.kt, model/AccData.kt,
model/PmdTimeStampUtils.kt) and Polar's own protocol documents in that repository
(Polar_Measurement_Data_Specification.pdf, online_measurement.pdf 2024).
"""

from __future__ import annotations

import asyncio
import math
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .base import (
    AdvertisementMatcher,
    DataCallback,
    DecodedFrame,
    DeviceStopCallback,
    FrameError,
    GattClient,
    GattWrite,
    Profile,
    ProfileError,
    StartedStream,
    bleak_callback,
)

# -- GATT (SOURCE: BlePMDClient.kt) -------------------------------------------------------------
PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CP_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"  # read, write, indicate
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"  # notify
POLAR_COMPANY_ID = 0x006B  # Bluetooth SIG company identifier (SDK BDScanCallback.kt)

# -- Measurement types, opcodes, setting types (SOURCE: PmdMeasurementType.kt et al.) ------------
MEASUREMENT_ECG = 0
MEASUREMENT_PPG = 1
MEASUREMENT_ACC = 2
MEASUREMENT_PPI = 3
MEASUREMENT_GYRO = 5
MEASUREMENT_MAG = 6
MEASUREMENT_SKIN_TEMP = 7
MEASUREMENT_SDK_MODE = 9

OP_GET_SETTINGS = 0x01
OP_START = 0x02
OP_STOP = 0x03
OP_GET_SDK_MODE_SETTINGS = 0x04
OP_GET_STATUS = 0x05

SETTING_SAMPLE_RATE = 0
SETTING_RESOLUTION = 1
SETTING_RANGE = 2
SETTING_RANGE_MILLIUNIT = 3
SETTING_CHANNELS = 4
SETTING_FACTOR = 5
SETTING_SECURITY = 6
# Value size in bytes per setting type (SOURCE: PmdSetting.kt). CHANNELS is one byte: Verity
# firmware rejects a two-byte value (fsmeraldi/bleakheart issue #10).
SETTING_VALUE_SIZE = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4, 6: 16}

RESPONSE_CODE = 0xF0
PUSH_MEASUREMENT_STOPPED = 0x01

STATUS_SUCCESS = 0
STATUS_ALREADY_IN_STATE = 6
STATUS_NAMES = {
    0: "success",
    1: "invalid op code",
    2: "invalid measurement type",
    3: "not supported",
    4: "invalid length",
    5: "invalid parameter",
    6: "already in state",
    7: "invalid resolution",
    8: "invalid sample rate",
    9: "invalid range",
    10: "invalid MTU",
    11: "invalid number of channels",
    12: "invalid state",
    13: "device in charger",
    14: "disk full",
}

# PMD timestamps count ns from 2000-01-01T00:00:00 (Polar TimeSystemExplained.md).
PMD_EPOCH_OFFSET_NS = 946_684_800_000_000_000
# An H10 that lost power restarts its clock at 2019-01-01T00:00:00 (Polar KnownIssues.md).
H10_RESET_CLOCK_NS = 599_616_000_000_000_000

# ACC frame types, byte 9 of a data frame (VENDOR-DOC + SOURCE AccData.kt).
FRAME_INT8 = 0x00
FRAME_INT16 = 0x01
FRAME_INT24 = 0x02
FRAME_DELTA_FACTOR = 0x80  # raw counts, g = raw * factor
FRAME_DELTA_MG = 0x81  # mG (x factor only if a factor != 1 was returned)
PMD_HEADER_SIZE = 10
_ACC_CHANNELS = 3
_DELTA_REFERENCE_BITS = 16
_MAX_DELTA_WIDTH = 32  # wider fields cannot come from 16-bit samples; treat as corruption


# ================================================================================================
# Data frames
# ================================================================================================


@dataclass(frozen=True, slots=True)
class PmdFrameHeader:
    measurement_type: int
    timestamp_ns: int  # device clock, ns since 2000-01-01, time of the LAST sample
    frame_type: int  # byte 9 as sent: bit 7 = delta-compressed

    @property
    def compressed(self) -> bool:
        return bool(self.frame_type & 0x80)


def parse_pmd_frame_header(data: bytes) -> PmdFrameHeader:
    if len(data) < PMD_HEADER_SIZE:
        raise FrameError(f"PMD frame shorter than its {PMD_HEADER_SIZE}-byte header")
    timestamp_ns = int.from_bytes(data[1:9], "little")
    return PmdFrameHeader(data[0] & 0x3F, timestamp_ns, data[9])


def pmd_time_to_unix_s(timestamp_ns: int) -> float:
    """PMD device time to seconds since the Unix epoch (still the band's clock, maybe local)."""
    return (timestamp_ns + PMD_EPOCH_OFFSET_NS) / 1e9


def _decode_plain(payload: bytes, bytes_per_value: int) -> np.ndarray:
    sample_size = bytes_per_value * _ACC_CHANNELS
    if not payload:
        raise FrameError("PMD frame carries no samples")
    if len(payload) % sample_size:
        raise FrameError(
            f"PMD payload of {len(payload)} bytes is not whole {sample_size}-byte samples"
        )
    if bytes_per_value == 3:
        b = np.frombuffer(payload, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return ((v ^ 0x800000) - 0x800000).astype(np.int64).reshape(-1, _ACC_CHANNELS)
    dtype = "<i1" if bytes_per_value == 1 else "<i2"
    return np.frombuffer(payload, dtype=dtype).astype(np.int64).reshape(-1, _ACC_CHANNELS)


def unpack_pmd_deltas(block: bytes, width: int, count: int) -> np.ndarray:
    """W-bit two's-complement fields, read LSB-first, sample-major then channel."""
    n_fields = count * _ACC_CHANNELS
    bits = np.unpackbits(np.frombuffer(block, dtype=np.uint8), bitorder="little")
    fields = bits[: n_fields * width].reshape(n_fields, width).astype(np.int64)
    values = fields @ (np.int64(1) << np.arange(width, dtype=np.int64))
    # Two's complement: subtract 2^W where the top bit is set. This is also right for W = 1
    # (0 / -1), where the Kotlin SDK's sign extension goes wrong.
    values -= fields[:, width - 1] << width
    return values.reshape(count, _ACC_CHANNELS)


def decode_pmd_delta_samples(payload: bytes) -> np.ndarray:
    """Delta-compressed ACC samples (16-bit reference, 3 channels) as (n, 3) int64 raw values."""
    ref_size = _ACC_CHANNELS * (_DELTA_REFERENCE_BITS // 8)
    if len(payload) < ref_size:
        raise FrameError("delta frame shorter than its reference sample")
    reference = np.frombuffer(payload[:ref_size], dtype="<i2").astype(np.int64)
    parts: list[np.ndarray] = [np.zeros((1, _ACC_CHANNELS), dtype=np.int64)]
    offset = ref_size
    end = len(payload)
    while offset < end:
        if offset + 2 > end:
            raise FrameError("dangling byte after the last delta block")
        width, count = payload[offset], payload[offset + 1]
        offset += 2
        if width > _MAX_DELTA_WIDTH:
            raise FrameError(f"delta width {width} bits is impossible for 16-bit samples")
        n_bytes = (width * count * _ACC_CHANNELS + 7) // 8
        if offset + n_bytes > end:
            raise FrameError("truncated delta block")
        if count:
            if width == 0:  # N zero deltas, no data bytes
                parts.append(np.zeros((count, _ACC_CHANNELS), dtype=np.int64))
            else:
                parts.append(unpack_pmd_deltas(payload[offset : offset + n_bytes], width, count))
        offset += n_bytes
    samples = reference + np.cumsum(np.concatenate(parts), axis=0)
    # Samples are 16-bit on the sensor; a running sum outside that range means corrupt deltas.
    if samples.min() < -32768 or samples.max() > 32767:
        raise FrameError("delta sums leave the 16-bit sample range")
    return samples


def decode_pmd_acc_samples(data: bytes) -> tuple[PmdFrameHeader, np.ndarray]:
    """Header and raw (n, 3) int64 samples of an ACC frame, before any unit conversion."""
    header = parse_pmd_frame_header(data)
    if header.measurement_type != MEASUREMENT_ACC:
        raise FrameError(f"not an ACC frame (measurement type {header.measurement_type})")
    payload = bytes(data[PMD_HEADER_SIZE:])
    ft = header.frame_type
    if ft == FRAME_INT8:
        return header, _decode_plain(payload, 1)
    if ft == FRAME_INT16:
        return header, _decode_plain(payload, 2)
    if ft == FRAME_INT24:
        return header, _decode_plain(payload, 3)
    if ft in (FRAME_DELTA_FACTOR, FRAME_DELTA_MG):
        return header, decode_pmd_delta_samples(payload)
    raise FrameError(f"unsupported ACC frame type 0x{ft:02X}")


def pmd_acc_scale_to_g(frame_type: int, factor: float | None) -> float:
    """Multiplier from raw frame values to g (unit rules: SDK AccData.kt, issues #331/#403)."""
    if factor is not None and not (math.isfinite(factor) and factor > 0):
        raise FrameError(f"unusable conversion factor {factor!r}")
    if frame_type == FRAME_DELTA_FACTOR:
        if factor is None:
            raise FrameError("frame type 0x80 needs the conversion factor from the start response")
        return factor
    if frame_type == FRAME_DELTA_MG and factor is not None and factor != 1.0:
        return factor / 1000.0
    return 1.0 / 1000.0  # mG


def decode_pmd_acc_frame(data: bytes, factor: float | None = None) -> DecodedFrame:
    """Decode one PMD ACC notification into g.

    factor: the FACTOR returned in the start response, if any (required for frame type 0x80).
    device_time_s is the last sample's time on the band's clock; sample_interval_s is left to
    `PmdAccStreamDecoder`, since a single frame does not carry the rate.
    """
    header, raw = decode_pmd_acc_samples(data)
    scale = pmd_acc_scale_to_g(header.frame_type, factor)
    xyz = (raw * scale).astype(np.float32)
    return DecodedFrame(xyz=xyz, device_time_s=pmd_time_to_unix_s(header.timestamp_ns))


def pmd_sample_times_ns(
    frame_time_ns: int,
    n_samples: int,
    previous_frame_time_ns: int | None = None,
    sample_rate_hz: float | None = None,
) -> list[int]:
    """Per-sample device times the way the SDK assigns them (PmdTimeStampUtils.kt).

    With a previous frame of the same stream at P: spacing (T - P) / n, sample i at
    round(P + (i + 1) * spacing). Otherwise spacing 1e9 / rate counted back from T. Rounding is
    half-to-even (as Kotlin's) and exact, using rationals rather than float64.
    """
    if n_samples <= 0:
        return []
    t = Fraction(frame_time_ns)
    if previous_frame_time_ns is not None:
        p = Fraction(previous_frame_time_ns)
        step = (t - p) / n_samples
        return [round(p + (i + 1) * step) for i in range(n_samples)]
    if sample_rate_hz is None or sample_rate_hz <= 0:
        raise ValueError("need a previous frame time or a positive sample rate")
    step = Fraction(10**9) / Fraction(sample_rate_hz)
    return [round(t - (n_samples - 1 - i) * step) for i in range(n_samples)]


class PmdAccStreamDecoder:
    """Per-connection ACC decoder: applies the start-response factor and derives the sample
    spacing from consecutive frame timestamps, as the SDK does."""

    def __init__(self, sample_rate_hz: float, factor: float | None = None) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.factor = factor
        self.rejected = 0
        self.last_error: str | None = None
        self._previous_ns: dict[int, int] = {}

    def reset(self) -> None:
        """Forget the previous frame (on stop or disconnect)."""
        self._previous_ns.clear()

    def feed(self, data: bytes) -> list[DecodedFrame]:
        try:
            header, raw = decode_pmd_acc_samples(bytes(data))
            scale = pmd_acc_scale_to_g(header.frame_type, self.factor)
        except FrameError as exc:
            self.rejected += 1
            self.last_error = str(exc)
            return []
        n = raw.shape[0]
        previous = self._previous_ns.get(header.frame_type)
        # A clock that jumps back (H10 reset to 2019) invalidates the previous frame.
        if previous is not None and header.timestamp_ns > previous:
            interval = (header.timestamp_ns - previous) / n / 1e9
        else:
            interval = 1.0 / self.sample_rate_hz
        self._previous_ns[header.frame_type] = header.timestamp_ns
        frame = DecodedFrame(
            xyz=(raw * scale).astype(np.float32),
            device_time_s=pmd_time_to_unix_s(header.timestamp_ns),
            sample_interval_s=interval,
        )
        return [frame]


# ================================================================================================
# Control point
# ================================================================================================


def measurement_type_byte(measurement_type: int, offline: bool = False) -> int:
    """First parameter byte of a measurement command: recording type in bit 7."""
    return (int(offline) << 7) | measurement_type


def build_get_settings_request(measurement_type: int = MEASUREMENT_ACC) -> bytes:
    return bytes([OP_GET_SETTINGS, measurement_type_byte(measurement_type)])


def build_stop_request(measurement_type: int = MEASUREMENT_ACC) -> bytes:
    return bytes([OP_STOP, measurement_type_byte(measurement_type)])


def build_sdk_mode_request(enable: bool) -> bytes:
    """SDK mode on/off: start/stop with measurement type 9 (SOURCE: BlePMDClient.kt)."""
    return bytes([OP_START if enable else OP_STOP, MEASUREMENT_SDK_MODE])


def encode_pmd_settings(settings: Mapping[int, int]) -> bytes:
    """Settings as start-request TLVs, in the mapping's order, one value each."""
    out = bytearray()
    for setting_type, value in settings.items():
        if setting_type == SETTING_FACTOR:
            raise ValueError("the conversion factor is only sent by the band")
        size = SETTING_VALUE_SIZE.get(setting_type)
        if size is None:
            raise ValueError(f"unknown PMD setting type {setting_type}")
        out += bytes([setting_type, 1]) + int(value).to_bytes(size, "little")
    return bytes(out)


def build_start_request(
    settings: Mapping[int, int], measurement_type: int = MEASUREMENT_ACC
) -> bytes:
    return bytes([OP_START, measurement_type_byte(measurement_type)]) + encode_pmd_settings(
        settings
    )


def parse_pmd_settings(params: bytes) -> dict[int, tuple[int | float, ...]]:
    """Settings TLVs `[type][count][count x value]` to {type: values}, in wire order."""
    out: dict[int, tuple[int | float, ...]] = {}
    offset = 0
    while offset < len(params):
        if offset + 2 > len(params):
            raise FrameError("settings TLV cut after its type byte")
        setting_type, count = params[offset], params[offset + 1]
        offset += 2
        size = SETTING_VALUE_SIZE.get(setting_type)
        if size is None:
            raise FrameError(f"unknown setting type {setting_type}")
        if offset + size * count > len(params):
            raise FrameError(f"settings TLV type {setting_type} truncated")
        if setting_type in out:
            raise FrameError(f"setting type {setting_type} repeated")
        chunks = [params[offset + i * size : offset + (i + 1) * size] for i in range(count)]
        if setting_type == SETTING_FACTOR:
            out[setting_type] = tuple(struct.unpack("<f", c)[0] for c in chunks)
        else:
            out[setting_type] = tuple(int.from_bytes(c, "little") for c in chunks)
        offset += size * count
    return out


@dataclass(frozen=True, slots=True)
class PmdControlPointResponse:
    opcode: int
    measurement_type: int
    status: int
    more: bool
    parameters: bytes

    @property
    def ok(self) -> bool:
        return self.status == STATUS_SUCCESS

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, f"status {self.status}")


@dataclass(frozen=True, slots=True)
class PmdMeasurementStopped:
    """Pushed by the band when it ends online measurements on its own."""

    measurement_types: tuple[int, ...]


def parse_cp_response(data: bytes) -> PmdControlPointResponse:
    """`F0 | opcode | type | status | more | parameters` (parameters only on success)."""
    if len(data) < 5 or data[0] != RESPONSE_CODE:
        raise FrameError("not a PMD control-point response")
    return PmdControlPointResponse(
        opcode=data[1],
        measurement_type=data[2] & 0x3F,
        status=data[3],
        more=data[4] != 0,
        parameters=bytes(data[5:]),
    )


def parse_cp_indication(data: bytes) -> PmdControlPointResponse | PmdMeasurementStopped:
    """A CP indication: a command response, or a device-pushed `01 <types...>` stop notice."""
    if data[:1] == bytes([PUSH_MEASUREMENT_STOPPED]):
        return PmdMeasurementStopped(tuple(b & 0x3F for b in data[1:]))
    return parse_cp_response(data)


class PmdResponseAssembler:
    """Joins multi-part (`more`) responses: later parts contribute bytes from offset 5 on."""

    def __init__(self) -> None:
        self._pending: PmdControlPointResponse | None = None

    def feed(self, data: bytes) -> PmdControlPointResponse | PmdMeasurementStopped | None:
        message = parse_cp_indication(bytes(data))
        if isinstance(message, PmdMeasurementStopped):
            return message
        pending = self._pending
        if pending is not None:
            if message.opcode != pending.opcode:
                self._pending = None
                raise FrameError("continuation of a different PMD response")
            message = PmdControlPointResponse(
                pending.opcode,
                pending.measurement_type,
                pending.status,
                message.more,
                pending.parameters + message.parameters,
            )
        if message.more:
            self._pending = message
            return None
        self._pending = None
        return message


def parse_start_response_factor(params: bytes) -> float | None:
    """The optional FACTOR setting of a start response (C7); `01` alone is "reserved" (C5)."""
    if len(params) >= 6 and params[0] == SETTING_FACTOR and params[1] >= 1:
        factor: float = struct.unpack("<f", params[2:6])[0]
        if math.isfinite(factor) and factor > 0:
            return factor
        raise FrameError(f"unusable conversion factor {factor!r}")
    return None


def parse_pmd_features(data: bytes) -> frozenset[int]:
    """Measurement types from a plain read of the CP (`0F <bitmap> <bitmap>`)."""
    if len(data) < 3 or data[0] != 0x0F:
        raise FrameError("not a PMD feature read")
    types = {bit for bit in range(8) if data[1] >> bit & 1 and bit != 4}
    types |= {8 + bit for bit in range(1, 7) if data[2] >> bit & 1}
    return frozenset(types)


def _pick_at_least(values: Iterable[int], wanted: float) -> int:
    ordered = sorted(values)
    for v in ordered:
        if v >= wanted:
            return v
    return ordered[-1]


def choose_acc_settings(
    offered: Mapping[int, Sequence[int | float]],
    preferred_rate_hz: float = 50.0,
    preferred_range_g: int = 8,
) -> dict[int, int]:
    """One value for every offered setting type (omitting one is refused, SDK issue #124).

    Rate: the lowest offered at or above the preferred one. Range: the preferred one or the next
    wider (a thigh-worn band sees little over 2-4 g, but saturation ruins posture angles).
    Resolution and channels: the largest. The factor is response-only and never sent back.
    """
    chosen: dict[int, int] = {}
    for setting_type, values in offered.items():
        ints = [int(v) for v in values]
        if setting_type == SETTING_FACTOR or not ints:
            continue
        if setting_type == SETTING_SAMPLE_RATE:
            chosen[setting_type] = _pick_at_least(ints, preferred_rate_hz)
        elif setting_type == SETTING_RANGE:
            chosen[setting_type] = _pick_at_least(ints, preferred_range_g)
        elif setting_type == SETTING_RANGE_MILLIUNIT:
            chosen[setting_type] = _pick_at_least(ints, preferred_range_g * 1000)
        elif setting_type in (SETTING_RESOLUTION, SETTING_CHANNELS):
            chosen[setting_type] = max(ints)
        else:
            chosen[setting_type] = ints[0]
    if SETTING_SAMPLE_RATE not in chosen:
        raise ValueError("the band offered no ACC sample rate")
    return chosen


# ================================================================================================
# Session: start / stop against a bleak-like client
# ================================================================================================

CP_RESPONSE_TIMEOUT_S = 5.0


async def _cp_request(
    client: GattClient,
    responses: asyncio.Queue[PmdControlPointResponse],
    request: bytes,
    timeout_s: float = CP_RESPONSE_TIMEOUT_S,
) -> PmdControlPointResponse:
    """Write a CP command and wait for the indication with the same opcode (never read the CP:
    a read returns the feature bitmap, issue #360)."""
    await client.write_gatt_char(PMD_CP_UUID, request, response=True)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise ProfileError(f"no PMD response to {request.hex(' ')}")
        try:
            response = await asyncio.wait_for(responses.get(), remaining)
        except TimeoutError:
            raise ProfileError(f"no PMD response to {request.hex(' ')}") from None
        if response.opcode == request[0]:
            return response


async def _polar_start(
    profile: Profile,
    client: GattClient,
    on_data: DataCallback,
    on_device_stop: DeviceStopCallback | None,
) -> StartedStream:
    responses: asyncio.Queue[PmdControlPointResponse] = asyncio.Queue()
    assembler = PmdResponseAssembler()

    def on_cp(data: bytes) -> None:
        try:
            message = assembler.feed(data)
        except FrameError:
            return
        if isinstance(message, PmdMeasurementStopped):
            if MEASUREMENT_ACC in message.measurement_types and on_device_stop is not None:
                on_device_stop()
        elif message is not None:
            responses.put_nowait(message)

    # Both subscriptions first: the SDK sends no command before both CCCDs are written.
    await client.start_notify(PMD_CP_UUID, bleak_callback(on_cp))
    await client.start_notify(PMD_DATA_UUID, bleak_callback(on_data))

    reply = await _cp_request(client, responses, build_get_settings_request())
    if not reply.ok:
        raise ProfileError(f"{profile.model}: ACC settings query failed: {reply.status_name}")
    offered = parse_pmd_settings(reply.parameters)
    chosen = choose_acc_settings(offered, preferred_rate_hz=profile.nominal_rate_hz)
    start_request = build_start_request(chosen)
    reply = await _cp_request(client, responses, start_request)
    if reply.status == STATUS_ALREADY_IN_STATE:
        # A stream left running by an earlier connection: restart it with our settings.
        await _cp_request(client, responses, build_stop_request())
        reply = await _cp_request(client, responses, start_request)
    if not reply.ok:
        raise ProfileError(f"{profile.model}: ACC start refused: {reply.status_name}")
    factor = parse_start_response_factor(reply.parameters)
    rate = float(chosen[SETTING_SAMPLE_RATE])
    described = ", ".join(f"{k}={v}" for k, v in chosen.items())
    notes = (f"PMD ACC settings {described}; factor {factor}",)
    return StartedStream(rate, PmdAccStreamDecoder(rate, factor), notes)


async def _polar_stop(profile: Profile, client: GattClient) -> None:
    # Always stop before disconnecting: an H10 left streaming stays awake (Polar KnownIssues.md).
    try:
        await client.write_gatt_char(PMD_CP_UUID, build_stop_request(), response=True)
    finally:
        try:
            await client.stop_notify(PMD_DATA_UUID)
        finally:
            await client.stop_notify(PMD_CP_UUID)


# ================================================================================================
# Profiles
# ================================================================================================


def _name_matcher(model: str) -> re.Pattern[str]:
    # Advertised as "Polar <model> <8 hex digit id>" (SDK test fixtures).
    return re.compile(rf"^Polar {re.escape(model)}(?: [0-9A-F]{{1,8}})?$", re.IGNORECASE)


def _polar_matcher(model: str) -> AdvertisementMatcher:
    pattern = _name_matcher(model)

    def matches(
        name: str | None, service_uuids: Sequence[str], manufacturer_data: Mapping[int, bytes]
    ) -> bool:
        # The name carries the model; manufacturer data 0x006B alone cannot tell models apart.
        return name is not None and pattern.match(name.strip()) is not None

    return matches


def _polar_profile(
    profile_id: str, model: str, name_model: str, rate_hz: int, interval_s: float, channels: bool
) -> Profile:
    settings = {SETTING_SAMPLE_RATE: rate_hz, SETTING_RESOLUTION: 16, SETTING_RANGE: 8}
    if channels:
        settings[SETTING_CHANNELS] = 3
    return Profile(
        id=profile_id,
        family="polar",
        model=model,
        service_uuid=PMD_SERVICE_UUID,
        data_uuid=PMD_DATA_UUID,
        command_uuid=PMD_CP_UUID,
        nominal_rate_hz=float(rate_hz),
        notification_interval_s=interval_s,
        matches=_polar_matcher(name_model),
        decode=decode_pmd_acc_frame,
        start_writes=(
            GattWrite(PMD_CP_UUID, build_get_settings_request()),
            GattWrite(PMD_CP_UUID, build_start_request(settings)),
        ),
        stop_writes=(GattWrite(PMD_CP_UUID, build_stop_request()),),
        make_stream_decoder=lambda: PmdAccStreamDecoder(float(rate_hz)),
        custom_start=_polar_start,
        custom_stop=_polar_stop,
    )


# Rates are the normal-mode ACC rates (Polar product docs); H10 offers 25-200 Hz and 50 Hz is
# ample for posture. Notification spacing: Verity ~1.9 s (99-sample frame, issue #443/#317);
# the others are estimates from frame capacity (about 36 samples per 226-byte H10 frame).
POLAR_H10 = _polar_profile("polar-h10", "Polar H10", "H10", 50, 0.75, channels=False)
POLAR_VERITY = _polar_profile("polar-verity", "Polar Verity Sense", "Sense", 52, 2.0, channels=True)
POLAR_OH1 = _polar_profile("polar-oh1", "Polar OH1", "OH1", 50, 1.0, channels=False)
POLAR_360 = _polar_profile("polar-360", "Polar 360", "360", 50, 1.0, channels=False)
POLAR_PROFILES = (POLAR_H10, POLAR_VERITY, POLAR_OH1, POLAR_360)
