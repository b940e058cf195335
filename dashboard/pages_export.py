"""Export: the store's tables as CSV for a range of days, built by tracker.export (the
same files `sitting-tracker export` writes), each only when its button is pressed."""

from __future__ import annotations

from datetime import date
from functools import partial

import streamlit as st

from dashboard.context import DashboardContext
from dashboard.data import days_with_data, participants
from dashboard.downloads import csv_bytes
from dashboard.shell import current, source_or_empty_state
from tracker.commands.export import KIND_HELP
from tracker.export import EXPORT_KINDS, day_range_seconds

KIND_TITLES = {"windows": "Windows", "bouts": "Bouts", "transitions": "Transitions",
               "daily": "Daily summary",
               "events": "Events", "activpal": "activPAL events", "raw": "Raw samples"}


def render(context: DashboardContext) -> None:
    source = source_or_empty_state(context)
    if source is None:
        return
    st.subheader("Export")
    first, last = days_with_data(source, context.tz)
    chosen = st.date_input("Days", value=(max(first, last.replace(day=1)), last),
                           min_value=first, max_value=last, format="YYYY-MM-DD",
                           key="export_days", width=260)
    if not isinstance(chosen, tuple) or len(chosen) != 2:
        st.info("Pick the last day of the range too.")
        return
    start_day, end_day = chosen
    assert context.shared is not None
    everyone = context.participants or participants(context.shared)
    who: str | None = source.participant
    if len(everyone) > 1 and st.radio(
            "Whose data", [f"Participant {source.participant}",
                           f"The whole study ({len(everyone)} participants)"],
            key="export_whose", horizontal=True).startswith("The whole"):
        who = None
    st.caption(f"{'Every participant' if who is None else f'Participant `{who}`'}, "
               f"local days {start_day} to {end_day} ({context.tz}). Times are given as "
               "ISO 8601 with their UTC offset and as Unix seconds.")
    for kind in (k for k in EXPORT_KINDS if k != "raw"):
        show_download(context, who, kind, start_day, end_day)
    start, end = day_range_seconds(start_day, end_day, context.tz)
    # On the page's shared connection: no new connection at every rerun.
    samples = context.shared.read(lambda store: store.raw_sample_count(start, end, who))
    st.caption(f"Raw samples: {samples:,} in this range (about "
               f"{samples * 60 / 1e6:,.0f} MB of CSV); built when you press the button.")
    show_download(context, who, "raw", start_day, end_day, disabled=samples == 0)


def show_download(context: DashboardContext, participant: str | None, kind: str,
                  first: date, last: date, disabled: bool = False) -> None:
    build = partial(csv_bytes, context.db_path, kind, first, last, context.tz, participant)
    text_column, button_column = st.columns([3, 1], vertical_alignment="center")
    text_column.markdown(f"**{KIND_TITLES[kind]}**: {KIND_HELP[kind]}")
    button_column.download_button(
        f"{KIND_TITLES[kind]} CSV", data=build, file_name=f"{kind}_{first}_{last}.csv",
        mime="text/csv", key=f"download_{kind}", disabled=disabled, on_click="ignore")


render(current())
