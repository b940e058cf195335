"""Nudges reach a real freedesktop notification service over D-Bus, buttons work, and a
desktop without one does not stop anything."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.fakes.notification_server import serve_notifications
from tracker.emulator.bus import PrivateBus, find_dbus_daemon
from tracker.notify import DesktopNotifications, NudgeAction

pytestmark = [
    pytest.mark.skipif(find_dbus_daemon() is None,
                       reason="dbus-daemon missing: run scripts/install-system-deps.sh"),
    pytest.mark.timeout(30),
]


@pytest.fixture
def session_bus(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with PrivateBus() as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        yield bus


def test_nudge_is_shown_and_its_button_calls_back(session_bus: PrivateBus) -> None:
    async def scenario() -> None:
        bus, server = await serve_notifications(session_bus.address)
        pressed: list[str] = []
        notes = DesktopNotifications()
        ok = await notes.send("Time to stand up", "You have been sitting for 30 min",
                              (NudgeAction("Snooze 15 min", lambda: pressed.append("snooze")),))
        assert ok and notes.sent == 1
        shown = server.shown[0]
        assert (shown.app_name, shown.summary) == ("Sitting tracker", "Time to stand up")
        assert "Snooze 15 min" in shown.actions
        key = shown.actions[shown.actions.index("Snooze 15 min") - 1]
        server.ActionInvoked(1, key)
        for _ in range(50):
            if pressed:
                break
            await asyncio.sleep(0.02)
        assert pressed == ["snooze"]
        bus.disconnect()

    asyncio.run(scenario())


def test_no_notification_service_is_not_an_error(session_bus: PrivateBus) -> None:
    async def scenario() -> None:
        notes = DesktopNotifications()
        assert await notes.send("a", "b") is False
        assert notes.available is False
        assert await notes.send("a", "b") is False  # and it does not try again

    asyncio.run(scenario())
    assert os.environ["DBUS_SESSION_BUS_ADDRESS"] == session_bus.address
