"""Types shared by every band profile: decoded frames, profiles, and the GATT client they drive.

A profile is data plus a few functions: how to recognise the band in a scan, which
characteristics to use, what to write to start and stop the accelerometer stream, and a pure
decoder from one notification's bytes to samples in g. The BLE session layer runs a profile
against a bleak client; everything here is written against the small `GattClient` protocol so
it can be exercised with an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

SIG_BASE_UUID_TAIL = "-0000-1000-8000-00805f9b34fb"


def sig_uuid(short: int) -> str:
    """Full 128-bit form of a 16-bit Bluetooth SIG UUID, as bleak reports it."""
    return f"{short:08x}{SIG_BASE_UUID_TAIL}"


# Standard services worth reading around a stream (Bluetooth SIG assigned numbers).
BATTERY_LEVEL_UUID = sig_uuid(0x2A19)
FIRMWARE_REVISION_UUID = sig_uuid(0x2A26)
HEART_RATE_MEASUREMENT_UUID = sig_uuid(0x2A37)


class FrameError(ValueError):
    """A notification that cannot be decoded into trustworthy samples."""


class ProfileError(RuntimeError):
    """The band refused or did not answer a start/stop command."""


@dataclass(frozen=True, slots=True, eq=False)
class DecodedFrame:
    """Samples carried by one notification (or, for Bangle.js, one text line).

    xyz: (n, 3) float32 acceleration in g, gravity included, in the band's own axes.
    device_time_s: device timestamp of the LAST sample, seconds, on the device's clock
        (for Polar: seconds since the Unix epoch as the band's clock reads it, often local time).
    sample_interval_s: spacing of the samples when the wire (or the negotiated stream) implies it.
    sequence: a counter from the wire, when it has one.
    """

    xyz: np.ndarray
    device_time_s: float | None = None
    sample_interval_s: float | None = None
    sequence: int | None = None

    @property
    def n_samples(self) -> int:
        return int(self.xyz.shape[0])


class GattClient(Protocol):
    """The part of `bleak.BleakClient` a profile needs; keyword `response` is always passed."""

    async def write_gatt_char(
        self, char_specifier: str, data: bytes, response: bool | None = None
    ) -> None: ...

    async def read_gatt_char(self, char_specifier: str) -> bytearray: ...

    async def start_notify(
        self, char_specifier: str, callback: Callable[[Any, bytearray], None]
    ) -> None: ...

    async def stop_notify(self, char_specifier: str) -> None: ...


class StreamDecoder(Protocol):
    """Stateful wrapper around a pure decoder, one per connection.

    `feed` never raises: undecodable input is counted in `rejected` and described in
    `last_error`, so one bad notification cannot end a recording.
    """

    rejected: int
    last_error: str | None

    def feed(self, data: bytes) -> list[DecodedFrame]: ...


class SimpleStreamDecoder:
    """Stream decoder for bands where each notification is self-contained."""

    def __init__(self, decode: Callable[[bytes], DecodedFrame]) -> None:
        self._decode = decode
        self.rejected = 0
        self.last_error: str | None = None

    def feed(self, data: bytes) -> list[DecodedFrame]:
        try:
            return [self._decode(bytes(data))]
        except FrameError as exc:
            self.rejected += 1
            self.last_error = str(exc)
            return []


@dataclass(frozen=True, slots=True)
class GattWrite:
    """One write to a characteristic; response None lets bleak pick from its properties."""

    char_uuid: str
    data: bytes
    response: bool | None = True


@dataclass(frozen=True, slots=True)
class StartedStream:
    """What a profile's `start` negotiated: the rate in use and a decoder configured for it."""

    sample_rate_hz: float
    decoder: StreamDecoder
    notes: tuple[str, ...] = ()


AdvertisementMatcher = Callable[[str | None, Sequence[str], Mapping[int, bytes]], bool]
DataCallback = Callable[[bytes], None]
DeviceStopCallback = Callable[[], None]
StartFunction = Callable[
    ["Profile", GattClient, DataCallback, DeviceStopCallback | None], Awaitable[StartedStream]
]
StopFunction = Callable[["Profile", GattClient], Awaitable[None]]


def bleak_callback(on_data: DataCallback) -> Callable[[Any, bytearray], None]:
    """Adapt a bytes callback to bleak's (characteristic, bytearray) notification signature."""

    def callback(_characteristic: Any, data: bytearray) -> None:
        on_data(bytes(data))

    return callback


@dataclass(frozen=True)
class Profile:
    """How to find, start, stop and decode one kind of band.

    start_writes/stop_writes are the fixed writes of the simple start sequence (subscribe to
    `data_uuid`, then write each in order). Bands whose start is negotiated (Polar) or needs a
    read first (Thingy:52, InfiniTime) supply `custom_start`/`custom_stop`; their start_writes
    then describe the writes for the nominal settings.
    notification_interval_s is the expected time between notifications at the nominal rate,
    for stall detection; silent_when_still means a still band may legitimately send nothing.
    """

    id: str
    family: str
    model: str
    service_uuid: str
    data_uuid: str
    command_uuid: str | None
    nominal_rate_hz: float
    notification_interval_s: float
    matches: AdvertisementMatcher
    decode: Callable[[bytes], DecodedFrame]
    start_writes: tuple[GattWrite, ...] = ()
    stop_writes: tuple[GattWrite, ...] = ()
    silent_when_still: bool = False
    make_stream_decoder: Callable[[], StreamDecoder] | None = None
    custom_start: StartFunction | None = field(default=None, repr=False)
    custom_stop: StopFunction | None = field(default=None, repr=False)

    def new_stream_decoder(self) -> StreamDecoder:
        if self.make_stream_decoder is not None:
            return self.make_stream_decoder()
        return SimpleStreamDecoder(self.decode)

    async def start(
        self,
        client: GattClient,
        on_data: DataCallback,
        on_device_stop: DeviceStopCallback | None = None,
    ) -> StartedStream:
        """Subscribe and start the stream. Notifications may reach `on_data` before this returns,
        so buffer them until the returned decoder is available."""
        if self.custom_start is not None:
            return await self.custom_start(self, client, on_data, on_device_stop)
        await client.start_notify(self.data_uuid, bleak_callback(on_data))
        for write in self.start_writes:
            await client.write_gatt_char(write.char_uuid, write.data, response=write.response)
        return StartedStream(self.nominal_rate_hz, self.new_stream_decoder())

    async def stop(self, client: GattClient) -> None:
        """Stop the stream and unsubscribe. Call before disconnecting."""
        if self.custom_stop is not None:
            await self.custom_stop(self, client)
            return
        for write in self.stop_writes:
            await client.write_gatt_char(write.char_uuid, write.data, response=write.response)
        await client.stop_notify(self.data_uuid)


def normalise_uuids(service_uuids: Sequence[str]) -> set[str]:
    """Lower-case UUID strings; 4-hex-digit short forms are expanded on the SIG base."""
    out: set[str] = set()
    for uuid in service_uuids:
        u = uuid.strip().lower()
        if len(u) == 4:
            u = f"0000{u}{SIG_BASE_UUID_TAIL}"
        out.add(u)
    return out


def require_length(data: bytes, expected: int, what: str) -> None:
    if len(data) != expected:
        raise FrameError(f"{what}: expected {expected} bytes, got {len(data)}")


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """Bluetooth SIG Heart Rate Measurement (0x2A37). On chest straps the contact bit is a
    wear/non-wear hint; it says nothing about posture."""

    bpm: int
    contact_supported: bool
    contact_detected: bool
    energy_kj: int | None
    rr_intervals_s: tuple[float, ...]


def parse_heart_rate_measurement(data: bytes) -> HeartRateMeasurement:
    """Flags byte (bit0 uint16 HR, bit1 contact detected, bit2 contact supported, bit3 energy,
    bit4 RR), HR, optional energy (uint16 kJ), then uint16 RR intervals in 1/1024 s."""
    if len(data) < 2:
        raise FrameError("heart rate measurement too short")
    flags = data[0]
    offset = 3 if flags & 0x01 else 2
    if len(data) < offset:
        raise FrameError("heart rate measurement cut inside the HR value")
    bpm = int.from_bytes(data[1:offset], "little")
    energy = None
    if flags & 0x08:
        if len(data) < offset + 2:
            raise FrameError("heart rate measurement cut inside energy expended")
        energy = int.from_bytes(data[offset : offset + 2], "little")
        offset += 2
    rr: tuple[float, ...] = ()
    if flags & 0x10:
        if (len(data) - offset) % 2:
            raise FrameError("odd number of bytes for RR intervals")
        rr = tuple(
            int.from_bytes(data[i : i + 2], "little") / 1024 for i in range(offset, len(data), 2)
        )
    elif len(data) != offset:
        raise FrameError("trailing bytes after heart rate measurement")
    return HeartRateMeasurement(
        bpm=bpm,
        contact_supported=bool(flags & 0x04),
        contact_detected=bool(flags & 0x02),
        energy_kj=energy,
        rr_intervals_s=rr,
    )
