"""Today: the day's posture timeline, the streak going on, breaks, the next suggestion,
and snooze / meeting buttons the collector obeys."""

from __future__ import annotations

import time
from datetime import date, datetime, tzinfo

import streamlit as st

from dashboard.aggregate import active_pause
from dashboard.charts import POSTURE_NAMES, timeline_chart
from dashboard.context import DashboardContext
from dashboard.data import Source, days_with_data
from dashboard.day import DayView, load_day, today_for
from dashboard.shell import (
    FIGURE_WIDTH,
    current,
    figure_row,
    source_or_empty_state,
    write_event,
)
from tracker.suggestions import DISCLAIMER
from tracker.summary import duration

SNOOZE_MIN = (15, 30, 60)
MEETING_MIN = 60  # as the collector's notification button
LIVE_REFRESH_S = 5.0


def clock(seconds: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(seconds, tz).strftime("%H:%M")


def render(context: DashboardContext) -> None:
    source = source_or_empty_state(context)
    if source is None:
        return
    today, status, _ = today_for(context)
    first, last = days_with_data(source, context.tz)
    shown = today if first <= today <= last or status else last
    day = st.date_input("Day", value=shown, min_value=min(first, shown),
                        max_value=max(last, today), format="YYYY-MM-DD", key="today_day",
                        width=180)
    if day != today and shown != today and day == last:
        st.caption(f"No data today yet; showing {last:%A %d %B}, the last day with data.")
    assert isinstance(day, date)

    @st.fragment(run_every=LIVE_REFRESH_S if status else None)
    def day_view() -> None:
        view = load_day(context, source, day)
        if status and not view.status and view.is_today:
            st.rerun(scope="app")  # the collector stopped: stop refreshing
        show_day(context, source, view)

    day_view()


def show_day(context: DashboardContext, source: Source, view: DayView) -> None:
    coach = context.settings.coach
    threshold = coach.sitting_threshold_min
    st.subheader(f"{view.day:%A %d %B}")
    show_status_line(context, view)
    sitting = view.totals["sitting_min"]
    figures = figure_row()
    posture = view.current_posture
    figures.metric("Now", POSTURE_NAMES.get(posture, posture) if posture else "—",
                   width=FIGURE_WIDTH)
    figures.metric(
        "Sitting streak", duration(view.streak_min) if posture else "—", width=FIGURE_WIDTH,
        help=f"Sitting since the last break of {coach.break_min:g}+ min; a nudge comes "
        f"at {threshold:g} min.")
    figures.metric("Sitting today" if view.is_today else "Sitting", duration(sitting),
                   width=FIGURE_WIDTH)
    figures.metric(
        "Breaks taken / owed",
        f"{view.replay.breaks_taken()} / {view.replay.breaks_owed(threshold)}",
        width=FIGURE_WIDTH,
        help=f"Taken: sitting streaks ended by {coach.break_min:g}+ min upright or lying "
        f"down. Owed: streaks that went past {threshold:g} min, each owing a break. "
        "History and `export daily` count every upright bout between two sitting bouts "
        "as a break, however short.")
    if view.windows.empty:
        st.info("No windows on this day.")
    else:
        # An earlier day's timeline ends with its data, not at its midnight.
        shown_until = view.now if view.is_today else view.start
        st.altair_chart(timeline_chart(view.segments, view.replay.streaks, threshold,
                                       context.tz, shown_until), width="stretch")
        show_totals(view, threshold)
    if view.is_today:
        suggestion_column, pause_column = st.columns([3, 2])
        with suggestion_column:
            show_suggestion(context, view)
        with pause_column:
            show_pause_controls(context, source, view)


def show_status_line(context: DashboardContext, view: DayView) -> None:
    status = view.status
    if status:
        battery = f", battery {status['battery']} %" if status.get("battery") is not None \
            else ""
        age = max(0.0, time.time() - float(status.get("updated") or 0))
        st.caption(f":green[●] Live from {status.get('band') or 'the band'}{battery}; "
                   f"updated {age:.0f} s ago.")
    elif view.is_today and view.last_data_s is not None:
        last = clock(view.last_data_s, context.tz)
        if context.demo:
            st.caption(f"The demo's replay has ended (last data at {last}); this is its "
                       "whole day. Ctrl-C in the demo's terminal stops the dashboard; "
                       "`sitting-tracker collect` collects from your own band.")
        else:
            st.caption(f"The collector is not running; last data at {last}. Start it "
                       "with `sitting-tracker collect`.")


def show_totals(view: DayView, threshold: float) -> None:
    totals = view.totals
    long = view.replay.streaks[view.replay.streaks["minutes"] >= threshold]
    st.markdown(
        f"Standing **{duration(totals['standing_min'])}** · "
        f"walking **{duration(totals['walking_min'])}** · "
        f"lying **{duration(totals['lying_min'])}** · "
        f"not worn / no data **{duration(totals['nonwear_min'] + totals['unknown_min'])}**  \n"
        f"Longest sitting bout **{duration(totals['longest_sitting_bout_min'])}** · "
        f"bouts ≥ 30 min **{int(totals['sitting_bouts_30min'])}** · "
        f"≥ 60 min **{int(totals['sitting_bouts_60min'])}** · "
        f"streaks past {threshold:g} min **{len(long)}** (dark red)")


def show_suggestion(context: DashboardContext, view: DayView) -> None:
    suggestion = view.suggestion(context.settings.tracker.location)
    with st.container(border=True):
        st.markdown(f"**Next: {suggestion.title}** ({suggestion.duration_min:g} min)")
        st.write(suggestion.instructions)
        st.caption(DISCLAIMER)
        st.page_link("pages_suggestions.py", label="All suggestions",
                     icon=":material/self_improvement:")


def show_pause_controls(context: DashboardContext, source: Source, view: DayView) -> None:
    pause = active_pause(view.events, view.now)
    with st.container(border=True):
        st.markdown("**Pause nudges**")
        if pause is not None:
            kind, until = pause
            what = "In a meeting" if kind == "meeting" else "Snoozed"
            st.write(f"{what} until {clock(until, context.tz)}.")
        # One wrapping row rather than columns: in a column a button is cut to "Snooze …"
        # when the window is narrow.  Callbacks: the event is written before the rerun
        # reads the day's events.
        with st.container(horizontal=True):
            for minutes in SNOOZE_MIN:
                st.button(f"Snooze {minutes} min", key=f"snooze_{minutes}",
                          on_click=pause_now, args=(context, source, "snooze", minutes))
            if pause is not None and pause[0] == "meeting":
                st.button("Meeting over", key="meeting_end", on_click=pause_now,
                          args=(context, source, "meeting_end", 0))
            else:
                st.button(f"In a meeting ({MEETING_MIN} min)", key="meeting",
                          on_click=pause_now, args=(context, source, "meeting", MEETING_MIN))


def pause_now(context: DashboardContext, source: Source, kind: str, minutes: int) -> None:
    """Write a snooze or meeting as the collector reads it: `until=<unix seconds>` on
    the band's timeline; `meeting_end` has no detail."""
    now = today_for(context)[2]
    detail = "" if kind == "meeting_end" else f"until={now + minutes * 60:.0f}"
    write_event(context, source, now, kind, detail)


render(current())
