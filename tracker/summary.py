"""The one-screen summary printed at the end of `classify`."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from tracker.bouts import summarise
from tracker.labels import LYING, NONWEAR, SITTING, STANDING, UNKNOWN, WALKING

PLACEMENT_NOTE = {
    "thigh": "thigh placement: the most reliable for sitting vs standing",
    "waist": "waist placement: sitting vs standing is less certain than at the thigh",
    "wrist": "wrist placement: sitting vs standing is often ambiguous; the thigh is far "
             "more reliable",
}


def duration(minutes: float) -> str:
    """'2 h 05 min', '17 min', '45 s'."""
    if 0 < minutes < 1:
        return f"{minutes * 60:.0f} s"
    total = round(minutes)
    hours, rest = divmod(total, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def format_summary(bouts: pd.DataFrame, windows: pd.DataFrame, *, source: Path,
                   output: Path, location: str) -> str:
    totals = summarise(bouts)
    covered = sum(totals[f"{label}_min"] for label in
                  (SITTING, STANDING, WALKING, LYING, NONWEAR, UNKNOWN))
    worn_windows = windows[~windows["label"].isin([NONWEAR, UNKNOWN])]
    lines = [f"{source} -> {output}: {len(windows):,} windows over {duration(covered)}"]
    for label, name in ((SITTING, "sitting"), (STANDING, "standing"), (WALKING, "walking"),
                        (LYING, "lying"), (NONWEAR, "not worn"), (UNKNOWN, "no data")):
        minutes = totals[f"{label}_min"]
        share = 100.0 * minutes / covered if covered else 0.0
        lines.append(f"  {name:<9} {duration(minutes):>14}  {share:5.1f} %")
    lines += [
        f"Longest sitting bout:     {duration(totals['longest_sitting_bout_min'])}",
        f"Sitting bouts >= 30 min:  {int(totals['sitting_bouts_30min'])} "
        f"({duration(totals['sitting_in_bouts_30min_min'])})",
        f"Sitting bouts >= 60 min:  {int(totals['sitting_bouts_60min'])} "
        f"({duration(totals['sitting_in_bouts_60min_min'])})",
        f"Sit-to-stand transitions: {int(totals['sit_to_stand'])}",
        f"Breaks per sedentary hour: {rate_text(totals['breaks_per_sedentary_hour'])}",
    ]
    if len(worn_windows):
        confidence = float(worn_windows["confidence"].mean())
        lines.append(f"Mean confidence: {confidence:.2f} ({PLACEMENT_NOTE[location]})")
    return "\n".join(lines)


def rate_text(value: float) -> str:
    """A rate with one decimal; '-' where it is undefined (no sedentary time)."""
    return "-" if math.isnan(value) else f"{value:.1f}"
