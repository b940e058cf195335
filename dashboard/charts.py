"""Altair charts of the pages. Days are drawn as naive dates; the Today timeline's times
on a UTC scale (DayClock), so the browser's own zone shifts nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

import altair as alt
import numpy as np
import pandas as pd

from dashboard.aggregate import NO_DATA, WEEKDAY_NAMES, sitting_by_weekday_hour
from tracker.labels import NOT_WORN, SITTING

# Colour-blind-safe (Okabe-Ito) colours; time without data stays grey.
POSTURE_COLOURS = {"sitting": "#E69F00", "standing": "#56B4E9", "walking": "#009E73",
                   "lying": "#CC79A7", "not worn": "#999999", "no data": "#E4E4E4"}
POSTURE_NAMES = {"nonwear": "not worn", "unknown": "no data", NO_DATA: "no data"}
STREAK_COLOUR = "#B2182B"
HEATMAP_NO_DATA = "no data (band not worn)"
HOUR_S = 3600.0


def utc_offsets(seconds: pd.Series, tz: tzinfo) -> pd.Series:
    """The zone's UTC offset (in seconds) at each moment."""
    utc = pd.to_datetime(seconds, unit="s", utc=True)
    local = utc.dt.tz_convert(tz).dt.tz_localize(None)
    return (local - utc.dt.tz_localize(None)).dt.total_seconds()


@dataclass(frozen=True)
class DayClock:
    """The x axis of a day: its moments on a clock that keeps the zone's offset at the
    day's start all day, so it runs on evenly through a daylight-saving change (the
    repeated hour drawn after the first, not over it); the axis labels each tick with
    the local time it stands for."""

    offset_s: float  # the zone's offset at the start
    changes: tuple[tuple[float, float], ...]  # (moment, offset from then on)

    @classmethod
    def of(cls, start: float, end: float, tz: tzinfo) -> DayClock:
        # Offsets change on whole minutes: a minute's grid finds every change exactly.
        minutes = pd.Series(np.arange(start, end + 60.0, 60.0))
        offsets = utc_offsets(minutes, tz)
        changed = offsets.diff().fillna(0.0) != 0.0
        return cls(float(offsets.iloc[0]), tuple(zip(minutes[changed].astype(float),
                                                     offsets[changed].astype(float),
                                                     strict=True)))

    def times(self, seconds: pd.Series) -> pd.Series:
        """Aware (UTC) date-times: Streamlit passes them to the browser as moments, which
        the chart's UTC scale shows as they are, whatever the browser's zone."""
        return pd.to_datetime(seconds + self.offset_s, unit="s", utc=True)

    def label_expr(self) -> str:
        """A Vega expression for an axis label: the local time of a tick."""
        shift = "0"
        for moment, offset in self.changes:
            at_ms = (moment + self.offset_s) * 1000.0
            shift = f"(time(datum.value) >= {at_ms:.0f} ? {(offset - self.offset_s) * 1000.0:.0f}" \
                f" : {shift})"
        return f"utcFormat(time(datum.value) + {shift}, '%H:%M')"


def clock_texts(seconds: pd.Series, tz: tzinfo, with_zone: bool) -> pd.Series:
    """Local clock times for a tooltip; with the zone's abbreviation on a day when the
    clocks change, where 02:30 alone could be either of two moments."""
    local = pd.to_datetime(seconds, unit="s", utc=True).dt.tz_convert(tz)
    return local.dt.strftime("%H:%M %Z" if with_zone else "%H:%M")


def shown_span(segments: pd.DataFrame, now: float) -> tuple[float, float]:
    """From the hour before the first data to the hour after the last data (or now)."""
    recorded = segments[segments["label"] != NO_DATA]
    if recorded.empty:
        return float(segments["start"].min()), float(segments["end"].max())
    first = float(recorded["start"].min())
    last = max(float(recorded["end"].max()), min(now, float(segments["end"].max())))
    return (max(float(segments["start"].min()), (first // HOUR_S) * HOUR_S),
            min(float(segments["end"].max()), -(-last // HOUR_S) * HOUR_S))


def timeline_chart(segments: pd.DataFrame, streaks: pd.DataFrame, threshold_min: float,
                   tz: tzinfo, now: float) -> alt.LayerChart:
    """Posture through the day as one coloured band; above it, a dark red bar over every
    sitting streak that went past the threshold."""
    start, end = shown_span(segments, now)
    clock = DayClock.of(start, end, tz)
    with_zone = bool(clock.changes)
    shown = segments[(segments["end"] > start) & (segments["start"] < end)]
    starts, ends = shown["start"].clip(lower=start), shown["end"].clip(upper=end)
    rows = pd.DataFrame({
        "start": clock.times(starts), "end": clock.times(ends),
        "from": clock_texts(starts, tz, with_zone), "to": clock_texts(ends, tz, with_zone),
        "posture": shown["label"].map(lambda label: POSTURE_NAMES.get(label, label)),
        "minutes": shown["minutes"].round(0)})
    long = streaks[streaks["minutes"] >= threshold_min]
    streak_name = f"sitting streak ≥ {threshold_min:g} min"
    streak_rows = pd.DataFrame({
        "start": clock.times(long["start"]), "end": clock.times(long["end"]),
        "from": clock_texts(long["start"], tz, with_zone),
        "to": clock_texts(long["end"], tz, with_zone),
        "minutes": long["minutes"].round(0), "posture": streak_name})
    domain = [*POSTURE_COLOURS, streak_name]
    colour = alt.Color("posture:N", title=None,
                       scale=alt.Scale(domain=domain,
                                       range=[*POSTURE_COLOURS.values(), STREAK_COLOUR]),
                       legend=alt.Legend(orient="bottom", columns=3, symbolType="square"))
    x = alt.X("start:T", title=None, scale=alt.Scale(
        type="utc",
        domain=[*clock.times(pd.Series([start, end])).dt.strftime("%Y-%m-%dT%H:%M:%SZ")]),
        axis=alt.Axis(labelExpr=clock.label_expr(), labelOverlap=True, tickCount="hour"))
    tooltip = [alt.Tooltip("posture:N", title="what"), alt.Tooltip("from:N"),
               alt.Tooltip("to:N"), alt.Tooltip("minutes:Q")]
    postures = alt.Chart(rows).mark_bar().encode(
        x=x, x2="end:T", y=alt.value(14), y2=alt.value(58), color=colour, tooltip=tooltip)
    streak_bars = alt.Chart(streak_rows).mark_bar().encode(
        x=x, x2="end:T", y=alt.value(2), y2=alt.value(10), color=colour, tooltip=tooltip)
    # fit-x: the height is the bands' own; the axis and legend come on top of it
    # (Streamlit's default "fit" would squeeze them into those 58 px).
    return alt.LayerChart(layer=[postures, streak_bars], height=58,
                          autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


# Counts are whole: no "0.5 bouts" tick, and no "0.000000" on a week without any.
COUNT_AXIS = alt.Axis(format="d", tickMinStep=1)
DAY_AXIS = alt.Axis(format="%d %b", tickCount="day", labelOverlap=True)
DAY_TOOLTIP = alt.Tooltip("date:T", format="%a %d %b")
# A day's bar takes most of its day on a time axis that keeps days without data.
DAY_X = alt.X("yearmonthdate(date):T", title=None, axis=DAY_AXIS)


def daily_sitting_chart(daily: pd.DataFrame, goal_h: float) -> alt.LayerChart:
    frame = daily.assign(hours=(daily["sitting_min"] / 60.0).round(2),
                         over=(daily["sitting_min"] / 60.0 > goal_h).map(
                             {True: "over the goal", False: "within the goal"}))
    bars = alt.Chart(frame).mark_bar(width=alt.RelativeBandSize(0.8)).encode(
        x=DAY_X, y=alt.Y("hours:Q", title="sitting (h)"),
        color=alt.Color("over:N", scale=alt.Scale(domain=["within the goal", "over the goal"],
                                                  range=["#0072B2", "#D55E00"]),
                        legend=alt.Legend(orient="bottom", title=None)),
        tooltip=[DAY_TOOLTIP, "hours:Q"])
    goal = alt.Chart(pd.DataFrame({"goal": [goal_h]})).mark_rule(
        strokeDash=[6, 4], color="black").encode(y="goal:Q", tooltip=["goal:Q"])
    return alt.LayerChart(layer=[bars, goal], height=240)


def long_bouts_chart(daily: pd.DataFrame) -> alt.LayerChart:
    """Bouts of 60+ min are also bouts of 30+ min: drawn inside them, not stacked."""
    colour = alt.Color("bouts:N", scale=alt.Scale(domain=["≥ 30 min", "≥ 60 min"],
                                                  range=["#E69F00", "#B2182B"]),
                       legend=alt.Legend(orient="bottom", title=None))
    layers = []
    for column, name, width in (("sitting_bouts_30min", "≥ 30 min", 0.8),
                                ("sitting_bouts_60min", "≥ 60 min", 0.4)):
        frame = daily[["date"]].assign(count=daily[column], bouts=name)
        layers.append(alt.Chart(frame).mark_bar(width=alt.RelativeBandSize(width)).encode(
            x=DAY_X, y=alt.Y("count:Q", title="sitting bouts per day", axis=COUNT_AXIS),
            color=colour,
            tooltip=[DAY_TOOLTIP, "bouts:N", "count:Q"]))
    return alt.LayerChart(layer=layers, height=220)


def dots(colour: str) -> alt.OverlayMarkDef:
    """A line's points in its own colour (they would be the default blue)."""
    return alt.OverlayMarkDef(color=colour)


def with_runs(daily: pd.DataFrame) -> pd.DataFrame:
    """`run`: the number of each stretch of consecutive days with data. A line drawn per
    run breaks at days without data rather than drawing values across them."""
    daily = daily.sort_values("date")
    days = daily["date"].dt.normalize()
    return daily.assign(run=(days.diff() != pd.Timedelta(days=1)).cumsum())


def daily_line(frame: pd.DataFrame, field: str, title: str, colour: str) -> alt.Chart:
    return alt.Chart(with_runs(frame)).mark_line(point=dots(colour), color=colour).encode(
        x=alt.X("date:T", title=None, axis=DAY_AXIS),
        y=alt.Y(f"{field}:Q", title=title),
        detail="run:N",
        tooltip=[DAY_TOOLTIP, f"{field}:Q"])


def longest_bout_chart(daily: pd.DataFrame, threshold_min: float) -> alt.LayerChart:
    frame = daily.assign(longest=daily["longest_sitting_bout_min"].round(0))
    line = daily_line(frame, "longest", "longest sitting bout (min)", "#B2182B")
    threshold = alt.Chart(pd.DataFrame({"nudge after": [threshold_min]})).mark_rule(
        strokeDash=[6, 4], color="grey").encode(y="nudge after:Q", tooltip=["nudge after:Q"])
    return alt.LayerChart(layer=[line, threshold], height=220)


def breaks_chart(daily: pd.DataFrame) -> alt.Chart:
    frame = daily.assign(rate=daily["breaks_per_sedentary_hour"].round(2))
    return daily_line(frame, "rate", "breaks per sedentary hour", "#009E73").properties(
        height=200)


def weekday_hour_table(bouts: pd.DataFrame, tz: tzinfo) -> pd.DataFrame:
    """sitting_by_weekday_hour, with `worn`: whether the band recorded a posture in that
    weekday's hour at all (an hour it was off or not worn has no sitting to show)."""
    table = sitting_by_weekday_hour(bouts, tz)
    worn_bouts = bouts[~bouts["label"].isin(NOT_WORN)].assign(label=SITTING)
    worn = sitting_by_weekday_hour(worn_bouts, tz)["minutes"] > 0
    return table.assign(worn=worn.to_numpy())


def heatmap_chart(table: pd.DataFrame) -> alt.LayerChart:
    """Worn hours coloured by their sitting; hours never worn in grey, with a legend of
    their own, so "not worn" does not read as "did not sit"."""
    x = alt.X("hour:O", title="hour of the day", axis=alt.Axis(labelAngle=0))
    y = alt.Y("day:N", sort=list(WEEKDAY_NAMES), title=None)
    worn = table[table["worn"]].assign(minutes=table["minutes"].round(1))
    sitting = alt.Chart(worn).mark_rect().encode(
        x=x, y=y,
        color=alt.Color("minutes:Q", scale=alt.Scale(scheme="oranges", domain=[0, 60]),
                        title="sitting min/h"),
        tooltip=["day:N", "hour:O", alt.Tooltip("minutes:Q", title="sitting min (avg)")])
    unworn = table[~table["worn"]].assign(what=HEATMAP_NO_DATA)
    no_data = alt.Chart(unworn).mark_rect().encode(
        x=x, y=y,
        color=alt.Color("what:N", title=None,
                        scale=alt.Scale(domain=[HEATMAP_NO_DATA],
                                        range=[POSTURE_COLOURS["no data"]])),
        tooltip=["day:N", "hour:O", alt.Tooltip("what:N", title="sitting min (avg)")])
    return alt.LayerChart(layer=[sitting, no_data], height=220).resolve_scale(
        color="independent")
