"""Emulated BLE bands for tests and demos, reachable through bleak's real BlueZ backend.

There is no radio: a private ``dbus-daemon`` stands in for the system bus, a fake
``org.bluez`` (dbus-fast) presents the bands exactly as BlueZ would, and each band speaks
its real wire protocol (Polar PMD, InfiniTime motion service, standard services).

    from tracker.emulator import ArrayMotionSource, Emulator, PolarVeritySense
    band = PolarVeritySense(ArrayMotionSource(samples_g, 52.0), speed=10)
    async with Emulator(band):
        ...  # bleak in this event loop now finds "Polar Sense A1B2C3D4"
        band.faults.link_loss(refuse_reconnect_s=5)
"""

from tracker.emulator.bands import Band, SentFrame, profiles
from tracker.emulator.bluez import FakeBluez
from tracker.emulator.bus import DBusDaemonNotFoundError, PrivateBus, find_dbus_daemon
from tracker.emulator.faults import FaultInjector, parse_fault_spec, run_fault_schedule
from tracker.emulator.infinitime_band import Buzz, InfiniTimeBand
from tracker.emulator.motion import (
    ArrayMotionSource,
    MotionSource,
    MotionTimeline,
    SyntheticMotionSource,
)
from tracker.emulator.polar_band import PolarBand, PolarH10, PolarVeritySense
from tracker.emulator.session import Emulator

__all__ = [
    "ArrayMotionSource",
    "Band",
    "Buzz",
    "DBusDaemonNotFoundError",
    "Emulator",
    "FakeBluez",
    "FaultInjector",
    "InfiniTimeBand",
    "MotionSource",
    "MotionTimeline",
    "PolarBand",
    "PolarH10",
    "PolarVeritySense",
    "PrivateBus",
    "SentFrame",
    "SyntheticMotionSource",
    "find_dbus_daemon",
    "parse_fault_spec",
    "profiles",
    "run_fault_schedule",
]
