"""What BlueZ itself says about bands, asked on our own D-Bus connection, and the one
repair bleak's cache of it needs.

bleak answers from a cache of BlueZ's objects. Two things it cannot see from there: a
band left connected by a process that died (it does not advertise, so a scan never
finds it) and a band whose announcement bleak's cache missed (see
`refresh_bleak_bluez_cache`). Linux only; elsewhere these find nothing and do nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BluezDevice:
    name: str
    address: str
    connected: bool
    rssi: int | None  # present while BlueZ hears the band in a scan


def band_matches(target: str, name: str, address: str) -> bool:
    """The rule bands are picked by: the address, the whole name, or part of the name."""
    wanted, name = target.lower(), name.lower()
    return address.lower() == wanted or name == wanted or (len(wanted) >= 4 and wanted in name)


async def _bluez_call(bus: Any, path: str, interface: str, member: str) -> Any:
    from dbus_fast import Message

    return await bus.call(Message(destination="org.bluez", path=path, interface=interface,
                                  member=member))


async def bluez_devices(target: str, disconnect: bool = False) -> list[BluezDevice]:
    """The devices BlueZ itself lists that match `target` (asked on our own bus connection,
    not through bleak's cache); with `disconnect`, the connected ones are disconnected.
    Linux only; empty without a system bus or BlueZ."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        from dbus_fast import BusType
        from dbus_fast.aio import MessageBus

        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    except Exception:  # no system bus or no BlueZ
        return []
    found = []
    try:
        reply = await asyncio.wait_for(
            _bluez_call(bus, "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"),
            10)
        objects = reply.body[0] if reply is not None and reply.body else {}
        for path, interfaces in objects.items():
            device = interfaces.get("org.bluez.Device1")
            if not device:
                continue
            name = str(device["Name"].value) if "Name" in device else ""
            address = str(device["Address"].value) if "Address" in device else ""
            connected = bool(device["Connected"].value) if "Connected" in device else False
            rssi = int(device["RSSI"].value) if "RSSI" in device else None
            if not band_matches(target, name, address):
                continue
            if connected and disconnect:
                await asyncio.wait_for(
                    _bluez_call(bus, path, "org.bluez.Device1", "Disconnect"), 10)
                log.info("released a stale connection to %s", name or address)
            found.append(BluezDevice(name, address, connected, rssi))
    except Exception as error:
        log.debug("could not list BlueZ's devices: %s", error)
    finally:
        bus.disconnect()
    return found


async def release_stale_connection(target: str) -> bool:
    """Disconnect a band matching `target` that BlueZ still holds connected (left so by a
    process that died without disconnecting). False when there was none."""
    return any(device.connected for device in await bluez_devices(target, disconnect=True))


class _WithoutBusLostWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "connection to BlueZ was lost" not in record.getMessage()


async def refresh_bleak_bluez_cache() -> None:
    """Make bleak read BlueZ's device list afresh on its next call.

    bleak's BlueZ backend keeps one cache of BlueZ's objects per event loop, filled at its
    first call. A device BlueZ announces while that first read is under way is dropped
    (bleak clears what arrived meanwhile), and later advertisements of a device bleak does
    not know are ignored: that band is never found again by this process. Many
    collectors starting together on one computer hit this. Dropping the cache (and its
    bus connection) is the remedy; it relies on a private name of bleak's, so it does
    nothing where that has changed."""
    try:
        from bleak.backends.bluezdbus import manager
        instances = manager._global_instances  # private: bleak has no public way
    except (ImportError, AttributeError):
        return
    instance = instances.pop(asyncio.get_running_loop(), None)
    bus = getattr(instance, "_bus", None)
    if bus is None:
        return
    bleak_log = logging.getLogger(manager.__name__)
    quiet = _WithoutBusLostWarning()  # the old cache's bus ends on purpose
    bleak_log.addFilter(quiet)
    try:
        bus.disconnect()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(bus.wait_for_disconnect(), 5)
        await asyncio.sleep(0.1)  # the old cache notices its bus ended
    finally:
        bleak_log.removeFilter(quiet)
