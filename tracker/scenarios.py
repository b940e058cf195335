"""Days stitched from real recordings, for the emulated bands, the demo and the tests.

A scenario is a list of parts (posture, minutes). Each part is filled with real
accelerometer data of that posture from the bundled recordings in `data/` (WISDM 2019
for the thigh and wrist, HAPT for the waist), from one person, resampled to the band's
rate and repeated as often as the part needs. The motion is real; the day's schedule
is made up, and it says so. The truth of every moment is kept, so a test can check
what the tracker made of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "data"

# Which person's recordings fill a scenario (one person, so the day is consistent).
WISDM_SUBJECT = 1636
HAPT_SUBJECT = 1
HAPT_LABELS = {"walking": (1,), "sitting": (4,), "standing": (5,), "lying": (6,)}


@dataclass(frozen=True)
class Scenario:
    name: str
    location: str  # the placement its recordings come from
    description: str
    parts: tuple[tuple[str, float], ...]  # (posture, minutes)

    @property
    def minutes(self) -> float:
        return sum(minutes for _, minutes in self.parts)


OFFICE_DAY_PARTS: tuple[tuple[str, float], ...] = (
    ("sitting", 50), ("walking", 3), ("standing", 10), ("sitting", 35), ("walking", 5),
    ("sitting", 45), ("standing", 1),  # too short to count as a break
    ("sitting", 20), ("walking", 20), ("standing", 5),  # lunch
    ("sitting", 95),  # the long streak after lunch
    ("standing", 3), ("sitting", 40), ("walking", 4), ("sitting", 30),
    ("standing", 15),  # at a standing desk
    ("sitting", 60), ("walking", 10), ("sitting", 29),
)  # 8 hours

SCENARIOS = {
    s.name: s for s in (
        Scenario("office-day", "thigh", "8 h desk day, band at the thigh: 50 min sitting, a "
                 "short walk, standing, a 95 min streak after lunch",
                 OFFICE_DAY_PARTS),
        Scenario("office-day-wrist", "wrist", "the office day with the band on the wrist",
                 OFFICE_DAY_PARTS),
        Scenario("office-day-waist", "waist", "the office day with a clip at the waist, "
                 "and a 12 min constructive rest lying down",
                 (*OFFICE_DAY_PARTS[:6], ("lying", 12), *OFFICE_DAY_PARTS[6:])),
        Scenario("quick-demo", "thigh", "10 min: sitting, standing, walking, sitting",
                 (("sitting", 4), ("standing", 2), ("walking", 2), ("sitting", 2))),
    )
}


def list_scenarios() -> dict[str, str]:
    return {name: f"{s.description} ({s.minutes / 60:.1f} h, real {s.location} recordings)"
            for name, s in SCENARIOS.items()}


@lru_cache(maxsize=8)
def posture_material(location: str, posture: str, rate_hz: float) -> np.ndarray:
    """Real samples (n, 3) in g of one posture, resampled to `rate_hz`: the blocks of one
    person, each resampled on its own so no interpolation bridges two blocks."""
    pieces = []
    for t, xyz in _blocks(location, posture):
        grid = np.arange(t[0], t[-1], 1.0 / rate_hz)
        pieces.append(np.column_stack([np.interp(grid, t, xyz[:, k]) for k in range(3)]))
    if not pieces:
        raise KeyError(f"no {posture} recordings for the {location}")
    return np.concatenate(pieces).astype(np.float32)


def _blocks(location: str, posture: str) -> list[tuple[np.ndarray, np.ndarray]]:
    columns = ["acc_x", "acc_y", "acc_z"]
    if location == "waist":
        frame = pd.read_parquet(DATA / "hapt_waist.parquet",
                                filters=[("subject", "=", HAPT_SUBJECT)])
        frame = frame[frame["label"].isin(HAPT_LABELS.get(posture, ()))]
        frame = frame.sort_values(["recording", "sample"])
        run = (frame["sample"].diff() != 1) | (frame["recording"].diff() != 0)
        return [(g["sample"].to_numpy() / 50.0, g[columns].to_numpy(np.float64))
                for _, g in frame.groupby(run.cumsum()) if len(g) > 50]
    frame = pd.read_parquet(DATA / "wisdm2019_wrist_thigh.parquet",
                            filters=[("subject", "=", WISDM_SUBJECT)])
    frame = frame[(frame["device"] == location) & (frame["label"] == posture)]
    t = frame["t"].to_numpy() / 1e9
    block = np.concatenate(([0], np.cumsum(np.diff(t) > 2.0)))
    xyz = frame[columns].to_numpy(np.float64)
    return [(t[block == b], xyz[block == b]) for b in np.unique(block)
            if (block == b).sum() > 20]


Truth = list[tuple[float, float, str]]


def scenario_samples(name: str, rate_hz: float) -> tuple[np.ndarray, Truth]:
    """The whole day as (n, 3) samples at `rate_hz`, and its truth as
    (start_s, end_s, posture) from the start of the day."""
    scenario = SCENARIOS[name]
    pieces: list[np.ndarray] = []
    truth: Truth = []
    t = 0.0
    for posture, minutes in scenario.parts:
        material = posture_material(scenario.location, posture, float(rate_hz))
        n = round(minutes * 60 * rate_hz)
        # Start each part at a different place in the material so repeats differ.
        offset = (len(pieces) * 997) % len(material)
        pieces.append(material[(offset + np.arange(n)) % len(material)])
        truth.append((t, t + n / rate_hz, posture))
        t += n / rate_hz
    return np.concatenate(pieces), truth


class ScenarioMotionSource:
    """A scenario played as a MotionSource for an emulated band."""

    def __init__(self, name: str, rate_hz: float) -> None:
        self.name = name
        self.rate_hz = float(rate_hz)
        self.samples, self.truth = scenario_samples(name, rate_hz)
        self.position = 0

    @property
    def exhausted(self) -> bool:
        return self.position >= len(self.samples)

    def read(self, n: int) -> np.ndarray:
        out = self.samples[self.position:self.position + max(0, n)]
        self.position += len(out)
        return out


def resolve_scenario(name: str, rate_hz: float) -> ScenarioMotionSource:
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return ScenarioMotionSource(name, rate_hz)
