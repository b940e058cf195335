"""Band profiles: recognise a band in a scan, start its accelerometer stream, decode it.

    profile = match_advertisement(name, service_uuids, manufacturer_data)
    started = await profile.start(client, on_data)      # client: a bleak.BleakClient
    frames = started.decoder.feed(notification_bytes)   # DecodedFrame, xyz in g
    await profile.stop(client)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .banglejs import BANGLEJS2
from .base import (
    DecodedFrame,
    FrameError,
    GattClient,
    GattWrite,
    Profile,
    ProfileError,
    StartedStream,
    StreamDecoder,
)
from .custom import CustomProfileConfig, make_custom_profile
from .infinitime import INFINITIME
from .movesense import MOVESENSE
from .polar import POLAR_360, POLAR_H10, POLAR_OH1, POLAR_VERITY
from .thingy52 import THINGY52
from .witmotion import WITMOTION

# Matching order matters: specific names first, WitMotion's loose "WT" substring last.
PROFILES: Mapping[str, Profile] = {
    p.id: p
    for p in (
        POLAR_H10,
        POLAR_VERITY,
        POLAR_OH1,
        POLAR_360,
        INFINITIME,
        BANGLEJS2,
        MOVESENSE,
        THINGY52,
        WITMOTION,
    )
}


def match_advertisement(
    name: str | None,
    service_uuids: Sequence[str],
    manufacturer_data: Mapping[int, bytes],
    profiles: Iterable[Profile] | None = None,
) -> Profile | None:
    """The first profile (in registry order) that recognises the advertisement.

    Pass `profiles` to include a custom profile, e.g. `[custom, *PROFILES.values()]`.
    """
    for profile in PROFILES.values() if profiles is None else profiles:
        if profile.matches(name, service_uuids, manufacturer_data):
            return profile
    return None


def profiles_with_custom(config: CustomProfileConfig | Mapping[str, Any]) -> dict[str, Profile]:
    """The registry plus a configured custom profile, which is matched first."""
    custom = make_custom_profile(config)
    return {custom.id: custom, **{k: v for k, v in PROFILES.items() if k != custom.id}}


__all__ = [
    "PROFILES",
    "CustomProfileConfig",
    "DecodedFrame",
    "FrameError",
    "GattClient",
    "GattWrite",
    "Profile",
    "ProfileError",
    "StartedStream",
    "StreamDecoder",
    "make_custom_profile",
    "match_advertisement",
    "profiles_with_custom",
]
