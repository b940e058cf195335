"""The Streamlit dashboard: `streamlit run dashboard/app.py -- --db PATH`.

It only reads the store (and writes snooze/meeting events and the settings file the
collector reads); it never talks to a band.
"""
