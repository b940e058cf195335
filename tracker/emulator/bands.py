"""Emulated bands: the shared machinery and the profile registry.

A band owns a clock, a motion timeline, its GATT table and its faults. The models live in
:mod:`tracker.emulator.polar_band` and :mod:`tracker.emulator.infinitime_band`.

Playback speed: at ``speed`` N, the band lives N times faster than the wall clock. Samples
and notifications come N times as often and the band's own clock (Polar timestamps)
advances N band-seconds per wall second, i.e. the band's clock runs fast. Frames keep
their real sizes and device spacing, so a decoder sees exactly what a real band would send
over a day, compressed in wall time.

Band time 0 is when a host first starts one of the band's data streams, not when the band
object is made: a day replayed at hundreds of times real speed would otherwise be minutes
along before a collector has even found the band. From then on the clock runs whether
anyone listens or not, as a worn band's would (a link gap loses the motion in it).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import numpy as np

from tracker.emulator.bluez import (
    Advertisement,
    AttError,
    CharacteristicSpec,
    DeviceLink,
    ServiceSpec,
    sig_uuid,
)
from tracker.emulator.faults import FaultInjector
from tracker.emulator.motion import MotionSource, MotionTimeline

BATTERY_SERVICE = sig_uuid(0x180F)
BATTERY_LEVEL = sig_uuid(0x2A19)
DEVICE_INFO_SERVICE = sig_uuid(0x180A)
DIS_MANUFACTURER = sig_uuid(0x2A29)
DIS_MODEL = sig_uuid(0x2A24)
DIS_SERIAL = sig_uuid(0x2A25)
DIS_FIRMWARE = sig_uuid(0x2A26)

ATT_READ_NOT_PERMITTED = 0x02
ATT_WRITE_NOT_PERMITTED = 0x03
ATT_REQUEST_NOT_SUPPORTED = 0x06


@dataclass
class SentFrame:
    """One data notification as the band produced it (before faults) and sent it."""

    wall_time: float  # time.monotonic() when handed to the bus
    band_time_s: float  # band time of the last sample (seconds since the clock started)
    first_index: int  # index of the first sample in the stream's rate timeline
    samples: np.ndarray  # (n, 3) integers as encoded (mG or counts)
    timestamp_ns: int | None  # device timestamp carried in the frame, if any
    payload: bytes  # bytes as encoded, before any fault


class Band:
    """Base class of an emulated band; subclasses add their GATT services and streams."""

    model = "band"

    def __init__(
        self,
        source: MotionSource,
        *,
        address: str,
        name: str,
        address_type: str = "public",
        speed: float = 1.0,
        battery_level: int = 87,
        rssi: int = -58,
        seed: int = 0,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.address = address
        self.address_type = address_type
        self.name = name
        self.speed = float(speed)
        self.source = source
        self.timeline = MotionTimeline(source)
        self.rssi = rssi
        self.link: DeviceLink | None = None
        self.faults = FaultInjector(self, seed=seed)
        self.frames: list[SentFrame] = []
        self.record_frames = True  # long soaks may turn this off
        self.notifications_sent = 0
        self._battery_level = battery_level
        self._power_on: float | None = None  # time.monotonic() at band time 0, once started
        self.clock_started = asyncio.Event()
        self._silent_until = 0.0
        self._wake_handle: asyncio.TimerHandle | None = None
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        # Set when a stream has sent the motion's last sample: a replayed day is over.
        self.motion_ended = asyncio.Event()

    # ---- time ----------------------------------------------------------------------------

    def band_elapsed_s(self, now: float | None = None) -> float:
        """Band seconds since the clock started (wall seconds times speed); 0 before."""
        if self._power_on is None:
            return 0.0
        return ((time.monotonic() if now is None else now) - self._power_on) * self.speed

    def wall_seconds(self, band_seconds: float) -> float:
        return band_seconds / self.speed

    def wall_time_of(self, band_s: float) -> float:
        """time.monotonic() value at which the band reaches ``band_s`` (counted from now
        while the clock has not started)."""
        start = time.monotonic() if self._power_on is None else self._power_on
        return start + band_s / self.speed

    async def sleep_until_band(self, band_s: float) -> None:
        await self.clock_started.wait()
        await asyncio.sleep(max(0.0, self.wall_time_of(band_s) - time.monotonic()))

    def start_clock(self) -> None:
        """Start band time now, unless it already runs."""
        if self._power_on is None:
            self._power_on = time.monotonic()
            self.clock_started.set()

    def first_stream_index(self, rate_hz: float) -> int:
        """Index (at ``rate_hz``) of the first sample of a stream starting now: the day's
        very first if this stream starts the clock, else the first one after now."""
        if self._power_on is None:
            self.start_clock()
            return 0
        return math.ceil(self.band_elapsed_s() * rate_hz)

    def jump_clock(self, seconds: float) -> None:
        """Models with a device clock override this."""

    # ---- Peripheral protocol -------------------------------------------------------------

    def advertisement(self) -> Advertisement:
        return Advertisement(name=self.name, rssi=self.rssi)

    def gatt_services(self) -> list[ServiceSpec]:
        return [
            ServiceSpec(
                DEVICE_INFO_SERVICE,
                tuple(CharacteristicSpec(u, ("read",)) for u in self.device_info()),
            ),
            ServiceSpec(BATTERY_SERVICE, (CharacteristicSpec(BATTERY_LEVEL, ("read", "notify")),)),
        ]

    def device_info(self) -> dict[str, bytes]:
        return {DIS_MANUFACTURER: b"emulated", DIS_MODEL: self.model.encode()}

    def attach(self, link: DeviceLink) -> None:
        self.link = link

    def advertising(self) -> bool:
        return not self.connected and time.monotonic() >= self._silent_until

    @property
    def connected(self) -> bool:
        return self.link is not None and self.link.connected

    def on_connected(self) -> None:
        pass

    def on_disconnected(self) -> None:
        self.faults.reset_link_state()
        self.cancel_tasks()

    def answers_request(self) -> bool:
        return self.faults.takes_request()

    def on_read(self, uuid: str) -> bytes:
        if uuid == BATTERY_LEVEL:
            return bytes([self._battery_level])
        info = self.device_info()
        if uuid in info:
            return info[uuid]
        raise AttError(ATT_READ_NOT_PERMITTED)

    def on_write(self, uuid: str, data: bytes, with_response: bool) -> None:
        raise AttError(ATT_WRITE_NOT_PERMITTED)

    def on_notify_changed(self, uuid: str, enabled: bool) -> None:
        pass

    # ---- helpers for subclasses ----------------------------------------------------------

    @property
    def battery_level(self) -> int:
        return self._battery_level

    @battery_level.setter
    def battery_level(self, level: int) -> None:
        self._battery_level = max(0, min(100, int(level)))
        if self.link is not None:
            self.link.notify(BATTERY_LEVEL, bytes([self._battery_level]))

    def start_task(self, key: str, factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run one named background task (a stream); replaces a running one of that name."""
        self.stop_task(key)
        self._tasks[key] = asyncio.get_running_loop().create_task(factory())

    def stop_task(self, key: str) -> None:
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()

    def task_running(self, key: str) -> bool:
        task = self._tasks.get(key)
        return task is not None and not task.done()

    def cancel_tasks(self) -> None:
        for key in list(self._tasks):
            self.stop_task(key)

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        self.cancel_tasks()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._wake_handle is not None:
            self._wake_handle.cancel()

    def send_data(self, uuid: str, record: SentFrame) -> int:
        """Send one data frame through the fault filter; returns frames handed to the bus."""
        if self.link is None:
            return 0
        sent = 0
        for payload in self.faults.filter_frame(record.payload):
            if self.link.notify(uuid, payload):
                sent += 1
        if sent:
            self.notifications_sent += sent
            if self.record_frames:
                self.frames.append(record)
        return sent

    def go_silent(self, band_seconds: float) -> None:
        """Stop advertising for a while (out of range, rebooting)."""
        if band_seconds <= 0:
            return
        wall = self.wall_seconds(band_seconds)
        self._silent_until = max(self._silent_until, time.monotonic() + wall)
        if self._wake_handle is not None:
            self._wake_handle.cancel()
        loop = asyncio.get_running_loop()
        self._wake_handle = loop.call_at(
            loop.time() + (self._silent_until - time.monotonic()), self._wake
        )

    def _wake(self) -> None:
        self._wake_handle = None
        if self.link is not None:
            self.link.advertising_changed()

    def drop_link(self) -> None:
        if self.link is not None:
            self.link.drop_link()

    def restart(self, boot_s: float) -> None:
        self.go_silent(boot_s)
        self.drop_link()
        self.cancel_tasks()

    def device_stops_stream(self) -> None:
        """Models that can end a stream on their own override this."""


ProfileFactory = Callable[..., Band]


def profiles() -> dict[str, tuple[ProfileFactory, float, str]]:
    """Profile name -> (factory(source, speed=..., **kw), motion rate to ask for, summary)."""
    from tracker.emulator.infinitime_band import InfiniTimeBand
    from tracker.emulator.polar_band import PolarH10, PolarVeritySense

    return {
        "polar-verity-sense": (
            PolarVeritySense,
            PolarVeritySense.MOTION_RATE_HZ,
            "Polar Verity Sense, PMD ACC 52 Hz, delta frames 0x81, mG",
        ),
        "polar-h10": (
            PolarH10,
            PolarH10.MOTION_RATE_HZ,
            "Polar H10, PMD ACC 25/50/100/200 Hz, raw int16 frames 0x01, mG",
        ),
        "infinitime": (
            InfiniTimeBand,
            InfiniTimeBand.MOTION_RATE_HZ,
            "PineTime with InfiniTime >= 1.7, motion service ~10 Hz on change",
        ),
    }


PROFILE_ALIASES = {"verity": "polar-verity-sense", "h10": "polar-h10", "pinetime": "infinitime"}
