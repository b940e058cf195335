"""Desktop notifications for nudges, with Snooze and "In a meeting" buttons.

Uses `desktop-notifier` (the freedesktop notification service on Linux, the native
centres on macOS and Windows). On a machine with no notification service (a headless
Raspberry Pi, a server) sending fails quietly after one logged warning: the nudge is
still recorded in the store and shown on the dashboard, and the band still buzzes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

NOTIFICATIONS_NAME = "org.freedesktop.Notifications"


async def _service_present() -> bool:
    """On Linux, whether the session bus has (or can start) a notification service;
    desktop-notifier itself only logs a traceback for every notification that fails."""
    if sys.platform != "linux":
        return True
    try:
        from dbus_fast import Message
        from dbus_fast.aio import MessageBus

        bus = await MessageBus().connect()
    except Exception:  # no session bus at all (a service, a headless machine)
        return False
    try:
        for call, body in (("NameHasOwner", [NOTIFICATIONS_NAME]),
                           ("ListActivatableNames", [])):
            reply = await bus.call(Message(
                destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus", member=call,
                signature="s" if body else "", body=body))
            value = reply.body[0] if reply and reply.body else None
            if value is True or (isinstance(value, list) and NOTIFICATIONS_NAME in value):
                return True
        return False
    finally:
        bus.disconnect()

APP_NAME = "Sitting tracker"


@dataclass(frozen=True)
class NudgeAction:
    """A button on a nudge: its label and what pressing it does."""

    title: str
    on_pressed: Callable[[], object]


class DesktopNotifications:
    """Sends notifications; remembers whether the desktop has a notification service."""

    def __init__(self, app_name: str = APP_NAME) -> None:
        self.app_name = app_name
        self._notifier: object | None = None
        self.available = True
        self.sent = 0

    async def send(self, title: str, message: str,
                   actions: tuple[NudgeAction, ...] = ()) -> bool:
        """Show a notification; False (and no exception) where none can be shown."""
        if not self.available:
            return False
        if self._notifier is None and not await _service_present():
            self.available = False
            log.warning("no desktop notification service on this session; nudges are still "
                        "stored and shown on the dashboard")
            return False
        try:
            from desktop_notifier import Button, DesktopNotifier

            if self._notifier is None:
                self._notifier = DesktopNotifier(app_name=self.app_name)
            notifier = self._notifier
            assert isinstance(notifier, DesktopNotifier)
            buttons = [Button(title=a.title, on_pressed=a.on_pressed) for a in actions]
            await notifier.send(title=title, message=message, buttons=buttons)
        except Exception as error:  # any failure of the desktop must not stop the collector
            self.available = False
            log.warning("desktop notifications unavailable (%s); nudges are still stored "
                        "and shown on the dashboard", error)
            return False
        self.sent += 1
        return True
