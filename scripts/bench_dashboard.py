"""Time each dashboard page on 90 days of one person's data.

Fills a store with the real office day (real thigh recordings through the real
pipeline, see dashboard/sample_days.py) replayed on every day, each with its own start
time and some with a gap, renders every page with Streamlit's AppTest and prints the
seconds per page: first with empty caches, then again (target: 1.5 s each).

    .venv/bin/python scripts/bench_dashboard.py [--days 90] [--db PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.sample_days import StoredDay, fill_store  # noqa: E402
from tracker.timezones import local_timezone  # noqa: E402

APP = ROOT / "dashboard" / "app.py"
PAGES = ("pages_today.py", "pages_history.py", "pages_suggestions.py", "pages_export.py",
         "pages_settings.py")
TARGET_S = 1.5


def stored_days(count: int, seed: int = 1) -> list[StoredDay]:
    """`count` days up to today: start between 08:00 and 09:45, a gap on one day in five."""
    rng = np.random.default_rng(seed)
    today = date.today()
    days = []
    for back in range(count - 1, -1, -1):
        cut = None
        if rng.random() < 0.2:
            first = float(rng.uniform(30, 400))
            cut = (first, first + float(rng.uniform(10, 60)))
        days.append(StoredDay(today - timedelta(days=back), float(rng.uniform(8.0, 9.75)),
                              cut_minutes=cut, with_raw=back == 0))
    return days


def time_pages() -> list[tuple[str, float, float]]:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(APP), default_timeout=120)
    timings: dict[str, list[float]] = {page: [] for page in PAGES}
    for round_ in range(2):
        for page in PAGES:
            if round_ or page != PAGES[0]:  # the first run opens the default page, Today
                app.switch_page(page)
            started = time.perf_counter()
            app.run()
            timings[page].append(time.perf_counter() - started)
            if app.exception:
                raise SystemExit(f"{page}: {app.exception[0].message}")
    # History over all 90 days, not only the default 4 weeks.
    timings["pages_history.py (All)"] = []
    app.switch_page("pages_history.py").run()
    for _ in range(2):
        app.button_group(key="history_period").set_value("All")
        started = time.perf_counter()
        app.run()
        timings["pages_history.py (All)"].append(time.perf_counter() - started)
    return [(page, cold, warm) for page, (cold, warm) in timings.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--db", type=Path, help="store to fill (default: a temporary one)")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    db = args.db or Path(folder.name) / "bench.sqlite"
    if db.exists():
        raise SystemExit(f"{db} exists; give a new path")
    started = time.perf_counter()
    fill_store(db, stored_days(args.days), local_timezone()).close()
    print(f"filled {args.days} days into {db} in {time.perf_counter() - started:.1f} s "
          f"({db.stat().st_size / 1e6:.0f} MB)")
    os.environ["SITTING_TRACKER_DB"] = str(db)
    os.environ["SITTING_TRACKER_CONFIG"] = str(Path(folder.name) / "config.toml")
    print(f"{'page':<26}{'first (s)':>10}{'again (s)':>10}")
    slow = 0
    for page, cold, warm in time_pages():
        slow += max(cold, warm) > TARGET_S
        print(f"{page:<26}{cold:>10.2f}{warm:>10.2f}")
    print(f"target {TARGET_S} s per page: {'met' if not slow else f'{slow} page(s) slower'}")
    folder.cleanup()
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
