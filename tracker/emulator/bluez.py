"""A fake ``org.bluez`` service, enough for bleak's real BlueZ backend.

It presents one adapter (``/org/bluez/hci0``) and one Device1 object per emulated band,
with the object paths, property types and signal order BlueZ uses (see
``/work/shared/specs/bluez-dbus-for-bleak.md``):

* devices are announced (``InterfacesAdded``) when first seen during discovery, and their
  ``RSSI`` changes every ``rssi_interval_s`` while discovering, because bleak only reports
  a device when one of its properties changes;
* ``Connect`` sets ``Connected``, adds the GATT objects, then sets ``ServicesResolved``;
* a notification or indication is a ``PropertiesChanged`` of the characteristic's ``Value``;
  like BlueZ, a ``ReadValue`` also updates ``Value`` and so emits the same signal;
* a device-side link loss clears ``ServicesResolved`` and ``Connected`` and removes the GATT
  objects (unbonded devices keep no GATT cache).

Bands implement :class:`Peripheral`; the fake hands each one a :class:`DeviceLink` to push
notifications and drop the link. All outgoing messages go through one ordered, paced queue:
dbus-fast treats a full socket send buffer as a fatal error and drops the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import random
import struct
import termios
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

log = logging.getLogger(__name__)

BLUEZ = "org.bluez"
ADAPTER_PATH = "/org/bluez/hci0"
ADAPTER_IFACE = "org.bluez.Adapter1"
DEVICE_IFACE = "org.bluez.Device1"
SERVICE_IFACE = "org.bluez.GattService1"
CHAR_IFACE = "org.bluez.GattCharacteristic1"
DESC_IFACE = "org.bluez.GattDescriptor1"
PROPS_IFACE = "org.freedesktop.DBus.Properties"
OM_IFACE = "org.freedesktop.DBus.ObjectManager"
CCCD_UUID = "00002902-0000-1000-8000-00805f9b34fb"

# Stop writing when this many bytes wait in the socket's send queue (the kernel default
# buffer for unix sockets is ~200 kB; dbus-fast dies with EAGAIN if it ever fills up).
_SEND_QUEUE_LIMIT = 64 * 1024
_FIRST_HANDLE = 0x000C  # BlueZ-style: GAP/GATT services take the first handles


def sig_uuid(short: int) -> str:
    """Full 128-bit form of a 16-bit Bluetooth SIG UUID."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


class AttError(Exception):
    """Raised by a band's GATT handler to answer with an ATT error code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"ATT error 0x{code:02x}")
        self.code = code


@dataclass(frozen=True)
class CharacteristicSpec:
    uuid: str
    flags: tuple[
        str, ...
    ]  # BlueZ flag names: read, write, write-without-response, notify, indicate


@dataclass(frozen=True)
class ServiceSpec:
    uuid: str
    characteristics: tuple[CharacteristicSpec, ...]


@dataclass
class Advertisement:
    name: str
    service_uuids: list[str] = field(default_factory=list)
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_data: dict[str, bytes] = field(default_factory=dict)
    rssi: int = -60
    tx_power: int | None = None


class Peripheral(Protocol):
    """What the fake needs from an emulated band."""

    address: str
    address_type: str  # "public" or "random"

    def advertisement(self) -> Advertisement: ...
    def gatt_services(self) -> list[ServiceSpec]: ...
    def attach(self, link: DeviceLink) -> None: ...
    def advertising(self) -> bool: ...
    def on_connected(self) -> None: ...
    def on_disconnected(self) -> None: ...
    def answers_request(self) -> bool: ...  # False: leave this GATT request unanswered
    def on_read(self, uuid: str) -> bytes: ...
    def on_write(self, uuid: str, data: bytes, with_response: bool) -> None: ...
    def on_notify_changed(self, uuid: str, enabled: bool) -> None: ...


@dataclass
class _Char:
    path: str
    spec: CharacteristicSpec
    cccd_path: str | None
    notify_sessions: set[str] = field(default_factory=set)


class DeviceLink:
    """The fake's side of one device: what a band uses to talk to the host."""

    def __init__(self, fake: FakeBluez, peripheral: Peripheral) -> None:
        self._fake = fake
        self.peripheral = peripheral
        self.path = f"{ADAPTER_PATH}/dev_{peripheral.address.upper().replace(':', '_')}"
        self.connected = False
        self.exported = False  # Device1 object announced (seen in a discovery)
        self.chars: dict[str, _Char] = {}  # by UUID, only while connected
        self.gatt_paths: list[str] = []
        self.pending_connect: asyncio.Future[bool] | None = None
        self.connections = 0  # successful connections, for tests
        self.rssi = peripheral.advertisement().rssi

    def is_notifying(self, uuid: str) -> bool:
        char = self.chars.get(uuid)
        return bool(self.connected and char and char.notify_sessions)

    def notify(self, uuid: str, value: bytes) -> bool:
        """Send a notification/indication; False (and nothing sent) if not subscribed."""
        if not self.is_notifying(uuid):
            return False
        char = self.chars[uuid]
        self._fake.set_props(
            char.path, CHAR_IFACE, {"Value": Variant("ay", bytes(value))}, always=True
        )
        return True

    def drop_link(self) -> None:
        """Device-side link loss (band out of range, reset, battery out)."""
        if self.connected:
            self._fake.end_connection(self)

    def advertising_changed(self) -> None:
        """Call when the band starts advertising again so a waiting Connect can proceed."""
        self._fake.wake_pending_connect(self)

    @property
    def outbox_size(self) -> int:
        return self._fake.outbox_size


class FakeBluez:
    """The fake ``org.bluez`` on a given bus address (see module docstring)."""

    def __init__(
        self,
        bus_address: str,
        adapter_address: str = "00:1A:7D:DA:71:13",
        rssi_interval_s: float = 0.1,
        connect_timeout_s: float = 20.0,
        seed: int = 0,
    ) -> None:
        self.bus_address = bus_address
        self.adapter_address = adapter_address
        self.rssi_interval_s = rssi_interval_s
        # How long a Connect waits for a band that is not advertising before failing.
        self.connect_timeout_s = connect_timeout_s
        self.devices: dict[str, DeviceLink] = {}  # by object path
        self._objects: dict[str, dict[str, dict[str, Variant]]] = {}
        self._bus: MessageBus | None = None
        self._discovery_sessions: set[str] = set()
        self._filters: dict[str, list[str]] = {}  # sender -> UUIDs filter
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sender_task: asyncio.Task[None] | None = None
        self._rssi_task: asyncio.Task[None] | None = None
        self._rng = random.Random(seed)

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        bus = MessageBus(bus_address=self.bus_address)
        await bus.connect()
        self._bus = bus
        bus.add_message_handler(self._on_message)
        await self._call_daemon(
            "AddMatch",
            "s",
            ["type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'"],
        )
        reply = await self._call_daemon("RequestName", "su", [BLUEZ, 4])  # 4: do not queue
        if reply.message_type == MessageType.ERROR or reply.body[0] != 1:
            raise RuntimeError(f"could not own {BLUEZ} on {self.bus_address}: {reply.body}")
        self._objects[ADAPTER_PATH] = {ADAPTER_IFACE: self._adapter_props()}
        self._sender_task = asyncio.create_task(self._send_loop(bus))

    async def stop(self) -> None:
        for task in [*self._tasks, self._rssi_task, self._sender_task]:
            if task is not None:
                task.cancel()
        for task in [*self._tasks, self._rssi_task, self._sender_task]:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks.clear()
        if self._bus is not None:
            self._bus.disconnect()
            with contextlib.suppress(Exception):
                await self._bus.wait_for_disconnect()
            self._bus = None

    async def __aenter__(self) -> FakeBluez:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def add_device(self, peripheral: Peripheral) -> DeviceLink:
        link = DeviceLink(self, peripheral)
        self.devices[link.path] = link
        peripheral.attach(link)
        if self._discovery_sessions and self._matches_filter(link):
            self._export_device(link)
        return link

    @property
    def outbox_size(self) -> int:
        return self._outbox.qsize()

    async def bus_connection_names(self) -> list[str]:
        """Unique names of all connections on the bus (ListNames), for leak checks."""
        reply = await self._call_daemon("ListNames", "", [])
        return sorted(name for name in reply.body[0] if name.startswith(":"))

    async def connection_pid(self, name: str) -> int | None:
        reply = await self._call_daemon("GetConnectionUnixProcessID", "s", [name])
        return None if reply.message_type == MessageType.ERROR else int(reply.body[0])

    @property
    def unique_name(self) -> str | None:
        return self._bus.unique_name if self._bus else None

    # ---- sending -------------------------------------------------------------------------

    def _send(self, msg: Message) -> None:
        self._outbox.put_nowait(msg)

    async def _send_loop(self, bus: MessageBus) -> None:
        assert bus._sock is not None
        sock_fd = bus._sock.fileno()  # the only way to see the socket's queued bytes
        buf = bytearray(4)
        while True:
            msg = await self._outbox.get()
            while True:
                fcntl.ioctl(sock_fd, termios.TIOCOUTQ, buf)
                if struct.unpack("i", buf)[0] < _SEND_QUEUE_LIMIT:
                    break
                await asyncio.sleep(0.002)
            try:
                await bus.send(msg)
            except Exception:  # the bus is gone; nothing more can be delivered
                log.warning("fake bluez lost its bus connection", exc_info=True)
                return

    async def _call_daemon(self, member: str, signature: str, body: list[Any]) -> Message:
        assert self._bus is not None
        reply = await self._bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member=member,
                signature=signature,
                body=body,
            )
        )
        assert reply is not None
        return reply

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- object tree ---------------------------------------------------------------------

    def set_props(
        self, path: str, iface: str, changes: dict[str, Variant], always: bool = False
    ) -> None:
        """Update properties and emit PropertiesChanged (only real changes unless always)."""
        props = self._objects.get(path, {}).get(iface)
        if props is None:
            return
        changed = {}
        for name, value in changes.items():
            old = props.get(name)
            if always or old is None or old.value != value.value:
                props[name] = value
                changed[name] = value
        if changed:
            self._send(
                Message.new_signal(
                    path, PROPS_IFACE, "PropertiesChanged", "sa{sv}as", [iface, changed, []]
                )
            )

    def _invalidate_prop(self, path: str, iface: str, name: str) -> None:
        props = self._objects.get(path, {}).get(iface)
        if props is not None and props.pop(name, None) is not None:
            self._send(
                Message.new_signal(
                    path, PROPS_IFACE, "PropertiesChanged", "sa{sv}as", [iface, {}, [name]]
                )
            )

    def _add_object(self, path: str, ifaces: dict[str, dict[str, Variant]]) -> None:
        self._objects[path] = ifaces
        self._send(
            Message.new_signal("/", OM_IFACE, "InterfacesAdded", "oa{sa{sv}}", [path, ifaces])
        )

    def _remove_object(self, path: str) -> None:
        ifaces = self._objects.pop(path, None)
        if ifaces is not None:
            self._send(
                Message.new_signal("/", OM_IFACE, "InterfacesRemoved", "oas", [path, list(ifaces)])
            )

    def _adapter_props(self) -> dict[str, Variant]:
        return {
            "Address": Variant("s", self.adapter_address),
            "AddressType": Variant("s", "public"),
            "Name": Variant("s", "emulated-hci0"),
            "Alias": Variant("s", "emulated-hci0"),
            "Class": Variant("u", 0),
            "Powered": Variant("b", True),
            "Discoverable": Variant("b", False),
            "Pairable": Variant("b", True),
            "Discovering": Variant("b", False),
            "UUIDs": Variant("as", []),
            "Roles": Variant("as", ["central", "peripheral"]),
        }

    def _device_props(self, link: DeviceLink) -> dict[str, Variant]:
        adv = link.peripheral.advertisement()
        props = {
            "Address": Variant("s", link.peripheral.address.upper()),
            "AddressType": Variant("s", link.peripheral.address_type),
            "Name": Variant("s", adv.name),
            "Alias": Variant("s", adv.name),
            "Paired": Variant("b", False),
            "Bonded": Variant("b", False),
            "Trusted": Variant("b", False),
            "Blocked": Variant("b", False),
            "LegacyPairing": Variant("b", False),
            "Connected": Variant("b", False),
            "ServicesResolved": Variant("b", False),
            "UUIDs": Variant("as", list(adv.service_uuids)),
            "Adapter": Variant("o", ADAPTER_PATH),
            "ManufacturerData": Variant(
                "a{qv}", {k: Variant("ay", v) for k, v in adv.manufacturer_data.items()}
            ),
            "ServiceData": Variant(
                "a{sv}", {k: Variant("ay", v) for k, v in adv.service_data.items()}
            ),
            "RSSI": Variant("n", link.rssi),
        }
        if adv.tx_power is not None:
            props["TxPower"] = Variant("n", adv.tx_power)
        return props

    def _export_device(self, link: DeviceLink) -> None:
        link.exported = True
        self._add_object(link.path, {DEVICE_IFACE: self._device_props(link)})

    def export_unannounced(self, link: DeviceLink) -> None:
        """List the device from now on, with its announcement (InterfacesAdded) lost to the
        clients listening: what a client that was reading the object list when the device
        appeared can miss (bleak does, see tracker.bluez.refresh_bleak_bluez_cache)."""
        link.exported = True
        self._objects[link.path] = {DEVICE_IFACE: self._device_props(link)}

    # ---- discovery -----------------------------------------------------------------------

    def _matches_filter(self, link: DeviceLink) -> bool:
        if any(not uuids for uuids in (self._filters.get(s, []) for s in self._discovery_sessions)):
            return True
        wanted = {u.lower() for s in self._discovery_sessions for u in self._filters.get(s, [])}
        advertised = {u.lower() for u in link.peripheral.advertisement().service_uuids}
        return bool(wanted & advertised)

    async def _advertisement_loop(self) -> None:
        # One advertisement per device per tick: BlueZ updates RSSI on each one it receives.
        while True:
            for link in list(self.devices.values()):
                if link.connected or not link.peripheral.advertising():
                    continue
                if not self._matches_filter(link):
                    continue
                base = link.peripheral.advertisement().rssi
                rssi = link.rssi
                while rssi == link.rssi:
                    rssi = base + self._rng.randint(-4, 4)
                link.rssi = rssi
                if not link.exported:
                    self._export_device(link)
                else:
                    adv = link.peripheral.advertisement()
                    self.set_props(
                        link.path,
                        DEVICE_IFACE,
                        {
                            "RSSI": Variant("n", rssi),
                            "Name": Variant("s", adv.name),
                            "ManufacturerData": Variant(
                                "a{qv}",
                                {k: Variant("ay", v) for k, v in adv.manufacturer_data.items()},
                            ),
                        },
                    )
            await asyncio.sleep(self.rssi_interval_s)

    def _discovery_changed(self) -> None:
        discovering = bool(self._discovery_sessions)
        self.set_props(ADAPTER_PATH, ADAPTER_IFACE, {"Discovering": Variant("b", discovering)})
        if discovering and self._rssi_task is None:
            self._rssi_task = asyncio.get_running_loop().create_task(self._advertisement_loop())
        elif not discovering and self._rssi_task is not None:
            self._rssi_task.cancel()
            self._rssi_task = None
            # BlueZ drops the stale RSSI of devices it no longer hears.
            for link in self.devices.values():
                if link.exported and not link.connected:
                    self._invalidate_prop(link.path, DEVICE_IFACE, "RSSI")

    # ---- connections ---------------------------------------------------------------------

    async def _connect(self, link: DeviceLink, msg: Message) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout_s
        # An LE connection attempt waits until the band advertises (or times out).
        while link.pending_connect is not None and not link.peripheral.advertising():
            remaining = deadline - loop.time()
            if remaining <= 0:
                link.pending_connect = None
                self._send(
                    Message.new_error(
                        msg, "org.bluez.Error.Failed", "Software caused connection abort"
                    )
                )
                return
            waiting = link.pending_connect
            try:
                proceed = await asyncio.wait_for(asyncio.shield(waiting), remaining)
            except TimeoutError:
                continue
            if not proceed:
                break
            if link.pending_connect is waiting:
                link.pending_connect = loop.create_future()
        if link.pending_connect is None:  # cancelled by Disconnect
            self._send(Message.new_error(msg, "org.bluez.Error.Failed", "Operation aborted"))
            return
        link.pending_connect = None
        if not link.connected:
            self._begin_connection(link)
        self._send(Message.new_method_return(msg))

    def wake_pending_connect(self, link: DeviceLink) -> None:
        if link.pending_connect is not None and not link.pending_connect.done():
            link.pending_connect.set_result(True)

    def _begin_connection(self, link: DeviceLink) -> None:
        link.connected = True
        link.connections += 1
        self.set_props(link.path, DEVICE_IFACE, {"Connected": Variant("b", True)})
        link.peripheral.on_connected()
        self._add_gatt_objects(link)
        uuids = list(
            dict.fromkeys(
                [
                    *link.peripheral.advertisement().service_uuids,
                    *(s.uuid for s in link.peripheral.gatt_services()),
                ]
            )
        )
        self.set_props(
            link.path,
            DEVICE_IFACE,
            {"UUIDs": Variant("as", uuids), "ServicesResolved": Variant("b", True)},
        )

    def _add_gatt_objects(self, link: DeviceLink) -> None:
        handle = _FIRST_HANDLE  # a real device's attribute table is the same every time
        for service in link.peripheral.gatt_services():
            spath = f"{link.path}/service{handle:04x}"
            handle += 1
            self._add_object(
                spath,
                {
                    SERVICE_IFACE: {
                        "UUID": Variant("s", service.uuid),
                        "Device": Variant("o", link.path),
                        "Primary": Variant("b", True),
                        "Includes": Variant("ao", []),
                    }
                },
            )
            link.gatt_paths.append(spath)
            for spec in service.characteristics:
                cpath = f"{spath}/char{handle:04x}"
                handle += 2  # declaration + value
                props = {
                    "UUID": Variant("s", spec.uuid),
                    "Service": Variant("o", spath),
                    "Value": Variant("ay", b""),
                    "Flags": Variant("as", list(spec.flags)),
                    "MTU": Variant("q", 232),
                }
                notifiable = "notify" in spec.flags or "indicate" in spec.flags
                if notifiable:
                    props["Notifying"] = Variant("b", False)
                self._add_object(cpath, {CHAR_IFACE: props})
                link.gatt_paths.append(cpath)
                dpath = None
                if notifiable:
                    dpath = f"{cpath}/desc{handle:04x}"
                    handle += 1
                    self._add_object(
                        dpath,
                        {
                            DESC_IFACE: {
                                "UUID": Variant("s", CCCD_UUID),
                                "Characteristic": Variant("o", cpath),
                                "Value": Variant("ay", b""),
                                "Flags": Variant("as", ["read", "write"]),
                            }
                        },
                    )
                    link.gatt_paths.append(dpath)
                link.chars[spec.uuid] = _Char(cpath, spec, dpath)

    def end_connection(self, link: DeviceLink) -> None:
        """Tear a connection down (either side), in BlueZ's signal order."""
        if not link.connected:
            return
        link.connected = False
        self.set_props(link.path, DEVICE_IFACE, {"ServicesResolved": Variant("b", False)})
        self.set_props(link.path, DEVICE_IFACE, {"Connected": Variant("b", False)})
        for path in reversed(link.gatt_paths):
            self._remove_object(path)
        link.gatt_paths.clear()
        link.chars.clear()
        link.peripheral.on_disconnected()

    # ---- incoming messages ---------------------------------------------------------------

    def _on_message(self, msg: Message) -> bool | None:
        if msg.message_type == MessageType.SIGNAL:
            if msg.member == "NameOwnerChanged" and msg.sender == "org.freedesktop.DBus":
                name, _old, new = msg.body
                if name.startswith(":") and not new:
                    self._client_gone(name)
            return None
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        path = msg.path or ""
        if not (path == "/" or path.startswith("/org/bluez")):
            return None
        try:
            reply = self._dispatch(msg)
        except _BluezError as e:
            reply = Message.new_error(msg, e.name, e.text)
        if reply is not None:
            self._send(reply)
        return True

    def _dispatch(self, msg: Message) -> Message | None:
        iface, member, path = msg.interface, msg.member, msg.path or ""
        if iface == OM_IFACE and member == "GetManagedObjects":
            objects = {p: i for p, i in self._objects.items() if path == "/" or p.startswith(path)}
            return Message.new_method_return(msg, "a{oa{sa{sv}}}", [objects])
        if path not in self._objects:
            raise _BluezError("org.freedesktop.DBus.Error.UnknownObject", f"no object {path}")
        if iface == PROPS_IFACE:
            return self._properties_call(msg)
        if iface == ADAPTER_IFACE:
            return self._adapter_call(msg)
        if iface == DEVICE_IFACE:
            return self._device_call(msg, self.devices[path])
        if iface == CHAR_IFACE:
            return self._char_call(msg)
        if iface == DESC_IFACE:
            return self._desc_call(msg)
        raise _BluezError("org.freedesktop.DBus.Error.UnknownMethod", f"{iface}.{member}")

    def _properties_call(self, msg: Message) -> Message:
        objects = self._objects[msg.path or ""]
        if msg.member == "GetAll":
            return Message.new_method_return(msg, "a{sv}", [objects.get(msg.body[0], {})])
        if msg.member == "Get":
            value = objects.get(msg.body[0], {}).get(msg.body[1])
            if value is None:
                raise _BluezError("org.freedesktop.DBus.Error.InvalidArgs", "No such property")
            return Message.new_method_return(msg, "v", [value])
        if msg.member == "Set":
            iface, name, value = msg.body
            if iface == DEVICE_IFACE and name in ("Trusted", "Alias", "Blocked"):
                self.set_props(msg.path or "", iface, {name: value})
                return Message.new_method_return(msg)
            raise _BluezError("org.freedesktop.DBus.Error.PropertyReadOnly", name)
        raise _BluezError("org.freedesktop.DBus.Error.UnknownMethod", msg.member or "")

    def _adapter_call(self, msg: Message) -> Message:
        sender = msg.sender or ""
        if msg.member == "SetDiscoveryFilter":
            uuids = msg.body[0].get("UUIDs")
            if msg.body[0]:
                self._filters[sender] = [str(u) for u in (uuids.value if uuids else [])]
            else:
                self._filters.pop(sender, None)
            return Message.new_method_return(msg)
        if msg.member == "StartDiscovery":
            self._discovery_sessions.add(sender)
            self._discovery_changed()
            return Message.new_method_return(msg)
        if msg.member == "StopDiscovery":
            if sender not in self._discovery_sessions:
                raise _BluezError("org.bluez.Error.Failed", "No discovery started")
            self._discovery_sessions.discard(sender)
            self._discovery_changed()
            return Message.new_method_return(msg)
        if msg.member == "GetDiscoveryFilters":
            return Message.new_method_return(msg, "as", [["UUIDs", "RSSI", "Transport"]])
        if msg.member == "RemoveDevice":
            link = self.devices.get(msg.body[0])
            if link is None or not link.exported:
                raise _BluezError("org.bluez.Error.DoesNotExist", "Does Not Exist")
            self.end_connection(link)
            link.exported = False
            self._remove_object(link.path)
            return Message.new_method_return(msg)
        raise _BluezError("org.freedesktop.DBus.Error.UnknownMethod", msg.member or "")

    def _device_call(self, msg: Message, link: DeviceLink) -> Message | None:
        if msg.member == "Connect":
            if link.connected:
                return Message.new_method_return(msg)
            if link.pending_connect is not None:
                raise _BluezError("org.bluez.Error.InProgress", "In Progress")
            link.pending_connect = asyncio.get_running_loop().create_future()
            self._spawn(self._connect(link, msg))
            return None  # replied by _connect
        if msg.member == "Disconnect":
            pending = link.pending_connect
            if pending is not None:
                link.pending_connect = None
                if not pending.done():
                    pending.set_result(False)
                return Message.new_method_return(msg)
            if not link.connected:
                raise _BluezError("org.bluez.Error.NotConnected", "Not Connected")
            self.end_connection(link)
            return Message.new_method_return(msg)
        if msg.member == "Pair":
            raise _BluezError("org.bluez.Error.AuthenticationFailed", "pairing not emulated")
        raise _BluezError("org.freedesktop.DBus.Error.UnknownMethod", msg.member or "")

    def _find_char(self, path: str) -> tuple[DeviceLink, _Char]:
        for link in self.devices.values():
            if path.startswith(link.path + "/"):
                for char in link.chars.values():
                    if char.path == path or char.cccd_path == path:
                        return link, char
        raise _BluezError("org.freedesktop.DBus.Error.UnknownObject", path)

    def _char_call(self, msg: Message) -> Message | None:
        path = msg.path or ""
        link, char = self._find_char(path)
        flags = char.spec.flags
        if not link.connected:
            raise _BluezError("org.bluez.Error.Failed", "Not connected")
        if msg.member != "StopNotify" and not link.peripheral.answers_request():
            return None  # a hung request: the caller waits for a reply that never comes
        if msg.member == "ReadValue":
            if "read" not in flags:
                raise _BluezError("org.bluez.Error.NotPermitted", "Read not permitted")
            value = self._guarded(lambda: link.peripheral.on_read(char.spec.uuid))
            # BlueZ caches a read value in Value and announces it like a notification.
            self.set_props(path, CHAR_IFACE, {"Value": Variant("ay", value)}, always=True)
            return Message.new_method_return(msg, "ay", [value])
        if msg.member == "WriteValue":
            data, options = bytes(msg.body[0]), msg.body[1]
            kind = (
                options["type"].value
                if "type" in options
                else ("request" if "write" in flags else "command")
            )
            needed = "write" if kind != "command" else "write-without-response"
            if needed not in flags:
                raise _BluezError("org.bluez.Error.NotPermitted", "Write not permitted")
            self._guarded(lambda: link.peripheral.on_write(char.spec.uuid, data, kind != "command"))
            return Message.new_method_return(msg)
        if msg.member == "StartNotify":
            if "notify" not in flags and "indicate" not in flags:
                raise _BluezError("org.bluez.Error.NotSupported", "Operation is not supported")
            first = not char.notify_sessions
            char.notify_sessions.add(msg.sender or "")
            if first:
                self.set_props(path, CHAR_IFACE, {"Notifying": Variant("b", True)})
                link.peripheral.on_notify_changed(char.spec.uuid, True)
            return Message.new_method_return(msg)
        if msg.member == "StopNotify":
            if (msg.sender or "") not in char.notify_sessions:
                raise _BluezError("org.bluez.Error.Failed", "No notify session started")
            self._drop_notify_session(link, char, msg.sender or "")
            return Message.new_method_return(msg)
        raise _BluezError("org.freedesktop.DBus.Error.UnknownMethod", msg.member or "")

    def _desc_call(self, msg: Message) -> Message:
        link, char = self._find_char(msg.path or "")
        if not link.connected:
            raise _BluezError("org.bluez.Error.Failed", "Not connected")
        if msg.member == "ReadValue":
            on = bool(char.notify_sessions)
            value = bytes([(2 if "indicate" in char.spec.flags else 1) if on else 0, 0])
            return Message.new_method_return(msg, "ay", [value])
        if msg.member == "WriteValue":
            # BlueZ owns the CCCD; clients must use StartNotify.
            raise _BluezError("org.bluez.Error.NotPermitted", "Write not permitted")
        raise _BluezError("org.freedesktop.DBus.Error.UnknownMethod", msg.member or "")

    @staticmethod
    def _guarded(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except AttError as e:
            raise _BluezError(
                "org.bluez.Error.Failed", f"Operation failed with ATT error: 0x{e.code:02x}"
            ) from e

    def _drop_notify_session(self, link: DeviceLink, char: _Char, sender: str) -> None:
        char.notify_sessions.discard(sender)
        if not char.notify_sessions:
            self.set_props(char.path, CHAR_IFACE, {"Notifying": Variant("b", False)})
            link.peripheral.on_notify_changed(char.spec.uuid, False)

    def _client_gone(self, name: str) -> None:
        # BlueZ ends discovery and notify sessions of clients that leave the bus.
        self._filters.pop(name, None)
        if name in self._discovery_sessions:
            self._discovery_sessions.discard(name)
            self._discovery_changed()
        for link in self.devices.values():
            for char in list(link.chars.values()):
                if name in char.notify_sessions:
                    self._drop_notify_session(link, char, name)


class _BluezError(Exception):
    def __init__(self, name: str, text: str) -> None:
        super().__init__(text)
        self.name = name
        self.text = text
