"""Settings: the coach and tracker settings in the file the collector reads, checked
by tracker.config before anything is written."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from dashboard.context import DashboardContext
from dashboard.shell import current
from tracker.config import LOCATIONS, WEEKDAYS, ConfigError, Settings, save_settings

SAVED_KEY = "settings_saved_to"


def form_settings(base: Settings) -> Settings | None:
    """The form, filled from `base`; the settings it describes once submitted."""
    coach, tracker = base.coach, base.tracker
    with st.form("settings"):
        left, right = st.columns(2)
        threshold = left.number_input("Nudge after sitting for (min)", min_value=0.0,
                                      value=coach.sitting_threshold_min, step=5.0,
                                      format="%.1f")
        break_min = left.number_input("A break is upright or lying for (min)",
                                      min_value=0.0, value=coach.break_min, step=0.5,
                                      format="%.1f")
        remind = left.number_input("Remind again every (min)", min_value=0.0,
                                   value=coach.remind_every_min, step=5.0,
                                   format="%.1f")
        days = right.multiselect("Working days", WEEKDAYS, default=list(coach.working_days))
        hours = right.text_input("Working hours", value=coach.working_hours,
                                 help="HH:MM-HH:MM; nudges only come in these hours.")
        quiet = right.text_input("Quiet hours", value=coach.quiet_hours,
                                 help="HH:MM-HH:MM, may pass midnight; empty for none.")
        location = left.selectbox("Where the band is worn", LOCATIONS,
                                  index=LOCATIONS.index(tracker.location)
                                  if tracker.location in LOCATIONS else 0,
                                  help="The thigh tells sitting from standing best.")
        device = right.text_input("Band", value=tracker.device,
                                  help="Name or address; empty: the first supported band.")
        if not st.form_submit_button("Save", type="primary"):
            return None
    return replace(
        base,
        tracker=replace(tracker, location=location, device=device.strip()),
        coach=replace(coach, sitting_threshold_min=float(threshold), break_min=float(break_min),
                      remind_every_min=float(remind),
                      working_days=tuple(d for d in WEEKDAYS if d in days),
                      working_hours=hours.strip(), quiet_hours=quiet.strip()))


def render(context: DashboardContext) -> None:
    st.subheader("Settings")
    st.caption(f"File: `{context.config_path}`, shared with the collector, which reads it "
               "when it starts.")
    if context.settings_error:
        st.error(f"The settings file cannot be used: {context.settings_error}. The form "
                 "shows the defaults; saving it replaces the file.")
    saved_to = st.session_state.pop(SAVED_KEY, None)
    if saved_to:
        st.success(f"Saved to `{saved_to}`. Restart the collector to use them.")
    settings = form_settings(context.settings)
    if settings is None:
        return
    try:
        path = save_settings(settings, context.config_path)
    except ConfigError as error:
        st.error(f"Not saved: {error}")
        return
    st.session_state[SAVED_KEY] = str(path)
    st.rerun()  # read the file again, as the collector will


render(current())
