"""Sample-level sit-to-stand / stand-to-sit detection (tracker.transitions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO
from tracker.transitions import SIT_TO_STAND, STAND_TO_SIT, Transition, detect_transitions

RATE = 50.0
TUG = REPO / "data" / "spsw_tug.parquet"
TOLERANCE_S = 1.0  # as in scripts/evaluate_transitions.py


def turn_and_walk(seated_first: bool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """10 s still, gravity turning by 80 degrees between t = 10 and 11 s, then 10 s of
    walking-like shaking along gravity; reversed in time when not ``seated_first``."""
    t = np.arange(0, 21, 1 / RATE)
    # device axes: upright = gravity along -y, seated = gravity 80 degrees away, in y-z
    angle = np.radians(80.0) * (1 - np.clip(t - 10.0, 0.0, 1.0))
    gravity = np.stack([np.zeros_like(t), -np.cos(angle), np.sin(angle)], axis=1)
    shake = np.where(t > 11.0, 0.5 * np.sin(2 * np.pi * 1.8 * t), 0.0)
    xyz = gravity * (1 + shake)[:, None] + rng.normal(0, 0.01, (len(t), 3))
    if not seated_first:
        xyz = xyz[::-1]
    return t, xyz.astype(np.float32)


@pytest.mark.parametrize("location", ["thigh", "wrist"])
def test_gravity_turning_80_degrees_in_one_second_is_one_transition_mid_turn(
        location: str) -> None:
    rng = np.random.default_rng(1)
    t, xyz = turn_and_walk(seated_first=True, rng=rng)
    [rise] = detect_transitions(t + 1000.0, xyz, location)
    assert rise.kind == SIT_TO_STAND
    assert abs(rise.time_s - 1010.5) < 0.25

    t, xyz = turn_and_walk(seated_first=False, rng=rng)
    [sit] = detect_transitions(t, xyz, location)
    assert sit.kind == STAND_TO_SIT
    assert abs(sit.time_s - 10.5) < 0.25


def test_a_sitting_bout_between_two_walks_gives_both_transitions_in_order() -> None:
    rng = np.random.default_rng(3)
    _, rise = turn_and_walk(seated_first=True, rng=rng)
    _, sit = turn_and_walk(seated_first=False, rng=rng)
    xyz = np.concatenate([sit, rise])  # walk, sit down at 10.5 s, stand up at 31.5 s
    found = detect_transitions(np.arange(len(xyz)) / RATE, xyz, "thigh")
    assert [tr.kind for tr in found] == [STAND_TO_SIT, SIT_TO_STAND]
    assert np.allclose([tr.time_s for tr in found], [10.5, 31.5], atol=0.25)


def test_constant_posture_gives_no_transition() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(0, 120, 1 / RATE)
    still = np.array([0.3, -0.9, 0.3]) / np.linalg.norm([0.3, -0.9, 0.3])
    xyz = still + rng.normal(0, 0.02, (len(t), 3))
    assert detect_transitions(t, xyz, "thigh") == []
    # walking, then standing still in the same orientation: upright throughout
    walking = t < 30
    xyz[walking] *= (1 + 0.5 * np.sin(2 * np.pi * 1.8 * t[walking]))[:, None]
    for location in ("thigh", "wrist"):
        assert detect_transitions(t, xyz, location) == []


def test_unknown_location_is_refused() -> None:
    with pytest.raises(ValueError, match="waist"):
        detect_transitions(np.arange(10.0), np.zeros((10, 3)), "waist")


def tug_runs(location: str, subjects: tuple[int, ...]) -> list[pd.DataFrame]:
    frame = pd.read_parquet(TUG, filters=[("device", "==", location),
                                          ("subject", "in", list(subjects))])
    return [run for _, run in frame.groupby(["subject", "recording"], observed=True)]


def detect_run(run: pd.DataFrame, location: str) -> tuple[list[Transition], dict[str, tuple]]:
    t = run["t"].to_numpy() / 1e9
    label = run["label"].astype(str).to_numpy()
    phases = {kind: (t[label == phase].min(), t[label == phase].max())
              for kind, phase in ((SIT_TO_STAND, "standing_up"), (STAND_TO_SIT, "sitting_down"))}
    return detect_transitions(t, run[["acc_x", "acc_y", "acc_z"]].to_numpy(), location), phases


def test_real_tug_run_at_the_thigh_has_one_sit_to_stand_in_its_standing_up_phase() -> None:
    [run] = [r for r in tug_runs("thigh", (1,)) if r["recording"].iloc[0] == 1]
    found, phases = detect_run(run, "thigh")
    rises = [tr.time_s for tr in found if tr.kind == SIT_TO_STAND]
    first, last = phases[SIT_TO_STAND]
    assert len(rises) == 1
    assert first - TOLERANCE_S <= rises[0] <= last + TOLERANCE_S


@pytest.mark.parametrize("location", ["thigh", "wrist"])
def test_precision_and_recall_on_three_subjects(location: str) -> None:
    """Subjects 1, 3 and 10 (3 and 10 turn the phone least); measured with the shipped
    thresholds: thigh precision 1.00, recall 1.00 / 0.88 (sit-to-stand / stand-to-sit);
    wrist precision 0.96 / 0.96, recall 0.96 / 0.92."""
    truth = hits = detected = 0
    kind_hits = dict.fromkeys((SIT_TO_STAND, STAND_TO_SIT), 0)
    runs = tug_runs(location, (1, 3, 10))
    for run in runs:
        found, phases = detect_run(run, location)
        for kind, (first, last) in phases.items():
            times = [tr.time_s for tr in found if tr.kind == kind]
            hit = any(first - TOLERANCE_S <= x <= last + TOLERANCE_S for x in times)
            truth, hits, detected = truth + 1, hits + hit, detected + len(times)
            kind_hits[kind] += hit
    assert truth == 2 * len(runs) == 52
    assert hits / detected >= 0.9
    assert hits / truth >= 0.85
    assert min(kind_hits.values()) / len(runs) >= 0.8
