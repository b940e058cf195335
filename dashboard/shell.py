"""What every page shares: the context (store, settings, time zone), the states without
data (no store, empty, busy, damaged), and writing the few events the dashboard writes."""

from __future__ import annotations

import sys
import threading
from datetime import tzinfo
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.navigation.page import StreamlitPage

from dashboard.context import (
    DashboardContext,
    SharedStore,
    StoreBusy,
    load_dashboard_settings,
    open_store,
    parse_args,
    retry_locked,
    schema_version,
    store_label,
    store_path,
)
from dashboard.data import Source, participants, pick_source, stored_zone
from tracker.config import default_config_path
from tracker.store import Store, StoreError, StoreLocation, StoreMissing
from tracker.store_backends import is_database_url
from tracker.timezones import local_timezone, timezone_named

CONTEXT_KEY = "dashboard_context"
FIGURE_WIDTH = 170  # px: two figures fit side by side on a phone
BUSY_RETRY_S = 3.0
# The device id of events written here; the collector reads a participant's pauses
# from every device.
DASHBOARD_DEVICE = "dashboard"


@st.cache_resource(show_spinner=False, max_entries=4)
def _shared_store(location: str, inode: int) -> SharedStore:
    """One connection per store file (the inode: a demo store deleted and made again is
    a new file) or database URL (inode 0)."""
    store, note = open_store(location if is_database_url(location) else Path(location))
    if store is None:
        raise StoreMissing(f"{store_label(location)}: no store here yet")
    return SharedStore(store=store, note=note, lock=threading.Lock(), location=location)


def _existing_store(location: StoreLocation) -> SharedStore | None:
    """The shared store, or None while there is none (or no schema in it) yet."""
    if isinstance(location, str):
        try:
            return _shared_store(location, 0)
        except StoreMissing:
            return None
    if location.exists() and schema_version(location) != (0, 0):
        return _shared_store(str(location), location.stat().st_ino)
    return None


def build_context() -> DashboardContext:
    """Settings and store for this run; a store that cannot be read is shown as such and
    the run goes on without it (the Settings page still works)."""
    args = parse_args(sys.argv[1:])
    config_path = default_config_path()
    settings, settings_error = load_dashboard_settings(config_path)
    try:
        db_path = store_path(args.db, settings)
    except StoreError as error:  # --db or $SITTING_TRACKER_DB names no store (mysql://)
        st.error(f"No store to show: {error}")
        st.stop()
    shared, problem = None, None
    try:
        shared = _existing_store(db_path)
    except StoreBusy as error:
        problem = f"{error}. Retrying every {BUSY_RETRY_S:g} s."
        st.warning(problem)
        _rerun_later()
    except StoreError as error:
        problem = f"This store cannot be read: {error}"
        st.error(problem)
    everyone, shown, source = _shown_source(shared, settings.tracker.participant)
    context = DashboardContext(db_path=db_path, config_path=config_path, settings=settings,
                               settings_error=settings_error, tz=_days_zone(shared, source),
                               shared=shared, store_problem=problem, demo=args.demo,
                               participants=everyone, shown_participant=shown, source=source)
    st.session_state[CONTEXT_KEY] = context
    return context


def _shown_source(shared: SharedStore | None, configured: str
                  ) -> tuple[list[str] | None, str | None, Source | None]:
    """Everyone in the store, whose data the page shows and that participant's band;
    Nones when the store cannot be read just now, which the page's own reads then say."""
    if shared is None:
        return None, None, None
    try:
        everyone = participants(shared)
        shown = shown_participant(everyone, configured)
        return everyone, shown, pick_source(shared, shown)
    except StoreError:
        return None, None, None


def _days_zone(shared: SharedStore | None, source: Source | None) -> tzinfo:
    """The zone the shown participant's band was classified or collected in, which
    `export` counts days in too: a study's store read on a machine elsewhere shows the
    participant's own days. This machine's zone when the store keeps none."""
    if shared is None or source is None:
        return local_timezone()
    try:
        return timezone_named(stored_zone(shared, source))
    # A kept name this machine's zone data lacks; or a store out of reach just now,
    # which the page's own reads then say.
    except (ValueError, StoreError):
        return local_timezone()


@st.fragment(run_every=BUSY_RETRY_S)
def _rerun_later() -> None:
    """While the store stays locked: run the whole page again every few seconds (the
    first call comes with the page itself, the next from the timer)."""
    if st.session_state.get("_busy_seen"):
        st.session_state["_busy_seen"] = False
        st.rerun(scope="app")
    st.session_state["_busy_seen"] = True


def run_page(page: StreamlitPage) -> None:
    """Run the chosen page; a store that stops answering mid-page (a database server
    restarting or out of reach) is said in one line and tried again every few seconds."""
    try:
        page.run()
    except StoreError as error:
        st.error(f"The store cannot be read right now: {error}. Trying again every "
                 f"{BUSY_RETRY_S:g} s.")
        _rerun_later()


def figure_row() -> DeltaGenerator:
    """A row of st.metric figures that wraps: four across on a laptop, two by two on a
    phone (columns would stack them one per line)."""
    return st.container(horizontal=True, horizontal_alignment="distribute")


def current() -> DashboardContext:
    context: DashboardContext = st.session_state[CONTEXT_KEY]
    return context


def source_or_empty_state(context: DashboardContext) -> Source | None:
    """Whose data to show, or None after saying how to get some (or why the store
    cannot be read, which build_context has shown already)."""
    if context.store_problem:
        return None
    if context.shared is not None:
        if context.shared.note and not st.session_state.get("_upgrade_noted"):
            st.session_state["_upgrade_noted"] = True
            st.info(context.shared.note)
        chosen = chosen_participant(context)
        source = context.source if chosen == context.shown_participant \
            else pick_source(context.shared, chosen)
        if source is not None:
            return source
    empty_state(context)
    return None


def chosen_participant(context: DashboardContext) -> str:
    """The participant whose data the pages show: the configured one, or, when the store
    holds several (a study), the one picked in the sidebar."""
    assert context.shared is not None
    everyone = context.participants
    if everyone is None:  # not read with the context: the store was out of reach then
        everyone = participants(context.shared)
    shown = shown_participant(everyone, context.settings.tracker.participant)
    if len(everyone) < 2:
        return shown
    chosen = str(st.sidebar.selectbox("Participant", everyone, index=everyone.index(shown),
                                      key="participant",
                                      help="This store holds several participants' data."))
    # On a phone the sidebar is folded away: say whose data this is where it shows.
    st.caption(f"Participant **{chosen}** ({everyone.index(chosen) + 1} of {len(everyone)} "
               "in this store; choose another in the sidebar, » at the top left when folded).")
    return chosen


def shown_participant(everyone: list[str], configured: str) -> str:
    """The participant chosen_participant shows, before its sidebar choice is drawn (the
    choice made in the run before, else the configured one, else the first)."""
    if len(everyone) < 2:
        return configured
    chosen = st.session_state.get("participant")
    if chosen in everyone:
        return str(chosen)
    return configured if configured in everyone else everyone[0]


def empty_state(context: DashboardContext) -> None:
    st.info(f"No data yet in `{store_label(context.db_path)}`.")
    st.markdown(
        "Start recording with your band:\n\n"
        "```\nsitting-tracker collect\n```\n\n"
        "or try it without a band: an emulated band replays a real office day into a demo "
        "store and opens this dashboard on it:\n\n"
        "```\nsitting-tracker demo\n```\n\n"
        "This page looks again every few seconds.")
    _watch_for_data(str(context.db_path))


@st.fragment(run_every=5.0)
def _watch_for_data(path: str) -> None:
    """Reload the whole page once the collector has written its first windows."""
    location: StoreLocation = path if is_database_url(path) else Path(path)
    try:
        if isinstance(location, Path) and not (
                location.exists() and schema_version(location)[0]):
            return
        store = _existing_store(location)
        if store is not None and store.read(lambda s: s.query_scalar(
                "SELECT 1 FROM windows LIMIT 1")) is not None:
            st.rerun(scope="app")
    except StoreError:
        return


def write_event(context: DashboardContext, source: Source, time_s: float, kind: str,
                detail: str) -> None:
    """Add one event through a short-lived writable connection (the shared one is
    read-only); the collector picks snoozes and meetings up within a second."""
    def write() -> None:
        with Store.open(context.db_path, create=False) as store:
            store.add_event(time_s, kind, detail, participant=source.participant,
                            device=DASHBOARD_DEVICE)
    retry_locked(write)
