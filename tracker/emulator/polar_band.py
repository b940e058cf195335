"""Polar bands speaking PMD (spec §1): Verity Sense (delta frames 0x81) and H10 (raw 0x01).

Control point behaviour: a read returns the feature bitmap; every write is answered by an
indication on the CP (only if the host enabled CP indications, as on a real GATT server):
settings query -> ``F0 01 02 00 00 <settings>``, start -> ``F0 02 02 00 00 ...`` then ACC
data frames, stop -> ``F0 03 02 00 00``. The stream ends on stop or disconnect.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from typing import ClassVar

import numpy as np

from tracker.emulator.bands import (
    DIS_FIRMWARE,
    DIS_MANUFACTURER,
    DIS_MODEL,
    DIS_SERIAL,
    Band,
    SentFrame,
)
from tracker.emulator.bluez import Advertisement, CharacteristicSpec, ServiceSpec, sig_uuid
from tracker.emulator.encoders import (
    H10_DEFAULT_CLOCK_NS,
    PMD_ALREADY_IN_STATE,
    PMD_CONTROL_POINT,
    PMD_DATA,
    PMD_INVALID_CHANNELS,
    PMD_INVALID_LENGTH,
    PMD_INVALID_OPCODE,
    PMD_INVALID_PARAMETER,
    PMD_INVALID_RANGE,
    PMD_INVALID_RESOLUTION,
    PMD_INVALID_SAMPLE_RATE,
    PMD_INVALID_TYPE,
    PMD_NOT_SUPPORTED,
    PMD_OK,
    PMD_OP_GET_SETTINGS,
    PMD_OP_START,
    PMD_OP_STOP,
    PMD_SERVICE,
    PMD_SETTING_CHANNELS,
    PMD_SETTING_RANGE,
    PMD_SETTING_RATE,
    PMD_SETTING_RESOLUTION,
    PMD_TYPE_ACC,
    POLAR_EPOCH_OFFSET_NS,
    encode_heart_rate,
    encode_pmd_delta_frame,
    encode_pmd_raw_frame,
    encode_pmd_settings,
    fit_delta_frame,
    parse_pmd_settings,
    pmd_cp_response,
    pmd_features,
)
from tracker.emulator.motion import MotionSource

POLAR_COMPANY_ID = 0x006B
HEART_RATE_SERVICE = sig_uuid(0x180D)
HEART_RATE_MEASUREMENT = sig_uuid(0x2A37)
ATT_MTU = 232
MAX_FRAME_BYTES = ATT_MTU - 3
_STREAM = "acc"
_HEART = "hr"


def local_clock_now_ns() -> int:
    """Device clock as the Polar app sets it: local wall time, counted from 2000-01-01."""
    offset = time.localtime().tm_gmtoff
    return time.time_ns() + offset * 1_000_000_000 - POLAR_EPOCH_OFFSET_NS


def _polar_address(name_seed: str) -> str:
    digest = zlib.crc32(name_seed.encode()).to_bytes(4, "big")
    return "A0:9E:1A:" + ":".join(f"{b:02X}" for b in digest[1:])


class PolarBand(Band):
    """PMD ACC streaming shared by the Polar models."""

    MOTION_RATE_HZ = 52.0
    name_prefix = "Polar"
    features = pmd_features([])
    settings_offer: ClassVar[dict[int, list[int]]] = {}
    required_settings: tuple[int, ...] = ()
    frame_type = 0x01
    start_reply_params = b""
    manufacturer_payload = bytes([0x3F, 0x00, 0x00, 0x00])  # content not modelled

    def __init__(
        self,
        source: MotionSource,
        *,
        device_id: str = "A1B2C3D4",
        address: str | None = None,
        speed: float = 1.0,
        clock_ns: int | None = None,
        seed: int = 0,
        battery_level: int = 87,
    ) -> None:
        name = f"{self.name_prefix} {device_id.upper()}"
        super().__init__(
            source,
            address=address or _polar_address(name),
            name=name,
            speed=speed,
            seed=seed,
            battery_level=battery_level,
        )
        self.device_id = device_id.upper()
        # Device clock (ns since 2000-01-01) at power-on; it then advances at band time.
        self._clock_at_power_on_ns = self.initial_clock_ns() if clock_ns is None else clock_ns
        self._clock_offset_ns = 0
        self.stream_settings: dict[int, int] = {}
        self.cp_log: list[tuple[str, bytes]] = []  # ("write"/"indicate", bytes), for tests

    def initial_clock_ns(self) -> int:
        return local_clock_now_ns()

    def device_clock_ns(self, band_s: float) -> int:
        """Device timestamp at band time ``band_s`` (band seconds since power-on)."""
        return self._clock_at_power_on_ns + self._clock_offset_ns + round(band_s * 1e9)

    def jump_clock(self, seconds: float) -> None:
        self._clock_offset_ns += round(seconds * 1e9)

    @property
    def streaming(self) -> bool:
        return self.task_running(_STREAM)

    # ---- GATT ----------------------------------------------------------------------------

    def advertisement(self) -> Advertisement:
        return Advertisement(
            name=self.name,
            service_uuids=[HEART_RATE_SERVICE],
            manufacturer_data={POLAR_COMPANY_ID: self.manufacturer_payload},
            rssi=self.rssi,
        )

    def gatt_services(self) -> list[ServiceSpec]:
        return [
            *super().gatt_services(),
            ServiceSpec(
                HEART_RATE_SERVICE, (CharacteristicSpec(HEART_RATE_MEASUREMENT, ("notify",)),)
            ),
            ServiceSpec(
                PMD_SERVICE,
                (
                    CharacteristicSpec(PMD_CONTROL_POINT, ("read", "write", "indicate")),
                    CharacteristicSpec(PMD_DATA, ("notify",)),
                ),
            ),
        ]

    def device_info(self) -> dict[str, bytes]:
        return {
            DIS_MANUFACTURER: b"Polar Electro Oy",
            DIS_MODEL: self.model.encode(),
            DIS_SERIAL: self.device_id.encode(),
            DIS_FIRMWARE: b"3.1.1",
        }

    def on_read(self, uuid: str) -> bytes:
        if uuid == PMD_CONTROL_POINT:
            return self.features
        return super().on_read(uuid)

    def on_notify_changed(self, uuid: str, enabled: bool) -> None:
        if uuid == HEART_RATE_MEASUREMENT:
            if enabled:
                self.start_task(_HEART, self._heart_rate_loop)
            else:
                self.stop_task(_HEART)

    def on_write(self, uuid: str, data: bytes, with_response: bool) -> None:
        if uuid != PMD_CONTROL_POINT:
            super().on_write(uuid, data, with_response)
            return
        self.cp_log.append(("write", bytes(data)))
        reply = self._control_point(bytes(data))
        # The indication follows the write response, as on the air.
        asyncio.get_running_loop().call_soon(self._indicate, reply)

    def _indicate(self, value: bytes) -> None:
        if self.link is not None and self.link.notify(PMD_CONTROL_POINT, value):
            self.cp_log.append(("indicate", value))

    def _control_point(self, data: bytes) -> bytes:
        if not data:
            return pmd_cp_response(0, 0, PMD_INVALID_LENGTH)
        opcode = data[0]
        if opcode not in (PMD_OP_GET_SETTINGS, PMD_OP_START, PMD_OP_STOP):
            return pmd_cp_response(opcode, data[1] if len(data) > 1 else 0, PMD_INVALID_OPCODE)
        if len(data) < 2:
            return pmd_cp_response(opcode, 0, PMD_INVALID_LENGTH)
        first = data[1]
        mtype = first & 0x7F
        if first & 0x80 or mtype != PMD_TYPE_ACC:
            # Only online ACC is emulated; other types this model lacks are "not supported".
            status = PMD_INVALID_TYPE if mtype > 14 else PMD_NOT_SUPPORTED
            return pmd_cp_response(opcode, first, status)
        if opcode == PMD_OP_GET_SETTINGS:
            return pmd_cp_response(opcode, first, PMD_OK, encode_pmd_settings(self.settings_offer))
        if opcode == PMD_OP_STOP:
            if not self.streaming:
                return pmd_cp_response(opcode, first, PMD_ALREADY_IN_STATE)
            self.stop_task(_STREAM)
            return pmd_cp_response(opcode, first, PMD_OK)
        if self.streaming:
            return pmd_cp_response(opcode, first, PMD_ALREADY_IN_STATE)
        status, chosen = self._check_start(data[2:])
        if status != PMD_OK:
            return pmd_cp_response(opcode, first, status)
        self.stream_settings = chosen
        self.start_task(_STREAM, self._acc_stream)
        return pmd_cp_response(opcode, first, PMD_OK, self.start_reply_params)

    def _check_start(self, tlvs: bytes) -> tuple[int, dict[int, int]]:
        try:
            requested = parse_pmd_settings(tlvs)
        except ValueError:
            return PMD_INVALID_PARAMETER, {}
        if any(k not in requested for k in self.required_settings):
            return PMD_INVALID_PARAMETER, {}
        chosen: dict[int, int] = {}
        errors = {
            PMD_SETTING_RATE: PMD_INVALID_SAMPLE_RATE,
            PMD_SETTING_RESOLUTION: PMD_INVALID_RESOLUTION,
            PMD_SETTING_RANGE: PMD_INVALID_RANGE,
            PMD_SETTING_CHANNELS: PMD_INVALID_CHANNELS,
        }
        for kind, values in requested.items():
            offered = self.settings_offer.get(kind)
            if offered is None or len(values) != 1:
                return PMD_INVALID_PARAMETER, {}
            if values[0] not in offered:
                return errors.get(kind, PMD_INVALID_PARAMETER), {}
            chosen[kind] = values[0]
        for kind, values in self.settings_offer.items():
            chosen.setdefault(kind, values[0])
        return PMD_OK, chosen

    # ---- streams -------------------------------------------------------------------------

    def on_disconnected(self) -> None:
        # Polar forgets streams and subscriptions when the link goes.
        self.stream_settings = {}
        super().on_disconnected()

    def device_stops_stream(self) -> None:
        if self.streaming:
            self.stop_task(_STREAM)
            self._indicate(bytes([0x01, PMD_TYPE_ACC]))

    def restart(self, boot_s: float) -> None:
        super().restart(boot_s)
        base = self.clock_after_restart_ns(self.band_elapsed_s() + boot_s)
        self._clock_at_power_on_ns, self._clock_offset_ns = base, 0

    def clock_after_restart_ns(self, band_s_at_boot: float) -> int:
        """Clock value at power-on such that it reads right after a reboot at band_s."""
        return self.device_clock_ns(0)

    def to_milli_g(self, samples_g: np.ndarray) -> np.ndarray:
        limit = self.stream_settings.get(PMD_SETTING_RANGE, 8) * 1000
        return np.clip(np.rint(samples_g.astype(np.float64) * 1000.0), -limit, limit).astype(
            np.int64
        )

    def encode_frame(self, samples_mg: np.ndarray, timestamp_ns: int) -> bytes:
        return encode_pmd_raw_frame(samples_mg, timestamp_ns, self.frame_type)

    def samples_per_frame(self, samples_mg: np.ndarray) -> int:
        return min(len(samples_mg), (MAX_FRAME_BYTES - 10) // 6)

    async def _acc_stream(self) -> None:
        rate = float(self.stream_settings.get(PMD_SETTING_RATE, self.MOTION_RATE_HZ))
        index = self.first_stream_index(rate)
        lookahead = 256
        while True:
            window = self.timeline.window(index, lookahead, rate)
            if len(window) == 0:
                self.motion_ended.set()
                return  # the motion source has ended: the band goes quiet
            mg = self.to_milli_g(window)
            n = max(1, self.samples_per_frame(mg))
            last_band_s = (index + n - 1) / rate
            await self.sleep_until_band(last_band_s)
            samples = mg[:n]
            timestamp = self.device_clock_ns(last_band_s)
            payload = self.encode_frame(samples, timestamp)
            self.send_data(
                PMD_DATA,
                SentFrame(time.monotonic(), last_band_s, index, samples, timestamp, payload),
            )
            index += n

    async def _heart_rate_loop(self) -> None:
        beat = 0
        while True:
            await asyncio.sleep(self.wall_seconds(1.0))
            beat += 1
            bpm = 68 + (beat % 5)
            if self.link is not None:
                self.link.notify(HEART_RATE_MEASUREMENT, self.heart_rate_value(bpm))

    def heart_rate_value(self, bpm: int) -> bytes:
        return encode_heart_rate(bpm, contact_supported=False, contact_detected=False)


class PolarVeritySense(PolarBand):
    """Verity Sense, current firmware: ACC 52 Hz +-8 g, delta frames 0x81 in mG filling the
    MTU (~1-2 s per notification at rest), start reply without a factor (C7b)."""

    model = "Polar Sense"
    name_prefix = "Polar Sense"
    MOTION_RATE_HZ = 52.0
    features = bytes.fromhex("0f6e") + bytes(15)  # PPG, ACC, PPI, GYRO, MAG (§1.3)
    settings_offer: ClassVar[dict[int, list[int]]] = {
        PMD_SETTING_RATE: [52],
        PMD_SETTING_RESOLUTION: [16],
        PMD_SETTING_RANGE: [8],
        PMD_SETTING_CHANNELS: [3],
    }
    required_settings = (PMD_SETTING_RATE, PMD_SETTING_RESOLUTION, PMD_SETTING_RANGE)
    frame_type = 0x81
    start_reply_params = b""

    def encode_frame(self, samples_mg: np.ndarray, timestamp_ns: int) -> bytes:
        return encode_pmd_delta_frame(samples_mg, timestamp_ns, frame_type=0x81)

    def samples_per_frame(self, samples_mg: np.ndarray) -> int:
        return fit_delta_frame(samples_mg, MAX_FRAME_BYTES)


class PolarH10(PolarBand):
    """H10: ACC 25/50/100/200 Hz, +-2/4/8 g, raw int16 mG frames (0x01), 36 samples a frame;
    its clock starts at 2019-01-01 on power-on (never time-synced here)."""

    model = "Polar H10"
    name_prefix = "Polar H10"
    MOTION_RATE_HZ = 200.0
    features = bytes.fromhex("0f05") + bytes(15)  # ECG, ACC
    settings_offer: ClassVar[dict[int, list[int]]] = {
        PMD_SETTING_RATE: [25, 50, 100, 200],
        PMD_SETTING_RESOLUTION: [16],
        PMD_SETTING_RANGE: [2, 4, 8],
    }
    required_settings = (PMD_SETTING_RATE, PMD_SETTING_RESOLUTION, PMD_SETTING_RANGE)
    frame_type = 0x01
    start_reply_params = b"\x01"  # C5: trailing "reserved" byte

    def initial_clock_ns(self) -> int:
        return H10_DEFAULT_CLOCK_NS

    def clock_after_restart_ns(self, band_s_at_boot: float) -> int:
        # H10 loses its time on shutdown and restarts from 2019-01-01T00:00:00.
        return H10_DEFAULT_CLOCK_NS - round(band_s_at_boot * 1e9)

    def heart_rate_value(self, bpm: int) -> bytes:
        return encode_heart_rate(
            bpm, contact_supported=True, contact_detected=True, rr_1024=[round(60 / bpm * 1024)]
        )
