"""What every page shares: the context (store, settings, time zone), the states without
data (no store, empty, busy, damaged), and writing the few events the dashboard writes."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard.context import (
    DashboardContext,
    SharedStore,
    StoreBusy,
    load_dashboard_settings,
    open_store,
    parse_args,
    retry_locked,
    schema_version,
    store_path,
)
from dashboard.data import Source, pick_source
from tracker.config import default_config_path
from tracker.store import Store, StoreError
from tracker.timezones import local_timezone

CONTEXT_KEY = "dashboard_context"
FIGURE_WIDTH = 170  # px: two figures fit side by side on a phone
BUSY_RETRY_S = 3.0
# The device id of events written here; the collector reads a participant's pauses
# from every device.
DASHBOARD_DEVICE = "dashboard"


@st.cache_resource(show_spinner=False, max_entries=4)
def _shared_store(path: str, inode: int) -> SharedStore:
    """One connection per store file (the inode: a demo store deleted and made again is
    a new file)."""
    store, note = open_store(Path(path))
    if store is None:
        raise StoreError(f"{path}: no store here yet")
    return SharedStore(store=store, note=note, lock=threading.Lock())


def build_context() -> DashboardContext:
    """Settings and store for this run; a store that cannot be read is shown as such and
    the run goes on without it (the Settings page still works)."""
    args = parse_args(sys.argv[1:])
    config_path = default_config_path()
    settings, settings_error = load_dashboard_settings(config_path)
    db_path = store_path(args.db, settings)
    shared, problem = None, None
    try:
        if db_path.exists() and schema_version(db_path) != (0, 0):
            shared = _shared_store(str(db_path), db_path.stat().st_ino)
    except StoreBusy as error:
        problem = f"{error}. Retrying every {BUSY_RETRY_S:g} s."
        st.warning(problem)
        _rerun_later()
    except StoreError as error:
        problem = f"This store cannot be read: {error}"
        st.error(problem)
    context = DashboardContext(db_path=db_path, config_path=config_path, settings=settings,
                               settings_error=settings_error, tz=local_timezone(),
                               shared=shared, store_problem=problem)
    st.session_state[CONTEXT_KEY] = context
    return context


@st.fragment(run_every=BUSY_RETRY_S)
def _rerun_later() -> None:
    """While the store stays locked: run the whole page again every few seconds (the
    first call comes with the page itself, the next from the timer)."""
    if st.session_state.get("_busy_seen"):
        st.session_state["_busy_seen"] = False
        st.rerun(scope="app")
    st.session_state["_busy_seen"] = True


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
        source = pick_source(context.shared, context.settings.tracker.participant)
        if source is not None:
            return source
    empty_state(context)
    return None


def empty_state(context: DashboardContext) -> None:
    st.info(f"No data yet in `{context.db_path}`.")
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
    if not Path(path).exists():
        return
    try:
        version, _ = schema_version(Path(path))
        if version == 0:
            return
        store = _shared_store(path, Path(path).stat().st_ino)
        if store.read(lambda s: s.connection.execute(
                "SELECT 1 FROM windows LIMIT 1").fetchone()) is not None:
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
