"""The dashboard in a real browser: Debian's headless Chromium, driven over the DevTools
protocol, against `launch_dashboard` on the store filled by the real pipeline.

Streamlit renders on the client, so each check waits until the page's text appears.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import FilledStore
from tracker.commands.dashboard import launch_dashboard
from tracker.summary import duration

CHROMIUM = Path("/usr/bin/chromium")
WAIT_S = 60.0
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="no /usr/bin/chromium (scripts/install-system-deps.sh)")
sync_client = pytest.importorskip("websockets.sync.client",
                                  reason="the websockets client drives the browser")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_http(url: str, process: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "the dashboard exited"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"nothing served at {url}")


class Browser:
    """One headless Chromium tab, spoken to over the DevTools protocol."""

    def __init__(self, profile: Path, width: int, height: int) -> None:
        self.exits = contextlib.ExitStack()
        self.process = subprocess.Popen(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={profile}", f"--window-size={width},{height}",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + WAIT_S
        while not port_file.exists() or not port_file.read_text().strip():
            assert time.monotonic() < deadline, "Chromium did not start"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as answer:
            page = next(t for t in json.load(answer) if t["type"] == "page")
        self.socket = self.exits.enter_context(
            sync_client.connect(page["webSocketDebuggerUrl"], max_size=None))
        self.ids = itertools.count(1)
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=width < 700)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=WAIT_S))
            if message.get("id") == ident:
                assert "error" not in message, message
                return dict(message.get("result", {}))

    def text(self) -> str:
        result = self.call("Runtime.evaluate", expression="document.body.innerText",
                           returnByValue=True)
        return " ".join(str(result["result"].get("value", "")).split())

    def open(self, url: str, *expected: str) -> str:
        """Go to `url`; the page's text, white space collapsed, once it shows every
        `expected` string."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + WAIT_S
        text = ""
        while time.monotonic() < deadline:
            text = self.text()
            if all(part in text for part in expected) and "Running..." not in text:
                time.sleep(1.0)  # let the charts draw
                return self.text()
            time.sleep(0.3)
        raise AssertionError(f"{url}: never showed {expected}; page text:\n{text[:2000]}")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        self.exits.close()
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def served(filled_store: FilledStore, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    port = free_port()
    process = launch_dashboard(filled_store.path, port)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/_stcore/health", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    profile = tmp_path / "chromium"
    profile.mkdir()
    opened = Browser(profile, 1280, 1800)
    try:
        yield opened
    finally:
        opened.close()
        shutil.rmtree(profile, ignore_errors=True)


def charts_drawn(browser: Browser) -> int:
    result = browser.call("Runtime.evaluate", returnByValue=True,
                          expression="document.querySelectorAll('.vega-embed canvas, "
                          ".vega-embed svg').length")
    return int(result["result"]["value"])


def test_today_shows_the_stores_sitting_time_and_timeline(
        served: str, browser: Browser, filled_store: FilledStore, tmp_path: Path) -> None:
    today = filled_store.daily().loc[filled_store.today.isoformat()]
    sitting = duration(float(today["sitting_min"]))
    text = browser.open(served, "Sitting today", sitting, "Pause nudges")
    shot = browser.screenshot(tmp_path / "today.png")
    assert f"Sitting today {sitting}" in text
    assert f"Longest sitting bout {duration(float(today['longest_sitting_bout_min']))}" in text
    assert "Snooze 15 min" in text and "In a meeting" in text
    assert charts_drawn(browser) >= 1, "the timeline was not drawn"
    assert shot.stat().st_size > 20_000


def test_history_shows_the_stores_daily_figures(
        served: str, browser: Browser, filled_store: FilledStore, tmp_path: Path) -> None:
    daily = filled_store.daily()
    average = duration(float(daily["sitting_min"].mean()))
    text = browser.open(f"{served}/history", "Sitting per day", average, "Week by week")
    over = int((daily["sitting_min"] > 6 * 60).sum())
    assert f"Days over the goal {over} of {len(daily)}" in text
    assert charts_drawn(browser) >= 4
    browser.screenshot(tmp_path / "history.png")


def buttons_cut_short(browser: Browser) -> list[str]:
    """Labels of visible buttons whose text does not fit (shown with an ellipsis)."""
    result = browser.call("Runtime.evaluate", returnByValue=True, expression="""
        [...document.querySelectorAll('button')].filter(b => b.offsetParent !== null)
          .filter(b => [b, ...b.querySelectorAll('*')].some(
              e => e.scrollWidth > e.clientWidth + 1 && e.innerText.trim()))
          .map(b => b.innerText.trim())""")
    return list(result["result"]["value"])


@pytest.mark.parametrize("width", [1000, 390])
def test_pause_buttons_show_their_whole_label(served: str, tmp_path: Path, width: int) -> None:
    # Half a laptop screen, and a phone: in equal columns the snooze buttons were cut
    # to "Snooze …" at 1000 px.
    profile = tmp_path / "narrow"
    profile.mkdir()
    narrow = Browser(profile, width, 1800)
    try:
        narrow.open(served, "Pause nudges", "Snooze 60 min")
        cut = [label for label in buttons_cut_short(narrow)
               if label.startswith(("Snooze", "In a meeting", "Meeting over"))]
        assert not cut, f"button labels cut short at {width} px: {cut}"
    finally:
        narrow.close()


def test_today_reads_on_a_phone(served: str, tmp_path: Path,
                                filled_store: FilledStore) -> None:
    profile = tmp_path / "phone"
    profile.mkdir()
    phone = Browser(profile, 390, 2400)
    try:
        today = filled_store.daily().loc[filled_store.today.isoformat()]
        text = phone.open(served, "Sitting today", duration(float(today["sitting_min"])))
        width = phone.call("Runtime.evaluate", returnByValue=True,
                           expression="document.documentElement.scrollWidth")
        assert int(width["result"]["value"]) <= 400, "the page scrolls sideways on a phone"
        assert "Snooze 15 min" in text
        phone.screenshot(tmp_path / "today-phone.png")
    finally:
        phone.close()


def test_the_accuracy_page_offers_corrections_and_calibration(
        served: str, browser: Browser, tmp_path: Path) -> None:
    text = browser.open(f"{served}/accuracy", "Correct a span", "I was actually",
                        "Save correction", "Calibrate")
    assert "the shipped thigh model" in text
    # No collector runs here: calibration says how to start one rather than a button.
    assert "Start the collector first" in text
    browser.screenshot(tmp_path / "accuracy.png")
