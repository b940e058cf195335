"""The sitting tracker's dashboard: `streamlit run dashboard/app.py -- --db PATH`.

Without --db it shows $SITTING_TRACKER_DB, else the config's tracker.db, else the
default store. `sitting-tracker dashboard` starts it bound to 127.0.0.1.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on the path, not the checkout root
# that holds the `dashboard` package itself.
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

from dashboard.shell import build_context, run_page  # noqa: E402

# Wide, so the day's timeline gets the laptop's whole width; Streamlit stacks the
# columns on a phone.
st.set_page_config(page_title="Sitting tracker", page_icon=":material/chair:", layout="wide")
build_context()
PAGES = [
    st.Page("pages_today.py", title="Today", icon=":material/chair:", default=True),
    st.Page("pages_history.py", title="History", icon=":material/bar_chart:",
            url_path="history"),
    st.Page("pages_suggestions.py", title="Suggestions",
            icon=":material/self_improvement:", url_path="suggestions"),
    st.Page("pages_accuracy.py", title="Accuracy", icon=":material/verified:",
            url_path="accuracy"),
    st.Page("pages_export.py", title="Export", icon=":material/download:",
            url_path="export"),
    st.Page("pages_settings.py", title="Settings", icon=":material/settings:",
            url_path="settings"),
]
run_page(st.navigation(PAGES, position="top"))
