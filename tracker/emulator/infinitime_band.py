"""PineTime running InfiniTime (spec §2): motion service, alert notifications, battery.

The motion controller reads the accelerometer every 100 ms (InfiniTime 1.16 timing) and
the raw-motion characteristic notifies **only when x, y or z differ from the previous
reading**, so a perfectly still watch goes silent. Values are int16, 1024 = 1 g, saturating
at +-2 g. Samples are taken in the watch's own axes (the firmware's x/y swap is already
part of what the source describes). A write to New Alert (0x2A46) longer than the 3-byte
header makes the watch vibrate: it is recorded in :attr:`InfiniTimeBand.buzzes`.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

import numpy as np

from tracker.emulator.bands import DIS_FIRMWARE, DIS_MANUFACTURER, DIS_MODEL, Band, SentFrame
from tracker.emulator.bluez import CharacteristicSpec, ServiceSpec, sig_uuid
from tracker.emulator.encoders import (
    INFINITIME_MOTION_SERVICE,
    INFINITIME_RAW_MOTION,
    INFINITIME_STEP_COUNT,
    encode_infinitime_motion,
    g_to_infinitime_counts,
    parse_new_alert,
)
from tracker.emulator.motion import MotionSource

ALERT_NOTIFICATION_SERVICE = sig_uuid(0x1811)
NEW_ALERT = sig_uuid(0x2A46)
_MOTION = "motion"


@dataclass
class Buzz:
    """One vibration caused by a New Alert write."""

    wall_time: float  # time.time()
    band_time_s: float
    category: int
    count: int
    title: str
    body: str
    raw: bytes


class InfiniTimeBand(Band):
    model = "PineTime"
    MOTION_RATE_HZ = 10.0

    def __init__(
        self,
        source: MotionSource,
        *,
        address: str = "F4:1C:9A:3B:52:E7",
        name: str = "InfiniTime",
        firmware: str = "1.15.0",
        speed: float = 1.0,
        seed: int = 0,
        battery_level: int = 74,
    ) -> None:
        super().__init__(
            source,
            address=address,
            name=name,
            address_type="random",
            speed=speed,
            seed=seed,
            battery_level=battery_level,
        )
        self.firmware = firmware
        self.buzzes: list[Buzz] = []
        self.steps = 0
        self._buzz_event = asyncio.Event()

    def device_info(self) -> dict[str, bytes]:
        return {
            DIS_MANUFACTURER: b"PINE64",
            DIS_MODEL: b"PineTime",
            DIS_FIRMWARE: self.firmware.encode(),
        }

    def gatt_services(self) -> list[ServiceSpec]:
        return [
            *super().gatt_services(),
            ServiceSpec(ALERT_NOTIFICATION_SERVICE, (CharacteristicSpec(NEW_ALERT, ("write",)),)),
            ServiceSpec(
                INFINITIME_MOTION_SERVICE,
                (
                    CharacteristicSpec(INFINITIME_STEP_COUNT, ("read", "notify")),
                    CharacteristicSpec(INFINITIME_RAW_MOTION, ("read", "notify")),
                ),
            ),
        ]

    # ---- motion --------------------------------------------------------------------------

    def reading_at(self, index: int) -> tuple[int, int, int] | None:
        sample = self.timeline.window(index, 1, self.MOTION_RATE_HZ)
        return g_to_infinitime_counts(sample[0]) if len(sample) else None

    def on_read(self, uuid: str) -> bytes:
        if uuid == INFINITIME_RAW_MOTION:
            index = math.floor(self.band_elapsed_s() * self.MOTION_RATE_HZ)
            reading = self.reading_at(index) or (0, 0, 0)
            return encode_infinitime_motion(*reading)
        if uuid == INFINITIME_STEP_COUNT:
            return self.steps.to_bytes(4, "little")
        return super().on_read(uuid)

    def on_notify_changed(self, uuid: str, enabled: bool) -> None:
        if uuid != INFINITIME_RAW_MOTION:
            return
        if enabled:
            self.start_task(_MOTION, self._motion_loop)
        else:
            self.stop_task(_MOTION)

    async def _motion_loop(self) -> None:
        rate = self.MOTION_RATE_HZ
        index = self.first_stream_index(rate)
        previous = self.reading_at(index - 1) if index > 0 else None
        while True:
            await self.sleep_until_band(index / rate)
            reading = self.reading_at(index)
            if reading is None:
                self.motion_ended.set()
                return  # the motion source has ended
            if reading != previous:
                payload = encode_infinitime_motion(*reading)
                self.send_data(
                    INFINITIME_RAW_MOTION,
                    SentFrame(
                        time.monotonic(), index / rate, index, np.array([reading]), None, payload
                    ),
                )
            previous = reading
            index += 1

    # ---- alerts --------------------------------------------------------------------------

    def on_write(self, uuid: str, data: bytes, with_response: bool) -> None:
        if uuid != NEW_ALERT:
            super().on_write(uuid, data, with_response)
            return
        if len(data) <= 3:
            return  # InfiniTime ignores alerts with an empty message
        category, count, title, body = parse_new_alert(data)
        self.buzzes.append(
            Buzz(time.time(), self.band_elapsed_s(), category, count, title, body, bytes(data))
        )
        self._buzz_event.set()

    async def wait_for_buzz(self, count: int = 1, timeout: float | None = 5.0) -> list[Buzz]:
        """Wait until at least ``count`` buzzes were recorded (None: no timeout); returns all."""
        async with asyncio.timeout(timeout):
            while len(self.buzzes) < count:
                self._buzz_event.clear()
                await self._buzz_event.wait()
        return list(self.buzzes)
