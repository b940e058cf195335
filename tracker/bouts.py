"""Bouts, breaks, sit-to-stand transitions and daily summaries from window labels.

Definitions follow the Sedentary Behavior Research Network (SBRN) terminology
(Tremblay et al., Int J Behav Nutr Phys Act 14:75, 2017):
- a *bout* is an uninterrupted run of windows with one label; a gap in the data ends it;
- a *sitting bout*, for its length (the 30 and 60 min thresholds, the longest bout), goes
  on across a gap in the data of at most `BOUT_GAP_TOLERANCE_S` with sitting on both
  sides: a Bluetooth reconnect, or a recording split into two files, does not cut a
  45-minute bout in two.  Its length is the sitting time; the gap's time is not counted;
- *sedentary* is sitting or lying; lying is reported apart from sitting;
- a *break* is a non-sedentary bout (standing and/or walking) between two sedentary bouts;
- a *sit-to-stand transition* is a sedentary bout followed directly by an upright one
  (a *stand-to-sit* transition the other way round).
Time without data (`unknown`) and time the band was not worn (`nonwear`) count as
neither sedentary nor upright, and they end bouts.

All functions take and return pandas DataFrames with `start`/`end` in seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

import numpy as np
import pandas as pd

from tracker.labels import (
    ACTIVPAL_CODE,
    LYING,
    NONWEAR,
    POSTURES,
    SEDENTARY,
    SITTING,
    UNKNOWN,
    UPRIGHT,
)

# Windows whose ends meet within this much are contiguous (float round-off).
CONTIGUOUS_S = 1e-3
LONG_BOUTS_MIN = (30, 60)
# The coach's default `streak_gap_tolerance_min` too: what the dashboard calls one streak
# is one bout in the exports.  Long enough for a reconnect (seconds) or a battery swap,
# short enough that time unaccounted for cannot hide a walk.
BOUT_GAP_TOLERANCE_S = 120.0
ACTIVPAL_NONWEAR_CODE = 4


def bouts_from_windows(windows: pd.DataFrame) -> pd.DataFrame:
    """Merge consecutive, touching windows with the same label into bouts.

    `windows` needs columns start, end, label in time order; returns start, end, label,
    duration_s.
    """
    if windows.empty:
        return pd.DataFrame({"start": [], "end": [], "label": [], "duration_s": []})
    start = windows["start"].to_numpy(dtype=np.float64)
    end = windows["end"].to_numpy(dtype=np.float64)
    label = windows["label"].to_numpy(dtype=object)
    new_bout = np.ones(len(start), dtype=bool)
    new_bout[1:] = (label[1:] != label[:-1]) | (np.abs(start[1:] - end[:-1]) > CONTIGUOUS_S)
    first = np.flatnonzero(new_bout)
    last = np.append(first[1:] - 1, len(start) - 1)
    bouts = pd.DataFrame({"start": start[first], "end": end[last], "label": label[first]})
    bouts["duration_s"] = bouts["end"] - bouts["start"]
    return bouts


def sitting_bouts(bouts: pd.DataFrame,
                  gap_tolerance_s: float = BOUT_GAP_TOLERANCE_S) -> pd.DataFrame:
    """Sitting bouts joined across short gaps in the data: start, end, sitting_s (the
    time sitting, gaps left out) and gap_s.

    Two sitting bouts are one when nothing but time without data (`unknown` rows, or no
    rows at all) lies between them and that time is at most `gap_tolerance_s`.
    """
    rows, group = _joined_sitting(bouts, gap_tolerance_s)
    start = bouts["start"].to_numpy(dtype=np.float64)[rows]
    end = bouts["end"].to_numpy(dtype=np.float64)[rows]
    parts = pd.DataFrame({"group": group, "start": start, "end": end,
                          "sitting_s": end - start})
    joined = parts.groupby("group").agg(start=("start", "min"), end=("end", "max"),
                                        sitting_s=("sitting_s", "sum"))
    joined["gap_s"] = joined["end"] - joined["start"] - joined["sitting_s"]
    return joined.reset_index(drop=True)


def joined_sitting_s(bouts: pd.DataFrame,
                     gap_tolerance_s: float = BOUT_GAP_TOLERANCE_S) -> np.ndarray:
    """For each row of `bouts`: the sitting time of the joined sitting bout it is part of
    (as `sitting_bouts` joins them), NaN for rows that are not sitting."""
    rows, group = _joined_sitting(bouts, gap_tolerance_s)
    sitting_s = (bouts["end"].to_numpy(dtype=np.float64)[rows]
                 - bouts["start"].to_numpy(dtype=np.float64)[rows])
    out = np.full(len(bouts), np.nan)
    out[rows] = pd.Series(sitting_s).groupby(group).transform("sum").to_numpy()
    return out


def _joined_sitting(bouts: pd.DataFrame,
                    gap_tolerance_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the sitting rows of `bouts` (in time order) and, for each, the number
    of the joined sitting bout it belongs to."""
    label = bouts["label"].to_numpy(dtype=object)
    known = np.flatnonzero(label != UNKNOWN)
    start = bouts["start"].to_numpy(dtype=np.float64)[known]
    end = bouts["end"].to_numpy(dtype=np.float64)[known]
    sitting = label[known] == SITTING
    # A sitting bout goes on from the one before when that one, with only a short gap
    # between them, was sitting too.
    goes_on = np.zeros(len(known), dtype=bool)
    goes_on[1:] = sitting[1:] & sitting[:-1] & (start[1:] - end[:-1] <= gap_tolerance_s)
    chosen = np.flatnonzero(sitting)
    return known[chosen], np.cumsum(~goes_on[chosen])


def _activity_runs(bouts: pd.DataFrame) -> pd.DataFrame:
    """Bouts regrouped into runs of sedentary / upright / not-worn time."""
    group = bouts["label"].map(
        lambda label: "sedentary" if label in SEDENTARY else "upright" if label in UPRIGHT
        else "none")
    return bouts_from_windows(pd.DataFrame(
        {"start": bouts["start"], "end": bouts["end"], "label": group}))


def breaks(bouts: pd.DataFrame) -> pd.DataFrame:
    """Upright runs directly between two sedentary runs (start, end, duration_s)."""
    runs = _activity_runs(bouts)
    kind = runs["label"].to_numpy(dtype=object)
    if len(runs) < 3:
        return runs.iloc[0:0][["start", "end", "duration_s"]]
    touching_before = np.abs(runs["start"].to_numpy()[1:-1] - runs["end"].to_numpy()[:-2]) \
        <= CONTIGUOUS_S
    touching_after = np.abs(runs["start"].to_numpy()[2:] - runs["end"].to_numpy()[1:-1]) \
        <= CONTIGUOUS_S
    middle = (kind[1:-1] == "upright") & (kind[:-2] == "sedentary") & (kind[2:] == "sedentary")
    chosen = np.flatnonzero(middle & touching_before & touching_after) + 1
    return runs.iloc[chosen][["start", "end", "duration_s"]].reset_index(drop=True)


SIT_TO_STAND = "sit_to_stand"
STAND_TO_SIT = "stand_to_sit"


def posture_transitions(bouts: pd.DataFrame) -> pd.DataFrame:
    """Where a sedentary bout is followed, without a gap, by an upright one (sit_to_stand)
    or the other way round (stand_to_sit): time (s), kind, and the labels either side.
    A gap, or time not worn, between the two is not a transition."""
    label = bouts["label"].to_numpy(dtype=object)
    start = bouts["start"].to_numpy(dtype=np.float64)
    end = bouts["end"].to_numpy(dtype=np.float64)
    sedentary = np.isin(label, list(SEDENTARY))
    upright = np.isin(label, list(UPRIGHT))
    touching = np.abs(start[1:] - end[:-1]) <= CONTIGUOUS_S
    rising = sedentary[:-1] & upright[1:] & touching
    falling = upright[:-1] & sedentary[1:] & touching
    at = np.flatnonzero(rising | falling)
    return pd.DataFrame({
        "time": start[at + 1],
        "kind": np.where(rising[at], SIT_TO_STAND, STAND_TO_SIT),
        "from_label": label[at],
        "to_label": label[at + 1],
    })


def sit_to_stand_transitions(bouts: pd.DataFrame) -> np.ndarray:
    """Times (s) where a sedentary run is followed, without a gap, by an upright run."""
    found = posture_transitions(bouts)
    return found.loc[found["kind"] == SIT_TO_STAND, "time"].to_numpy(dtype=np.float64)


def summarise(bouts: pd.DataFrame) -> dict[str, float]:
    """Totals for one stretch of time (a day, or a whole recording), in minutes and counts."""
    minutes = bouts.groupby("label")["duration_s"].sum() / 60.0 if not bouts.empty \
        else pd.Series(dtype=float)
    # A tuple, not the NOT_WORN set: a set's order changes with the hash seed, and the
    # export's columns must not change from one run to the next.
    # Counts stay integers, so the CSVs say 4, not 4.0.
    summary: dict[str, float] = {
        f"{label}_min": float(minutes.get(label, 0.0))
        for label in (*POSTURES, NONWEAR, UNKNOWN)}
    summary["wear_min"] = sum(summary[f"{label}_min"] for label in POSTURES)
    sedentary_min = summary[f"{SITTING}_min"] + summary[f"{LYING}_min"]
    summary["sedentary_min"] = sedentary_min
    sitting = sitting_bouts(bouts)["sitting_s"] / 60.0
    summary["sitting_bouts"] = len(sitting)
    for threshold in LONG_BOUTS_MIN:
        long = sitting[sitting >= threshold]
        summary[f"sitting_bouts_{threshold}min"] = len(long)
        summary[f"sitting_in_bouts_{threshold}min_min"] = float(long.sum())
    summary["longest_sitting_bout_min"] = float(sitting.max()) if len(sitting) else 0.0
    summary["breaks"] = len(breaks(bouts))
    # Undefined without sedentary time (NaN, an empty cell): 0 would pull averages down.
    summary["breaks_per_sedentary_hour"] = summary["breaks"] / (sedentary_min / 60.0) \
        if sedentary_min > 0 else float("nan")
    summary["sit_to_stand"] = len(sit_to_stand_transitions(bouts))
    return summary


EMPTY_BOUTS = pd.DataFrame({"start": pd.Series(dtype=float), "end": pd.Series(dtype=float),
                            "label": pd.Series(dtype=object),
                            "duration_s": pd.Series(dtype=float)})
SUMMARY_COLUMNS = tuple(summarise(EMPTY_BOUTS))


def clip_bouts(bouts: pd.DataFrame, start: float, end: float) -> pd.DataFrame:
    """The parts of bouts that fall within [start, end)."""
    inside = bouts[(bouts["end"] > start) & (bouts["start"] < end)].copy()
    inside["start"] = inside["start"].clip(lower=start)
    inside["end"] = inside["end"].clip(upper=end)
    inside["duration_s"] = inside["end"] - inside["start"]
    return inside


def daily_summary(bouts: pd.DataFrame, tz: tzinfo) -> pd.DataFrame:
    """One row per local calendar day in `tz` (times are Unix seconds).

    Bouts are cut at local midnight: each day counts the part of a bout that falls in
    it, both for time and for the bout-length thresholds.
    """
    if bouts.empty:
        return pd.DataFrame()
    first = datetime.fromtimestamp(float(bouts["start"].min()), tz).date()
    last = datetime.fromtimestamp(float(bouts["end"].max()) - 1e-6, tz).date()
    rows = []
    day = first
    while day <= last:
        day_start = datetime(day.year, day.month, day.day, tzinfo=tz)
        next_day = day + timedelta(days=1)
        day_end = datetime(next_day.year, next_day.month, next_day.day, tzinfo=tz)
        part = clip_bouts(bouts, day_start.timestamp(), day_end.timestamp())
        if not part.empty:
            rows.append({"date": day.isoformat(), "day_start": day_start.isoformat(),
                         "day_start_s": day_start.timestamp(), **summarise(part)})
        day = next_day
    return pd.DataFrame(rows)


def activpal_events(bouts: pd.DataFrame) -> pd.DataFrame:
    """activPAL-style posture events: start, duration, code (0 sedentary, 1 standing,
    2 stepping, 4 not worn / no data), consecutive events of one code merged."""
    code = bouts["label"].map(lambda label: ACTIVPAL_CODE.get(label, ACTIVPAL_NONWEAR_CODE))
    merged = bouts_from_windows(pd.DataFrame(
        {"start": bouts["start"], "end": bouts["end"], "label": code}))
    return pd.DataFrame({"start": merged["start"], "duration_s": merged["duration_s"],
                         "event_type": merged["label"].astype(int)})

