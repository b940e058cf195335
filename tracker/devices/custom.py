"""A profile assembled from configuration, for bands without a built-in profile.

The band must notify fixed-size samples (after an optional fixed header) on one characteristic.
Example config (TOML or JSON, as a mapping):

    id = "custom"
    name_prefix = "MyBand"
    service_uuid = "0000aaaa-0000-1000-8000-00805f9b34fb"
    data_uuid = "0000aaab-0000-1000-8000-00805f9b34fb"
    command_uuid = "0000aaac-0000-1000-8000-00805f9b34fb"    # only with start/stop bytes
    sample_format = "<hhh"        # struct format of one sample, explicit byte order
    xyz_fields = [0, 1, 2]        # which struct fields are x, y, z
    scale_to_g = 0.000244140625   # raw * scale = g
    header_size = 0               # bytes to skip before the first sample
    start_hex = "01 01"           # optional
    stop_hex = "01 00"            # optional
    sample_rate_hz = 25
    notification_interval_s = 0.2
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from .base import DecodedFrame, FrameError, GattWrite, Profile, normalise_uuids

# Full 128-bit UUIDs only: a short form would be expanded on the SIG base, which is wrong for
# vendor UUIDs such as WitMotion's ...9a34fb.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NUMERIC = set("bBhHiIlLqQefd")


@dataclass(frozen=True, slots=True)
class CustomProfileConfig:
    service_uuid: str
    data_uuid: str
    sample_format: str
    scale_to_g: float
    sample_rate_hz: float
    notification_interval_s: float
    id: str = "custom"
    name_prefix: str | None = None
    command_uuid: str | None = None
    xyz_fields: tuple[int, int, int] = (0, 1, 2)
    header_size: int = 0
    start_bytes: bytes | None = None
    stop_bytes: bytes | None = None

    def __post_init__(self) -> None:
        for label in ("service_uuid", "data_uuid", "command_uuid"):
            value = getattr(self, label)
            if value is not None and not _UUID.fullmatch(value):
                raise ValueError(f"{label} must be a full lower-case 128-bit UUID, got {value!r}")
        if self.sample_format[:1] not in ("<", ">", "!", "="):
            raise ValueError("sample_format must start with an explicit byte order: < > ! =")
        try:
            fields = struct.unpack(self.sample_format, bytes(struct.calcsize(self.sample_format)))
        except struct.error as exc:
            raise ValueError(f"bad sample_format: {exc}") from None
        if not set(self.sample_format[1:]) - set("0123456789x") <= _NUMERIC:
            raise ValueError("sample_format may only hold numeric fields and pad bytes")
        if len(self.xyz_fields) != 3 or not all(0 <= i < len(fields) for i in self.xyz_fields):
            raise ValueError("xyz_fields must name three fields of sample_format")
        if not (math.isfinite(self.scale_to_g) and self.scale_to_g != 0):
            raise ValueError("scale_to_g must be a finite non-zero number")
        if self.sample_rate_hz <= 0 or self.notification_interval_s <= 0:
            raise ValueError("sample_rate_hz and notification_interval_s must be positive")
        if self.header_size < 0:
            raise ValueError("header_size must be >= 0")
        if (self.start_bytes or self.stop_bytes) and self.command_uuid is None:
            raise ValueError("start/stop bytes need a command_uuid")

    @property
    def sample_size(self) -> int:
        return struct.calcsize(self.sample_format)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> CustomProfileConfig:
        def hex_bytes(key: str) -> bytes | None:
            value = config.get(key)
            return None if value in (None, "") else bytes.fromhex(str(value))

        def uuid(key: str) -> str | None:
            value = config.get(key)
            return None if value is None else str(value).strip().lower()

        known = {
            "id", "name_prefix", "service_uuid", "data_uuid", "command_uuid", "sample_format",
            "xyz_fields", "scale_to_g", "header_size", "start_hex", "stop_hex",
            "sample_rate_hz", "notification_interval_s",
        }  # fmt: skip
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown custom profile keys: {sorted(unknown)}")
        try:
            x, y, z = (int(i) for i in config.get("xyz_fields", (0, 1, 2)))
            return cls(
                id=str(config.get("id", "custom")),
                name_prefix=config.get("name_prefix"),
                service_uuid=uuid("service_uuid") or "",
                data_uuid=uuid("data_uuid") or "",
                command_uuid=uuid("command_uuid"),
                sample_format=str(config["sample_format"]),
                xyz_fields=(x, y, z),
                scale_to_g=float(config["scale_to_g"]),
                header_size=int(config.get("header_size", 0)),
                start_bytes=hex_bytes("start_hex"),
                stop_bytes=hex_bytes("stop_hex"),
                sample_rate_hz=float(config["sample_rate_hz"]),
                notification_interval_s=float(config["notification_interval_s"]),
            )
        except KeyError as exc:
            raise ValueError(f"custom profile config lacks {exc.args[0]!r}") from None


def decode_custom_frame(data: bytes, config: CustomProfileConfig) -> DecodedFrame:
    """Skip the header, then read whole samples; x, y, z = chosen fields * scale."""
    body = bytes(data)[config.header_size :]
    if len(data) < config.header_size or not body:
        raise FrameError("notification carries no samples")
    if len(body) % config.sample_size:
        raise FrameError(f"{len(body)} bytes are not whole {config.sample_size}-byte samples")
    rows = np.array(list(struct.iter_unpack(config.sample_format, body)), dtype=np.float64)
    xyz = rows[:, list(config.xyz_fields)] * config.scale_to_g
    if not np.isfinite(xyz).all():
        raise FrameError("non-finite sample")
    return DecodedFrame(xyz=xyz.astype(np.float32))


def _matches(
    config: CustomProfileConfig,
    name: str | None,
    service_uuids: Sequence[str],
    manufacturer_data: Mapping[int, bytes],
) -> bool:
    if config.name_prefix and name is not None and name.startswith(config.name_prefix):
        return True
    return config.service_uuid in normalise_uuids(service_uuids)


def make_custom_profile(config: CustomProfileConfig | Mapping[str, Any]) -> Profile:
    if not isinstance(config, CustomProfileConfig):
        config = CustomProfileConfig.from_mapping(config)
    command = config.command_uuid
    start = (GattWrite(command, config.start_bytes),) if command and config.start_bytes else ()
    stop = (GattWrite(command, config.stop_bytes),) if command and config.stop_bytes else ()
    return Profile(
        id=config.id,
        family="custom",
        model=f"custom ({config.name_prefix or config.service_uuid})",
        service_uuid=config.service_uuid,
        data_uuid=config.data_uuid,
        command_uuid=command,
        nominal_rate_hz=config.sample_rate_hz,
        notification_interval_s=config.notification_interval_s,
        matches=partial(_matches, config),
        decode=partial(decode_custom_frame, config=config),
        start_writes=start,
        stop_writes=stop,
    )
