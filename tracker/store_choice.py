"""Which store a command uses: one order for every command that takes --db.

    1. --db PATH|URL
    2. $SITTING_TRACKER_DB
    3. tracker.db in the settings file
    4. tracker.sqlite in the user data folder

As command-line tools usually rank them: what is typed now, then what this shell says,
then what is kept in the settings file, then the built-in default. The collector, the
dashboard, status and export must agree, or `status` reads another store than the
collector writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tracker.config import Settings
from tracker.store import StoreError, StoreLocation, store_location

DB_ENV = "SITTING_TRACKER_DB"


def user_store_path() -> Path:
    """The store when none is named anywhere: in the user data folder."""
    from platformdirs import user_data_path

    return user_data_path("sitting-tracker", appauthor=False) / "tracker.sqlite"


def db_help(note: str = "") -> str:
    """The help of every --db option: they all say the same order (and `note`)."""
    text = (f"the store: a file or postgresql:// URL (default: ${DB_ENV}, else tracker.db "
            f"in the settings file, else {user_store_path()})")
    if note:
        text = f"{text}; {note}"
    return text.replace("%", "%%")  # argparse formats help with %


def env_store() -> StoreLocation | None:
    """$SITTING_TRACKER_DB, if set (an empty value counts as unset)."""
    text = os.environ.get(DB_ENV)
    if not text:
        return None
    try:
        return store_location(text)
    except StoreError as error:
        raise StoreError(f"${DB_ENV}: {error}") from None


def choose_store(db: StoreLocation | None,
                 settings: Callable[[], Settings]) -> StoreLocation:
    """The store to use: `db` (from --db), else $SITTING_TRACKER_DB, else tracker.db of
    `settings()`, else the user data folder's. The settings are read only when needed,
    so a mistake in them does not stop a command told where the store is."""
    if db is not None:
        return db
    from_env = env_store()
    if from_env is not None:
        return from_env
    configured = settings().tracker.db
    # tracker.db was checked when the settings were read (tracker.config.validate).
    return store_location(configured) if configured else user_store_path()
