"""Scanning for bands and keeping a stream alive with bleak.

`BandSession.run()` finds the band (by name or address), connects, starts the
accelerometer through its profile, and hands timestamped samples to a callback. When
the link drops, the band goes quiet for too long (a stall) or connecting gets no answer
for a minute, it disconnects cleanly and reconnects with backoff, for as long as it
runs. Every sample is delivered once, in time order; time without samples is left as a
gap, never filled in.

Times: samples are placed on a timeline in seconds (Unix time for a real band, read from
the wall clock, so a computer that slept puts the next samples after its sleep). A band
with a clock (Polar) keeps its own sample spacing, anchored to the timeline at the first
frame and re-anchored when its clock jumps; a band without one is timed by arrival,
kept continuous while arrivals agree with the nominal rate. An emulated band replayed
N times faster than real time is followed with `time_scale=N`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tracker.bluez import (
    band_matches,
    bluez_devices,
    refresh_bleak_bluez_cache,
    release_stale_connection,
)
from tracker.devices import PROFILES, DecodedFrame, Profile, StreamDecoder, match_advertisement
from tracker.devices.base import BATTERY_LEVEL_UUID, sig_uuid

log = logging.getLogger(__name__)

SampleCallback = Callable[[np.ndarray, np.ndarray], None]
EventCallback = Callable[[str, str], None]

# A device clock that disagrees with the arrival times by more than this has jumped.
CLOCK_JUMP_S = 5.0
NEW_ALERT_UUID = sig_uuid(0x2A46)
NORDIC_UART_RX_UUID = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"


@dataclass(frozen=True)
class FoundBand:
    name: str
    address: str
    rssi: int | None
    profile: Profile | None
    battery: int | None = None


def bluetooth_problem(error: BaseException) -> str | None:
    """What is wrong with the computer's Bluetooth, if ``error`` says the stack itself is
    missing, off or out of reach (rather than a band being away); else None."""
    text = str(error)
    if isinstance(error, (FileNotFoundError, ConnectionRefusedError)):
        # dbus-fast could not open the system bus socket: BlueZ is out of reach.
        return ("Bluetooth is not available: BlueZ cannot be reached on the system D-Bus "
                "(is the bluetooth service installed and running? `systemctl status "
                "bluetooth`)")
    if "No Bluetooth adapters found" in text:
        return ("no Bluetooth adapter found: is one built in or plugged in, and not "
                "blocked? (`bluetoothctl show`, `rfkill list`)")
    if "org.bluez.Error.NotReady" in text:
        return "Bluetooth is switched off: switch it on (`bluetoothctl power on`)"
    return None


def describe_ble_error(error: BaseException) -> str:
    """A failure while finding or talking to a band, in words the wearer can act on."""
    problem = bluetooth_problem(error)
    if problem is not None:
        return problem
    if isinstance(error, LookupError) or not str(error):
        return str(error) or type(error).__name__
    return f"{type(error).__name__}: {error}"


def band_profiles(custom_band: Mapping[str, Any] | None) -> list[Profile]:
    """The built-in profiles, with a configured custom one first."""
    if not custom_band:
        return list(PROFILES.values())
    from tracker.devices import profiles_with_custom

    return list(profiles_with_custom(custom_band).values())


def profile_for(name: str | None, service_uuids: Iterable[str],
                manufacturer_data: Mapping[int, bytes],
                profiles: Iterable[Profile] | None = None) -> Profile | None:
    return match_advertisement(name, list(service_uuids), dict(manufacturer_data), profiles)


async def scan(timeout: float = 5.0, include_all: bool = False, read_battery: bool = True,
               profiles: Iterable[Profile] | None = None) -> list[FoundBand]:
    """Bands seen within `timeout` seconds, supported ones first, strongest signal first."""
    from bleak import BleakScanner

    profile_list = list(profiles) if profiles is not None else None
    seen = await BleakScanner.discover(timeout=timeout, return_adv=True)
    found = []
    for device, adv in seen.values():
        name = adv.local_name or device.name or ""
        profile = profile_for(name, adv.service_uuids, adv.manufacturer_data, profile_list)
        if profile is None and not include_all:
            continue
        found.append(FoundBand(name, device.address, adv.rssi, profile))
    if read_battery:
        found = [await _with_battery(band) if band.profile else band for band in found]
    return sorted(found, key=lambda b: (b.profile is None, -(b.rssi or -999)))


async def _with_battery(band: FoundBand) -> FoundBand:
    from bleak import BleakClient

    client = BleakClient(band.address)
    try:
        await client.connect(timeout=5.0)
        level = await asyncio.wait_for(client.read_gatt_char(BATTERY_LEVEL_UUID), 5.0)
        return FoundBand(band.name, band.address, band.rssi, band.profile, int(level[0]))
    except Exception:  # battery is a nicety: a band without the service still streams
        return band
    finally:
        with contextlib.suppress(Exception):
            await client.disconnect()


async def _bounded(call: Any, seconds: float) -> None:
    """Run a clean-up call for at most `seconds`, whatever it does: unlike wait_for, this
    does not wait for a call that ignores cancellation to finish cancelling."""
    task = asyncio.ensure_future(call)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        log.warning("gave up waiting for %s after %g s", getattr(call, "__qualname__", call),
                    seconds)
        return
    if not task.cancelled() and task.exception() is not None:
        log.debug("clean-up call failed: %s", task.exception())


class SampleClock:
    """Places decoded frames on the timeline (see the module docstring)."""

    def __init__(self, rate_hz: float, time_scale: float = 1.0,
                 origin: float | None = None) -> None:
        self.rate_hz = rate_hz
        self.time_scale = time_scale
        self.origin = origin
        # A real band (no replay, no given origin) is timed by the wall clock.
        self._wall_clock = time_scale == 1.0 and origin is None
        self._host0: float | None = None
        self._anchor: tuple[float, float] | None = None  # (device time, timeline time)
        self._previous: tuple[float, float] | None = None  # last frame's (device, arrival)
        self.last_t: float | None = None
        self.jumps = 0

    def timeline(self, arrival: float) -> float:
        """Timeline time of a host monotonic arrival time."""
        if self._wall_clock:
            # Arrivals are read on the monotonic clock, which no clock setting moves, but
            # which stops while the computer sleeps: the wall clock's lead over it, read
            # now, puts the frames after a laptop's hour asleep an hour later, where they
            # belong, not straight after the last ones before it slept.
            return arrival + (time.time() - time.monotonic())
        if self._host0 is None:
            self._host0 = arrival
            if self.origin is None:
                self.origin = time.time()
        assert self.origin is not None
        return self.origin + (arrival - self._host0) * self.time_scale

    def _continue_from(self, frame: DecodedFrame, spacing: float, now: float) -> float:
        """After a jump of the band's clock, place the frame where its arrival says, but
        never before the last sample already placed."""
        if self.last_t is None:
            return now
        return max(now, self.last_t + frame.n_samples * spacing)

    def times(self, frame: DecodedFrame, arrival: float) -> np.ndarray:
        n = frame.n_samples
        nominal = 1.0 / self.rate_hz
        spacing = frame.sample_interval_s or nominal
        if not 0.5 * nominal < spacing < 2.0 * nominal:
            spacing = nominal  # a spacing derived across a clock jump or a lost frame
        now = self.timeline(arrival)
        # Arrival times jitter with the link and the event loop; replayed N times faster,
        # the jitter is N times larger on the timeline.
        tolerance = CLOCK_JUMP_S * max(1.0, self.time_scale)
        if frame.device_time_s is not None:
            # A jump is the band's clock going back, or leaping further ahead than the
            # arrivals explain. Arrivals later than the band's clock says (a busy host, a
            # slow link) are not a jump: the band's clock is the better witness of time.
            previous = self._previous
            if self._anchor is None or previous is None or \
                    frame.device_time_s - previous[0] < -1.0 or \
                    (frame.device_time_s - previous[0]) - (now - previous[1]) > tolerance:
                placed = now
                if self._anchor is not None:
                    self.jumps += 1
                    placed = self._continue_from(frame, spacing, now)
                self._anchor = (frame.device_time_s, placed)
            self._previous = (frame.device_time_s, now)
            last = self._anchor[1] + frame.device_time_s - self._anchor[0]
        else:
            expected = None if self.last_t is None else self.last_t + n * spacing
            last = expected if expected is not None and abs(expected - now) < tolerance else now
        times = last - spacing * np.arange(n - 1, -1, -1)
        self.last_t = float(times[-1]) if n else self.last_t
        return times


@dataclass
class SessionStats:
    connected: bool = False
    frames: int = 0
    samples: int = 0
    rejected: int = 0
    duplicates: int = 0  # samples not after the last delivered one, dropped
    missed_samples: int = 0  # estimated from holes in a band clock's timeline
    reconnects: int = 0
    stalls: int = 0
    battery: int | None = None
    last_error: str = ""
    rate_hz: float | None = None
    profile: str = ""
    name: str = ""
    address: str = ""
    events: list[tuple[float, str, str]] = field(default_factory=list)


class BandSession:
    """One band, streamed for as long as `run` runs; see the module docstring."""

    def __init__(self, target: str, on_samples: SampleCallback, *,
                 profiles: Iterable[Profile] | None = None, time_scale: float = 1.0,
                 origin: float | None = None, stall_after: float = 5.0,
                 min_stall_s: float = 5.0, max_backoff_s: float = 30.0,
                 scan_timeout_s: float = 10.0, attempt_timeout_s: float = 60.0,
                 on_event: EventCallback | None = None) -> None:
        self.target = target
        self.on_samples = on_samples
        self.profiles = list(profiles) if profiles is not None else list(PROFILES.values())
        self.time_scale = time_scale
        self.stall_after = stall_after
        self.min_stall_s = min_stall_s
        self.max_backoff_s = max_backoff_s
        self.scan_timeout_s = scan_timeout_s
        self.attempt_timeout_s = attempt_timeout_s  # finding, connecting and starting
        self.on_event = on_event
        self.stats = SessionStats()
        self.profile: Profile | None = None
        self.clock: SampleClock | None = None
        self._origin = origin
        self._client: Any = None
        self._decoder: StreamDecoder | None = None
        self._early: list[tuple[bytes, float]] = []
        self._last_notification = 0.0
        self._lost = asyncio.Event()
        self._last_delivered: float | None = None
        self.last_exception: BaseException | None = None  # of the latest failed attempt

    # --- the run loop --------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, stream and reconnect until `stop` is set; then stop and disconnect."""
        backoff = 0.25
        warned = ""
        try:
            while not stop.is_set():
                attempt_started = time.monotonic()
                try:
                    await self._connect_and_start_within_bound()
                    warned = ""  # connected: say the next problem again
                    await self._watch(stop)
                except Exception as error:  # any failure means: clean up, wait, retry
                    self.last_exception = error
                    self.stats.last_error = describe_ble_error(error)
                    self._event("error", self.stats.last_error)
                    if self.stats.last_error != warned:
                        # Once per problem, not per retry: a wrong band name or Bluetooth
                        # switched off is otherwise invisible behind the retries.
                        warned = self.stats.last_error
                        log.warning("%s; still trying", warned)
                finally:
                    await self._teardown(graceful=stop.is_set())
                if stop.is_set():
                    break
                # Back off only after quick failures: an attempt that streamed, scanned or
                # waited for a connection already spent its time, and the band may be
                # advertising again right now.
                if time.monotonic() - attempt_started > 2 * backoff:
                    backoff = 0.25
                self.stats.reconnects += 1
                self._event("reconnecting", f"in {backoff:.2f} s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(self.max_backoff_s, backoff * 2)
        finally:
            await self._teardown(graceful=True)

    async def _connect_and_start_within_bound(self) -> None:
        """Connect and start, given up after `attempt_timeout_s`. bleak waits without end
        for a GATT or D-Bus request nobody answers (a hung band or Bluetooth stack);
        without a bound that one request would stop the collection for good."""
        try:
            async with asyncio.timeout(self.attempt_timeout_s) as bound:
                await self._connect_and_start()
        except TimeoutError:
            if not bound.expired():
                raise  # a timeout of its own, such as bleak's connect
            raise ConnectionError(f"no answer from {self.target} (or from Bluetooth) "
                                  f"within {self.attempt_timeout_s:g} s of starting to "
                                  "connect") from None

    async def _connect_and_start(self) -> None:
        from bleak import BleakClient

        if self._client is None:
            device, profile = await self._find()
            self.profile = profile
            self.stats.profile, self.stats.name = profile.id, device.name or self.target
            self.stats.address = device.address
            self._client = BleakClient(device, disconnected_callback=self._on_disconnect)
        assert self.profile is not None
        self._lost.clear()
        await self._client.connect(timeout=10.0)
        self.stats.connected = True
        self._event("connected", f"{self.stats.name} ({self.profile.id})")
        with contextlib.suppress(Exception):
            level = await self._client.read_gatt_char(BATTERY_LEVEL_UUID)
            self.stats.battery = int(level[0])
        self._decoder = None
        self._early = []
        self._last_notification = time.monotonic()
        started = await self.profile.start(self._client, self._on_data, self._on_device_stop)
        self.stats.rate_hz = started.sample_rate_hz
        if self.clock is None:
            self.clock = SampleClock(started.sample_rate_hz, self.time_scale, self._origin)
        self._decoder = started.decoder
        for data, arrival in self._early:
            self._handle(data, arrival)
        self._early = []
        self._event("streaming", f"{started.sample_rate_hz:g} Hz")

    async def _find(self) -> tuple[Any, Profile]:
        """Scan until the wanted band advertises; its advertisement picks the profile."""
        from bleak import BleakScanner

        found: asyncio.Future[tuple[Any, Any]] = asyncio.get_running_loop().create_future()

        def on_advertisement(device: Any, adv: Any) -> None:
            name = adv.local_name or device.name or ""
            if not found.done() and band_matches(self.target, name, device.address):
                found.set_result((device, adv))

        if self.stats.reconnects == 0:
            # At start-up, a band still held by a collector that crashed would not
            # advertise: release it first rather than scan in vain.
            await release_stale_connection(self.target)
        for attempt in range(2):
            async with BleakScanner(detection_callback=on_advertisement):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(found), self.scan_timeout_s)
                if found.done() or attempt:
                    break
                # Asked while still scanning: BlueZ gives an RSSI to what it hears now.
                listed = await bluez_devices(self.target, disconnect=True)
            if any(device.connected for device in listed):
                # A band still connected to a collector that crashed does not
                # advertise: that connection is now released; look again.
                continue
            heard = [device for device in listed if device.rssi is not None]
            if not heard:
                break  # away, switched off or out of range
            # BlueZ hears the band, yet bleak reported no advertisement of it in a
            # whole scan: bleak's cache missed it (tracker.bluez.refresh_bleak_bluez_cache).
            self._event("rescan", f"BlueZ hears {heard[0].name or heard[0].address} but "
                        "bleak did not report it; reading BlueZ's devices afresh")
            await refresh_bleak_bluez_cache()
        if not found.done():
            raise LookupError(f"no band named or addressed {self.target!r} in range")
        device, adv = found.result()
        name = adv.local_name or device.name or device.address
        profile = profile_for(name, adv.service_uuids, adv.manufacturer_data, self.profiles)
        if profile is None:
            raise LookupError(f"{name} is not a supported band (see 'sitting-tracker scan')")
        return device, profile

    async def _watch(self, stop: asyncio.Event) -> None:
        """Wait while streaming; return on stop, link loss or stall."""
        assert self.profile is not None
        # Stall: several notification intervals of silence (band time, so faster when
        # replayed fast), but never less than a few host seconds of scheduling slack.
        stall_s = max(self.min_stall_s,
                      self.stall_after * self.profile.notification_interval_s / self.time_scale)
        if self.profile.silent_when_still:
            stall_s = max(stall_s, 60.0 / self.time_scale)
        while not stop.is_set() and not self._lost.is_set():
            quiet = time.monotonic() - self._last_notification
            if quiet > stall_s:
                if self.profile.silent_when_still and await self._still_there():
                    self._last_notification = time.monotonic()
                    continue
                self.stats.stalls += 1
                self._event("stall", f"no data for {quiet:.1f} s")
                return
            await asyncio.sleep(0.1)
        if self._lost.is_set():
            self._event("link lost", "")

    async def _still_there(self) -> bool:
        try:
            level = await asyncio.wait_for(self._client.read_gatt_char(BATTERY_LEVEL_UUID), 5)
            self.stats.battery = int(level[0])
            return True
        except Exception:
            return False

    async def _teardown(self, graceful: bool) -> None:
        client = self._client
        self.stats.connected = False
        self._decoder = None
        if client is None:
            return
        if graceful and self.profile is not None and client.is_connected:
            await _bounded(self.profile.stop(client), 5)
        # Always disconnect, even after a device-side loss: bleak leaks a bus connection
        # per reconnect otherwise.
        await _bounded(client.disconnect(), 10)

    # --- notifications -----------------------------------------------------------------

    def _on_disconnect(self, _client: Any) -> None:
        self._lost.set()

    def _on_device_stop(self) -> None:
        self._event("band stopped the stream", "")
        self._lost.set()

    def _on_data(self, data: bytes) -> None:
        arrival = time.monotonic()
        self._last_notification = arrival
        if self._decoder is None:
            self._early.append((data, arrival))
            return
        self._handle(data, arrival)

    def _handle(self, data: bytes, arrival: float) -> None:
        assert self._decoder is not None and self.clock is not None
        before = self._decoder.rejected
        frames = self._decoder.feed(data)
        if self._decoder.rejected > before:
            self.stats.rejected += self._decoder.rejected - before
            log.debug("rejected frame: %s", self._decoder.last_error)
        for frame in frames:
            self.stats.frames += 1
            if frame.n_samples == 0:
                continue
            times = self.clock.times(frame, arrival)
            self._deliver(times, frame.xyz, frame.sample_interval_s)

    def _deliver(self, times: np.ndarray, xyz: np.ndarray, spacing: float | None) -> None:
        if self._last_delivered is not None:
            fresh = times > self._last_delivered + 1e-9
            self.stats.duplicates += int((~fresh).sum())
            if not fresh.all():
                times, xyz = times[fresh], xyz[fresh]
            if len(times) and spacing:
                hole = times[0] - self._last_delivered
                if 1.5 * spacing < hole < CLOCK_JUMP_S:
                    self.stats.missed_samples += round(hole / spacing) - 1
        if len(times) == 0:
            return
        self._last_delivered = float(times[-1])
        self.stats.samples += len(times)
        self.on_samples(times, xyz)

    def _event(self, kind: str, detail: str) -> None:
        self.stats.events.append((time.time(), kind, detail))
        del self.stats.events[:-50]
        log.info("%s %s", kind, detail)
        if self.on_event is not None:
            self.on_event(kind, detail)

    # --- haptics -------------------------------------------------------------------------

    async def buzz(self, title: str, body: str = "") -> bool:
        """Make the band vibrate where it can (InfiniTime, Bangle.js); False otherwise."""
        client, profile = self._client, self.profile
        if client is None or profile is None or not self.stats.connected:
            return False
        try:
            if profile.family == "infinitime":
                payload = bytes([0, 1, 0]) + title.encode()[:60] + b"\0" + body.encode()[:100]
                await client.write_gatt_char(NEW_ALERT_UUID, payload, response=True)
            elif profile.family == "banglejs":
                # \x10 keeps the Espruino console from echoing the command back.
                await client.write_gatt_char(NORDIC_UART_RX_UUID,
                                             b"\x10Bangle.buzz(400);\n", response=False)
            else:
                return False
        except Exception as error:
            self._event("buzz failed", str(error))
            return False
        return True
