"""A restarted collector takes up the store's last segment: whether the previous run
stopped cleanly or crashed, and whether the band's samples go on at once or after a
gap, the stored windows end up exactly as `classify` of the stored samples.

The collector's own sample path is driven directly (no band needed for this): samples
in, ticks, close; the BLE path itself is covered in test_collector.py."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from tracker.collector import Collector, CollectorOptions
from tracker.config import NotifySettings, Settings
from tracker.pipeline import classify_chunks
from tracker.posture_model import load_default_model
from tracker.scenarios import scenario_samples
from tracker.store import Store

TZ = ZoneInfo("Europe/Berlin")
START = datetime(2024, 6, 3, 9, 0, tzinfo=TZ).timestamp()
RATE = 52.0
SETTINGS = Settings(notify=NotifySettings(desktop=False, band=False))
MODEL = load_default_model("thigh", compact=True)


def samples(first_s: float, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Real office-day motion from `first_s` seconds into the day."""
    day, _ = scenario_samples("office-day", RATE)
    index = np.arange(round(first_s * RATE), round((first_s + seconds) * RATE))
    return START + index / RATE, day[index]


def run(db: Path, pieces: list[tuple[float, float]], *, crash: bool = False) -> None:
    """One collector run over the given (first_s, seconds) pieces of the day."""
    collector = Collector(CollectorOptions(db=db, device="band", location="thigh"),
                          SETTINGS, MODEL, TZ)
    collector.store = Store.open(db)
    collector._resume_last_segment()
    collector._restore_coach()
    for first_s, seconds in pieces:
        t, xyz = samples(first_s, seconds)
        for cut in range(0, len(t), 104):  # two seconds a notification, as a band sends
            collector._on_samples(t[cut:cut + 104], xyz[cut:cut + 104])
            asyncio.run(collector._tick())
    if crash:  # what was flushed stays; nothing is closed
        collector._flush_raw()
    else:
        collector._close()
    collector.store.close()


def stored_and_batch(db: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with Store.open(db, readonly=True) as store:
        windows = store.windows()
        chunks = [(c.t, c.xyz) for _, _, c in store.raw_chunks()]
    batch = pd.concat(list(classify_chunks(chunks, MODEL)), ignore_index=True)
    return windows, batch


@pytest.mark.parametrize("crash", [False, True], ids=["clean-stop", "crash"])
@pytest.mark.parametrize("gap_s", [0.5, 30.0], ids=["goes-on", "after-a-gap"])
def test_a_restart_leaves_the_windows_classify_would_give(tmp_path: Path, crash: bool,
                                                          gap_s: float) -> None:
    db = tmp_path / "tracker.sqlite"
    run(db, [(2990.0, 120.0)], crash=crash)  # sitting into the first walk (minute 50)
    run(db, [(3110.0 + gap_s, 120.0)])
    windows, batch = stored_and_batch(db)
    assert windows["label"].tolist() == batch["label"].tolist()
    np.testing.assert_allclose(windows["start_s"], batch["start"])
    assert len(set(windows["label"]) - {"unknown"}) >= 2  # a posture change inside
    unknown = windows[windows["label"] == "unknown"]
    longest = float((unknown["end_s"] - unknown["start_s"]).max())
    # Going on within the gap limit is one segment: nothing unknown but the final partial
    # window.  After a gap, the gap (and the partial window before it) is unknown.
    assert longest >= gap_s - 1e-6 if gap_s > 2 else longest < 5.0
