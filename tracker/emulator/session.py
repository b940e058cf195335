"""One emulated world: private bus + fake BlueZ + bands, started and stopped together."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import TracebackType

from tracker.emulator.bands import Band
from tracker.emulator.bluez import DeviceLink, FakeBluez
from tracker.emulator.bus import PrivateBus


class Emulator:
    """Start with ``async with Emulator(band, ...) as emu:``.

    With ``apply_env`` (the default) this process's ``DBUS_SYSTEM_BUS_ADDRESS`` and ``PATH``
    point at the private bus and the fake ``bluetoothctl`` until the emulator stops, so
    bleak used in a *fresh* event loop afterwards finds the bands. bleak keeps one BlueZ
    connection per event loop: start the emulator before the first bleak call in that loop.
    """

    def __init__(
        self,
        *bands: Band,
        apply_env: bool = True,
        rssi_interval_s: float = 0.1,
        connect_timeout_s: float = 20.0,
    ) -> None:
        self.bands = list(bands)
        self.apply_env = apply_env
        self.bus = PrivateBus()
        self.bluez: FakeBluez | None = None
        self.links: list[DeviceLink] = []
        self._rssi_interval_s = rssi_interval_s
        self._connect_timeout_s = connect_timeout_s
        self._env: contextlib.ExitStack | None = None

    @property
    def address(self) -> str:
        return self.bus.address

    async def start(self) -> Emulator:
        await self.bus.__aenter__()
        try:
            self.bluez = FakeBluez(
                self.bus.address,
                rssi_interval_s=self._rssi_interval_s,
                connect_timeout_s=self._connect_timeout_s,
            )
            await self.bluez.start()
            for band in self.bands:
                self.links.append(self.bluez.add_device(band))
            if self.apply_env:
                self._env = contextlib.ExitStack()
                self._env.enter_context(self.bus.applied_to_this_process())
        except BaseException:
            await self.stop()
            raise
        return self

    def add_band(self, band: Band) -> DeviceLink:
        if self.bluez is None:
            raise RuntimeError("emulator not started")
        self.bands.append(band)
        link = self.bluez.add_device(band)
        self.links.append(link)
        return link

    async def stop(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None
        for band in self.bands:
            await band.aclose()
        if self.bluez is not None:
            await self.bluez.stop()
            self.bluez = None
        await self.bus.__aexit__(None, None, None)

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def band(self, name: str) -> Band:
        for band in self.bands:
            if band.name == name or band.address == name:
                return band
        raise KeyError(name)

    def __iter__(self) -> Iterator[Band]:
        return iter(self.bands)
