"""Sit-to-stand and stand-to-sit moments from the raw accelerometer signal.

The window classifier (5 s windows, neighbour context, HMM) cannot resolve a sitting bout
of a second or two, nor say when within a window someone stood up.  This module works on
the samples instead, at the thigh and the wrist:

1. gravity direction: a centred moving mean of the signal (about one stride long), as a
   unit vector;
2. upright reference: the mean gravity direction while walking (dynamic acceleration at
   walking level) within two minutes.  Walking is always upright, so this gives the
   device's "upright" orientation however it sits in the pocket or on the wrist;
3. posture: the angle between the gravity direction and that reference.  A thigh turns by
   25-90 degrees between sitting and standing (the low end when the phone stays upright
   in a loose pocket); a wrist by about as much between a hand resting on the lap and an
   arm hanging by the side, but a wrist also turns for many other reasons;
4. transitions: crossings of that angle between an "upright" and a "seated" threshold
   (hysteresis), timed where the angle is halfway between its seated and upright values.

Pure numpy, nothing learned.  ``scripts/evaluate_transitions.py`` measures it on Timed Up
and Go recordings (and counts false alarms in recordings without transitions); its
docstring says which thresholds were tuned and how.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracker.signal import split_segments

SIT_TO_STAND = "sit_to_stand"
STAND_TO_SIT = "stand_to_sit"


@dataclass(frozen=True)
class Transition:
    time_s: float  # in the input's time base
    kind: str  # SIT_TO_STAND or STAND_TO_SIT


@dataclass(frozen=True)
class DetectorParams:
    # 50 Hz keeps a 1 s rising movement at 50 samples; more adds nothing at these filter
    # lengths.
    rate_hz: float = 50.0
    # Gravity low-pass: a centred moving mean about one stride long, so the swing of the
    # thigh or arm while walking mostly cancels, yet short enough that a 1-2 s rising
    # movement and a 0.5 s seated stretch at the end of a recording still show.  (Tuned
    # leave-one-subject-out, like the two angles below.)
    gravity_s: float = 0.75
    # Dynamic acceleration (|signal - gravity|, averaged like gravity) counted as walking
    # for the upright reference.  Walking gives 0.3-0.6 g at the thigh, sitting still
    # under 0.05 g.  (0.15 did no better on the Timed Up and Go runs and more than doubled
    # the false alarms in the WISDM hand activities: fidgeting then passes for walking.)
    walking_g: float = 0.25
    # The upright reference is the walking direction within this many seconds either side:
    # long enough to reach the nearest walk, short enough to forget a re-pocketed phone.
    reference_s: float = 120.0
    # ... and needs this much walking-level movement in that span (about five steps), so
    # that shuffling or fidgeting while seated never defines "upright".
    min_walking_s: float = 3.0
    # Hysteresis on the angle to the upright reference: below upright_deg is upright, above
    # seated_deg seated, in between keeps the previous state.  The mean direction strays
    # 10-15 degrees from the reference while walking (up to 30 at a turn, or on stairs); a
    # seated thigh lies 25-90 degrees away.
    upright_deg: float = 15.0
    seated_deg: float = 25.0
    # Seated also needs the dynamic acceleration below this: a thigh that moves like
    # walking (stairs, jogging, a stride at a turn) is not seated.
    still_g: float = 0.25
    # How far (s) either side of the hysteresis crossing to look for the seated and the
    # upright end of the movement, whose halfway angle times the transition: a rise takes
    # 1-2 s.
    settle_s: float = 1.5
    # A seated bout shorter than this between two detections is dropped with both of them:
    # nobody sits down for under 2 s, but an arm reaching for the chair or a stride at a
    # turn can look like it.
    min_seated_s: float = 2.0


PARAMS: dict[str, DetectorParams] = {
    "thigh": DetectorParams(),
    # A wrist moves less than a thigh while walking (0.2-0.3 g), and keeps moving after
    # sitting down (a stillness test lost 15-30 % of the transitions).
    "wrist": DetectorParams(walking_g=0.15, upright_deg=20.0, still_g=float("inf")),
}


def moving_mean(x: np.ndarray, n: int, sums: bool = False) -> np.ndarray:
    """Centred moving mean (or sum) over ``n`` samples along axis 0; the window shrinks at
    the ends so the first and last samples (often the only seated ones) keep their own
    value."""
    csum = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0)])
    i = np.arange(len(x))
    lo = np.maximum(i - n // 2, 0)
    hi = np.minimum(i + n - n // 2, len(x))
    if sums:
        return csum[hi] - csum[lo]
    return (csum[hi] - csum[lo]) / (hi - lo).reshape(-1, *([1] * (x.ndim - 1)))


def upright_angle(xyz: np.ndarray, params: DetectorParams) -> tuple[np.ndarray, np.ndarray]:
    """Per sample of a regularly sampled ``xyz`` (n, 3) in g: the angle (degrees) between
    the gravity direction and the nearby walking direction (NaN where too little walking
    is near), and the dynamic acceleration (g)."""
    n = max(1, round(params.gravity_s * params.rate_hz))
    gravity = moving_mean(xyz.astype(np.float64), n)
    dynamic = moving_mean(np.linalg.norm(xyz - gravity, axis=1), n)
    unit = gravity / np.maximum(np.linalg.norm(gravity, axis=1, keepdims=True), 1e-9)
    walking = dynamic > params.walking_g
    span = 2 * round(params.reference_s * params.rate_hz) + 1
    # Mean direction while walking over +-reference_s (only its direction counts), and
    # the seconds of walking it rests on.
    reference = moving_mean(unit * walking[:, None], span)
    walking_samples = moving_mean(walking.astype(np.float64), span, sums=True)
    norm = np.linalg.norm(reference, axis=1)
    enough = (norm > 0) & (walking_samples >= params.min_walking_s * params.rate_hz)
    cosine = np.einsum("ij,ij->i", unit, reference) / np.where(enough, norm, np.nan)
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))), dynamic


def transitions_from_angle(
    angle: np.ndarray, dynamic: np.ndarray, start_s: float, params: DetectorParams
) -> list[Transition]:
    """Hysteresis crossings of the angle to upright (NaN counts as undecided)."""
    seated = (angle > params.seated_deg) & (dynamic < params.still_g)
    state = np.where(angle < params.upright_deg, 1, np.where(seated, -1, 0))
    decided = np.flatnonzero(state)
    changes = np.flatnonzero(state[decided[1:]] != state[decided[:-1]])
    settle = round(params.settle_s * params.rate_hz)
    found = []
    for c in changes:
        left, right = decided[c], decided[c + 1]  # last sample of old state, first of new
        rising = state[right] == 1
        # The thresholds lie near the upright end of the movement; time the transition at
        # the middle of the whole turn instead, between its seated and upright extremes.
        first = max(left - settle, 0)
        before, after = angle[first : left + 1], angle[right : right + settle + 1]
        a = first + int(np.argmax(before) if rising else np.argmin(before))
        b = right + int(np.argmin(after) if rising else np.argmax(after))
        k = a + int(np.argmin(np.abs(angle[a : b + 1] - (angle[a] + angle[b]) / 2)))
        kind = SIT_TO_STAND if rising else STAND_TO_SIT
        found.append(Transition(float(start_s + k / params.rate_hz), kind))
    return drop_brief_seated(found, params.min_seated_s)


def drop_brief_seated(found: list[Transition], min_seated_s: float) -> list[Transition]:
    """Drop each stand-to-sit followed within ``min_seated_s`` by a sit-to-stand, and that
    sit-to-stand too."""
    kept: list[Transition] = []
    for transition in found:
        if (kept and transition.kind == SIT_TO_STAND and kept[-1].kind == STAND_TO_SIT
                and transition.time_s - kept[-1].time_s < min_seated_s):
            kept.pop()
        else:
            kept.append(transition)
    return kept


def detect_transitions(
    t: np.ndarray, xyz: np.ndarray, location: str, params: DetectorParams | None = None
) -> list[Transition]:
    """Sit-to-stand and stand-to-sit transitions in a raw recording, in time order.

    ``t`` (n,) in seconds, irregular spacing allowed; ``xyz`` (n, 3) in g, gravity included,
    device axes in any orientation.  ``location`` is "thigh" or "wrist".  Gaps of more than
    2 s split the recording and no transition is reported across one; nor where less than
    ``min_walking_s`` of walking lies within ``reference_s`` (no upright reference).
    """
    if location not in PARAMS:
        raise ValueError(f"transitions are only detected at {sorted(PARAMS)}, not {location!r}")
    params = params or PARAMS[location]
    found: list[Transition] = []
    for segment in split_segments(t, xyz, params.rate_hz):
        angle, dynamic = upright_angle(segment.samples, params)
        found.extend(transitions_from_angle(angle, dynamic, segment.start, params))
    return found
