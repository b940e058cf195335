"""The calibration routine is checked before anything is saved: a phase whose windows the
shipped model puts on the wrong side of walking / not walking was not done as asked."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tracker.calibration import SETTLE_S, routine_problems
from tracker.scenarios import posture_material
from tracker.store import Store

RATE_HZ = 50.0
PHASE_S = 60.0
START = 1.7e9


def record(db: Path, done: list[str], asked: list[str] | None = None
           ) -> list[tuple[float, float, str]]:
    """Store one phase per posture in ``done`` (real thigh samples); the spans say what was
    asked (``asked``, default the same)."""
    spans = []
    with Store.open(db) as store:
        for number, (did, was_asked) in enumerate(zip(done, asked or done, strict=True)):
            begin = START + number * (PHASE_S + 10)
            if did:
                material = posture_material("thigh", did, RATE_HZ)[: round(PHASE_S * RATE_HZ)]
                store.add_raw(begin + np.arange(len(material)) / RATE_HZ, material)
            spans.append((begin + SETTLE_S, begin + PHASE_S, was_asked))
    return spans


def test_a_routine_done_as_asked_has_no_problems(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    spans = record(db, ["sitting", "standing", "walking"])
    assert routine_problems(db, spans, "thigh") == []


def test_staying_seated_through_the_walking_phase_is_caught(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    spans = record(db, ["sitting", "standing", "sitting"], ["sitting", "standing", "walking"])
    problems = routine_problems(db, spans, "thigh")
    assert len(problems) == 1
    assert problems[0].startswith("WALKING: the band did not move like walking (0 of 11")


def test_walking_about_while_asked_to_sit_is_caught(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    spans = record(db, ["walking", "standing", "walking"], ["sitting", "standing", "walking"])
    problems = routine_problems(db, spans, "thigh")
    assert len(problems) == 1 and problems[0].startswith("SITTING: the band moved like walking")


def test_a_phase_without_samples_is_caught(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    spans = record(db, ["sitting", "", "walking"], ["sitting", "standing", "walking"])
    assert routine_problems(db, spans, "thigh") == [
        "STANDING: only 0 s of samples were stored (was the band connected and sending?)"]
