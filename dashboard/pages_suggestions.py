"""Suggestions: what to do instead of sitting on, for the psoas, and which of it was
done today: seen by the sensor where it can tell, marked by hand where it cannot."""

from __future__ import annotations

import streamlit as st

from dashboard.aggregate import walks
from dashboard.context import DashboardContext
from dashboard.data import Source
from dashboard.day import DayView, load_day, today_for
from dashboard.shell import current, source_or_empty_state, write_event
from tracker.suggestions import DISCLAIMER, SUGGESTIONS, Suggestion

MARKED_KIND = "suggestion_done"  # detail: the suggestion's key


def sensor_record(suggestion: Suggestion, view: DayView) -> str | None:
    """What the sensor saw of this suggestion today, or None where it cannot tell."""
    if suggestion.key == "stand-and-move":
        count = view.replay.count("break")
        return f"{count} break{'s' * (count != 1)} from sitting" if count else ""
    if suggestion.key == "constructive-rest":
        count = view.replay.count("rest")
        return f"{count} lying rest{'s' * (count != 1)} of 10+ min" if count else ""
    if suggestion.key == "release-stress":
        count = walks(view.segments)
        return f"{count} walk{'s' * (count != 1)} of 10+ min" if count else ""
    return None


def render(context: DashboardContext) -> None:
    source = source_or_empty_state(context)
    st.subheader("Suggestions for your psoas")
    st.caption(DISCLAIMER)
    st.write("Sitting holds the psoas, the hip flexor running from the lower spine to the "
             "thigh bone, short for hours. These lengthen it, take load off it, or make "
             "sitting kinder to it.")
    if source is None:
        # Worth reading before the band has recorded anything.
        for suggestion in SUGGESTIONS:
            with st.container(border=True):
                show_text(suggestion, is_next=False)
        return
    today, _, _ = today_for(context)
    view = load_day(context, source, today)
    chosen = view.suggestion(context.settings.tracker.location).key
    marked = set(view.events.loc[view.events["kind"] == MARKED_KIND, "detail"])
    for suggestion in SUGGESTIONS:
        show_suggestion(context, source, view, suggestion, suggestion.key == chosen,
                        suggestion.key in marked)


def show_suggestion(context: DashboardContext, source: Source, view: DayView,
                    suggestion: Suggestion, is_next: bool, marked: bool) -> None:
    with st.container(border=True):
        show_text(suggestion, is_next)
        seen = sensor_record(suggestion, view)
        if seen is None:
            if marked:
                st.markdown(":green[✓ Done today] (marked by you)")
            else:
                st.button("I did this today", key=f"done_{suggestion.key}",
                          on_click=mark_done, args=(context, source, suggestion.key))
            st.caption("The sensor cannot tell this one apart.")
        elif seen:
            st.markdown(f":green[✓ Done today]: the sensor saw {seen}.")
        else:
            st.markdown(f"Not seen today. The sensor looks for {suggestion.verified_by}.")


def show_text(suggestion: Suggestion, is_next: bool) -> None:
    badge = "  ·  :orange-badge[next up]" if is_next else ""
    st.markdown(f"**{suggestion.title}** · {suggestion.duration_min:g} min{badge}")
    st.write(suggestion.instructions)


def mark_done(context: DashboardContext, source: Source, key: str) -> None:
    now = today_for(context)[2]
    write_event(context, source, now, MARKED_KIND, key)


render(current())
