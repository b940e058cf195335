"""Accuracy: tell the tracker what you were really doing, and fit a model to you.

Corrections ("from 10:05 to 10:20 I was actually standing") and the guided calibration
are stored as stated postures; they never overwrite what the sensor said.  A personal
model is fitted from them here or with `sitting-tracker train --personal`.
"""

from __future__ import annotations

import math
import time
from datetime import date, datetime, timedelta
from datetime import time as clock_time

import pandas as pd
import streamlit as st

from dashboard.charts import POSTURE_NAMES
from dashboard.context import DashboardContext, retry_locked
from dashboard.data import Source, collector_status, days_with_data
from dashboard.shell import current, source_or_empty_state
from tracker.calibration import (
    PHASES,
    SETTLE_S,
    fit_personal_model,
    newest_sample_s,
    personal_model_path,
    routine_problems,
    save_calibration,
)
from tracker.labels import LYING, SITTING, STANDING, WALKING
from tracker.store import Store

STATED = (SITTING, STANDING, WALKING, LYING)
PHASE_S = 60


def render(context: DashboardContext) -> None:
    source = source_or_empty_state(context)
    if source is None:
        return
    location = worn_at(context, source)
    path = personal_model_path(context.db_path, location, source.participant)
    st.subheader("Accuracy")
    st.write(f"Labels come from {'your personal' if path.exists() else 'the shipped'} "
             f"{location} model. Where they are wrong, say what you were doing: the "
             "corrections are kept beside what the sensor said, and refitting learns "
             "from them.")
    correction_form(context, source)
    show_corrections(context, source)
    refit_section(context, source)
    calibration_section(context, source)


def worn_at(context: DashboardContext, source: Source) -> str:
    """Where this band is worn: the location its newest windows were classified for
    (the collector's, or `classify --location`), else the settings'. A study's store
    holds recordings classified for other placements than this computer's settings."""
    assert context.shared is not None  # there is a source
    stored = context.shared.read(lambda store: store.query_scalar(
        "SELECT location FROM windows WHERE participant_id = ? AND device_id = ? "
        "AND location IS NOT NULL ORDER BY start_s DESC LIMIT 1",
        (source.participant, source.device)))
    return str(stored or context.settings.tracker.location)


def correction_form(context: DashboardContext, source: Source) -> None:
    with st.form("correction", clear_on_submit=False):
        st.markdown("**Correct a span**")
        day_column, start_column, end_column, posture_column = st.columns(4)
        # The band's newest day in the dashboard's zone: a study's store or a replayed
        # day need not have data on this computer's today.
        newest_day = days_with_data(source, context.tz)[1]
        day = day_column.date_input("Day", value=newest_day, format="YYYY-MM-DD",
                                    key="correction_day")
        start = start_column.time_input("From", value=clock_time(9, 0), step=60,
                                        key="correction_start")
        end = end_column.time_input("To", value=clock_time(9, 30), step=60,
                                    key="correction_end")
        posture = posture_column.selectbox("I was actually", STATED,
                                           format_func=lambda p: POSTURE_NAMES.get(p, p),
                                           key="correction_posture")
        submitted = st.form_submit_button("Save correction")
    if not submitted:
        return
    assert isinstance(day, date)
    start_s = datetime.combine(day, start, context.tz).timestamp()
    end_s = datetime.combine(day, end, context.tz).timestamp()
    # Now on the band's timeline: a replayed day (the demo) runs ahead of this clock.
    now = max(time.time(), source.last_s)
    if end <= start:
        st.error("The span must end after it starts (for a span past midnight, enter "
                 "each day's part).")
    elif start_s > now:
        st.error("That span has not happened yet.")
    else:
        write_label(context, source, start_s, min(end_s, now), posture)
        st.success(f"Saved: {start:%H:%M} to {end:%H:%M} "
                   f"{POSTURE_NAMES.get(posture, posture)}.")


def write_label(context: DashboardContext, source: Source, start_s: float, end_s: float,
                posture: str) -> None:
    def write() -> None:
        with Store.open(context.db_path, create=False) as store:
            store.add_label(start_s, end_s, posture, "correction",
                            location=worn_at(context, source),
                            participant=source.participant)
    retry_locked(write)


def show_corrections(context: DashboardContext, source: Source) -> None:
    assert context.shared is not None  # there is a source
    labels = context.shared.read(lambda s: s.labels(participant=source.participant))
    corrections = labels[labels["source"] == "correction"]
    if corrections.empty:
        return
    shown = pd.DataFrame({
        "from": [_clock(t, context) for t in corrections["start_s"]],
        "to": [_clock(t, context) for t in corrections["end_s"]],
        "you were": [POSTURE_NAMES.get(p, p) for p in corrections["label"]],
        "location": corrections["location"].fillna(""),
    })
    st.markdown(f"**Your corrections** ({len(corrections)})")
    st.dataframe(shown, hide_index=True, width="stretch")
    names = [f"{a} to {b}, {c}" for a, b, c in shown[["from", "to", "you were"]].values]
    choice = st.selectbox("Remove a correction", [None, *range(len(names))],
                          format_func=lambda i: "—" if i is None else names[i],
                          key="correction_remove")
    if choice is not None and st.button("Remove", key="correction_remove_button"):
        start_s = float(corrections["start_s"].iloc[choice])

        def delete() -> None:
            with Store.open(context.db_path, create=False) as store:
                store.delete_labels(start_s, start_s + 1e-3, "correction",
                                    participant=source.participant)
        retry_locked(delete)
        st.rerun()


def refit_section(context: DashboardContext, source: Source) -> None:
    st.markdown("**Personal model**")
    if not st.button("Refit my personal model", key="refit"):
        return
    location = worn_at(context, source)
    with st.spinner("Fitting…"):
        try:
            fit = fit_personal_model(context.db_path, location,
                                     participant=source.participant)
        except ValueError as error:
            st.warning(str(error))
            return
    held_out = (f" Fitted without the span each window is in, it labels "
                f"{fit.agreement_held_out:.0%}: what to expect on spans it has not seen."
                if math.isfinite(fit.agreement_held_out) else "")
    st.success(f"On your {fit.scored_on} ({fit.n_scored} windows) the model before labelled "
               f"{fit.agreement_before:.0%} as you said; your personal model labels "
               f"{fit.agreement_after:.0%} (fitted on them).{held_out} The collector uses it "
               "from now on.")


def calibration_section(context: DashboardContext, source: Source) -> None:
    st.markdown("**Calibrate** (3 minutes)")
    st.write("Sit, stand and walk for a minute each while the band records; the "
             "tracker then fits a model to you and where you wear the band. Calibrating "
             "again replaces the earlier calibration.")
    assert context.shared is not None
    status = collector_status(context.shared)
    if not status or not status.get("connected"):
        st.info("Start the collector first (`sitting-tracker collect`), or run "
                "`sitting-tracker calibrate` in a terminal: it connects to the band itself.")
        return
    if not st.button("Start calibration", key="calibrate"):
        return
    location = str(status.get("location") or worn_at(context, source))
    shown, progress = st.empty(), st.progress(0.0)
    spans = []
    for number, phase in enumerate(PHASES, start=1):
        start = time.time()
        while (elapsed := time.time() - start) < PHASE_S:
            shown.markdown(f"### {number}/{len(PHASES)}: {phase.posture.upper()}  \n"
                           f"{phase.instruction}  \n{PHASE_S - elapsed:.0f} s to go")
            progress.progress(min(1.0, ((number - 1) * PHASE_S + elapsed)
                                  / (len(PHASES) * PHASE_S)))
            time.sleep(1.0)
        spans.append((start + SETTLE_S, time.time(), phase.posture))
    shown.markdown("Done, thank you. Storing the last samples…")
    deadline = time.time() + 20
    while (newest_sample_s(context.db_path, source.participant) or 0.0) < spans[-1][1] - 0.5 \
            and time.time() < deadline:
        time.sleep(0.5)
    problems = routine_problems(context.db_path, spans, location, source.participant)
    if problems:
        shown.warning("The routine was not done as asked, so nothing was saved (an earlier "
                      "calibration stays):\n\n" + "\n".join(f"- {p}" for p in problems)
                      + f"\n\nIs the band worn at the {location}? Start again and follow "
                      "the prompts.")
        return
    save_calibration(context.db_path, spans, location, source.participant)
    try:
        fit = fit_personal_model(context.db_path, location, participant=source.participant)
    except ValueError as error:
        shown.warning(str(error))
        return
    shown.success(f"Calibrated. Your personal model labels {fit.agreement_after:.0%} of the "
                  f"routine as you did it (the model before: {fit.agreement_before:.0%}).")


def _clock(seconds: float, context: DashboardContext) -> str:
    moment = datetime.fromtimestamp(seconds, context.tz)
    today = datetime.now(context.tz).date()
    if moment.date() == today:
        return f"{moment:%H:%M}"
    if moment.date() == today - timedelta(days=1):
        return f"yesterday {moment:%H:%M}"
    return f"{moment:%Y-%m-%d %H:%M}"


render(current())
