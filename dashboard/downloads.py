"""CSV downloads: the files `sitting-tracker export` writes, built by tracker.export."""

from __future__ import annotations

import tempfile
from datetime import date, tzinfo
from pathlib import Path

from tracker.export import export
from tracker.store import Store, StoreLocation


def csv_bytes(db_path: StoreLocation, kind: str, first: date, last: date, tz: tzinfo,
              participant: str | None) -> bytes:
    """The CSV `sitting-tracker export KIND --from FIRST --to LAST` writes (for one
    participant, or everyone with None)."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / f"{kind}.csv"
        with Store.open(db_path, readonly=True) as store:
            export(store, kind, output, tz, first, last, participant)
        return output.read_bytes()
