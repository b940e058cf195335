"""A freedesktop notification server on a private bus, recording what it is sent.

dbus-fast reads D-Bus signatures from the annotations, so this module must not use
postponed annotations.
"""
# ruff: noqa: F722, F821
# mypy: ignore-errors

from dataclasses import dataclass, field
from typing import Any

from dbus_fast import Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method, signal


@dataclass
class ShownNotification:
    app_name: str
    summary: str
    body: str
    actions: list[str]
    hints: dict[str, Any] = field(default_factory=dict)


class FakeNotificationServer(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.freedesktop.Notifications")
        self.shown: list[ShownNotification] = []

    @method()
    def GetCapabilities(self) -> "as":
        return ["actions", "body"]

    @method()
    def GetServerInformation(self) -> "ssss":
        return ["fake", "tests", "1.0", "1.2"]

    @method()
    def Notify(self, app_name: "s", replaces_id: "u", app_icon: "s", summary: "s",
               body: "s", actions: "as", hints: "a{sv}", expire_timeout: "i") -> "u":
        self.shown.append(ShownNotification(app_name, summary, body, list(actions),
                                            {k: v.value if isinstance(v, Variant) else v
                                             for k, v in hints.items()}))
        return len(self.shown)

    @method()
    def CloseNotification(self, notification_id: "u") -> None:
        return None

    @signal()
    def ActionInvoked(self, notification_id: int, action_key: str) -> "us":
        return [notification_id, action_key]

    @signal()
    def NotificationClosed(self, notification_id: int, reason: int) -> "uu":
        return [notification_id, reason]


async def serve_notifications(address: str) -> tuple[MessageBus, FakeNotificationServer]:
    bus = await MessageBus(bus_address=address).connect()
    server = FakeNotificationServer()
    bus.export("/org/freedesktop/Notifications", server)
    await bus.request_name("org.freedesktop.Notifications")
    return bus, server
