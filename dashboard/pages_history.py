"""History: sitting time, streaks and breaks per day and week against a sitting-time
goal, and when in the week the sitting happens."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard.aggregate import day_bounds
from dashboard.charts import (
    breaks_chart,
    daily_sitting_chart,
    heatmap_chart,
    long_bouts_chart,
    longest_bout_chart,
    weekday_hour_table,
)
from dashboard.context import DashboardContext
from dashboard.data import (
    days_with_data,
    history_summaries,
    local_date,
    period_bouts,
    rows_version,
    timeline_now,
)
from dashboard.shell import FIGURE_WIDTH, current, figure_row, source_or_empty_state
from tracker.summary import duration, rate_text

# The settings file has no goal; 6 h/day is a common target in workplace programmes
# that aim at sitting less, kept here for the browser session.
DEFAULT_GOAL_H = 6.0
PERIODS = {"4 weeks": 28, "13 weeks": 91, "All": None}
GOAL_KEY = "sitting_goal_h"


def weekly_table(daily: pd.DataFrame, goal_h: float) -> pd.DataFrame:
    """Per ISO week (Monday first): means per recorded day, and days over the goal."""
    frame = daily.assign(
        week=daily["date"].dt.to_period("W-SUN").dt.start_time,
        sitting_h=daily["sitting_min"] / 60.0,
        over=daily["sitting_min"] / 60.0 > goal_h)
    weeks = frame.groupby("week").agg(
        days=("date", "size"), sitting_h=("sitting_h", "mean"), over=("over", "sum"),
        longest_min=("longest_sitting_bout_min", "max"),
        bouts_30=("sitting_bouts_30min", "mean"), bouts_60=("sitting_bouts_60min", "mean"),
        breaks=("breaks_per_sedentary_hour", "mean"))
    weeks = weeks.sort_index(ascending=False).reset_index()
    weeks["week"] = weeks["week"].dt.strftime("%d %b %Y")
    weeks["longest_min"] = weeks["longest_min"].round(0).astype(int)
    return weeks.rename(columns={
        "week": "week of", "days": "days", "sitting_h": "sitting h/day",
        "over": "days over goal", "longest_min": "longest bout (min)",
        "bouts_30": "bouts ≥ 30 min/day", "bouts_60": "bouts ≥ 60 min/day",
        "breaks": "breaks per sedentary h"})


def render(context: DashboardContext) -> None:
    source = source_or_empty_state(context)
    if source is None or context.shared is None:
        return
    st.subheader("History")
    first, last = days_with_data(source, context.tz)
    today = max(local_date(timeline_now(None), context.tz), last)
    period_column, goal_column = st.columns([3, 2])
    period = period_column.segmented_control("Period", list(PERIODS), default="4 weeks",
                                             key="history_period") or "4 weeks"
    goal_h = goal_column.number_input(
        "Sitting goal (hours per day)", min_value=1.0, max_value=16.0,
        value=DEFAULT_GOAL_H, step=0.5, key=GOAL_KEY,
        help="Kept while this page is open; 6 h/day unless you change it.")
    days = PERIODS[period]
    start_day = first if days is None else max(first, today - timedelta(days=days - 1))
    start, _ = day_bounds(start_day, context.tz)
    today_start, tomorrow = day_bounds(today, context.tz)
    daily = history_summaries(context.shared, source, start, today_start, tomorrow,
                              context.tz)
    if daily.empty:
        st.info(f"No data from {start_day:%a %d %b %Y} on. The last day with data is "
                f"{last:%a %d %b %Y}: choose All to see every day with data.")
        return
    show_figures(daily, goal_h, context.settings.coach.sitting_threshold_min)
    st.markdown("**Daily sitting time against your goal**")
    st.altair_chart(daily_sitting_chart(daily, goal_h), width="stretch")
    threshold = context.settings.coach.sitting_threshold_min
    longest_column, bouts_column = st.columns(2)
    with longest_column:
        st.markdown(f"**Longest sitting bout** (dashed: nudge after {threshold:g} min)")
        st.altair_chart(longest_bout_chart(daily, threshold), width="stretch")
    with bouts_column:
        st.markdown("**Long sitting bouts**")
        st.altair_chart(long_bouts_chart(daily), width="stretch")
    st.markdown("**Breaks per sedentary hour**")
    st.altair_chart(breaks_chart(daily), width="stretch")
    st.markdown("**When you sit: average minutes of sitting per hour**")
    version = rows_version(context.shared, "bouts", start, tomorrow, source.participant)
    bouts = period_bouts(context.shared, source, start, tomorrow, version)
    st.altair_chart(heatmap_chart(weekday_hour_table(bouts, context.tz)),
                    width="stretch")
    st.markdown("**Week by week**")
    weeks = weekly_table(daily, goal_h).set_index("week of")
    st.table(weeks.style.format("{:.1f}", subset=[
        "sitting h/day", "bouts ≥ 30 min/day", "bouts ≥ 60 min/day", "breaks per sedentary h"]))


def show_figures(daily: pd.DataFrame, goal_h: float, threshold_min: float) -> None:
    over = int((daily["sitting_min"] / 60.0 > goal_h).sum())
    figures = figure_row()
    figures.metric("Sitting per day", duration(float(daily["sitting_min"].mean())),
                   help=f"Mean over the {len(daily)} days with data.", width=FIGURE_WIDTH)
    figures.metric("Days over the goal", f"{over} of {len(daily)}", width=FIGURE_WIDTH)
    figures.metric("Longest bout", duration(float(daily["longest_sitting_bout_min"].max())),
                   help=f"Your nudge threshold is {threshold_min:g} min.", width=FIGURE_WIDTH)
    figures.metric("Breaks per sedentary hour",
                   rate_text(float(daily["breaks_per_sedentary_hour"].mean())),
                   width=FIGURE_WIDTH)


render(current())

