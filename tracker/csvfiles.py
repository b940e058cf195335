"""Writing CSV files people open in R, SPSS, pandas or a spreadsheet.

Every file has a header row; every time has an ISO 8601 column with its UTC offset
next to a numeric seconds column; no text cell starts with a character a spreadsheet
would run as a formula; a file appears whole or not at all (written to a temporary
file beside it, then renamed).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import tzinfo
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

# OWASP's list for CSV injection: these open a formula in Excel, LibreOffice, Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def iso_times(seconds: pd.Series | np.ndarray, tz: tzinfo) -> pd.Series:
    """ISO 8601 local times with millisecond precision and a `+hh:mm` offset."""
    stamps = pd.to_datetime(pd.Series(np.asarray(seconds, dtype=np.float64)), unit="s",
                            utc=True).dt.tz_convert(tz)
    text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z")
    # strftime gives microseconds and +hhmm; ISO 8601 extended form wants +hh:mm.
    return text.str[:23] + text.str[26:29] + ":" + text.str[29:]


def defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would read as a formula with a quote."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(
                values.dtype):
            continue
        text = values.astype("string")
        risky = text.str.startswith(FORMULA_STARTS).fillna(False).astype(bool)
        if risky.any():
            out[column] = text.where(~risky, "'" + text)
    return out


def with_iso_columns(frame: pd.DataFrame, tz: tzinfo,
                     seconds_columns: Iterable[str]) -> pd.DataFrame:
    """For each `<name>_s` column, add an ISO `<name>` column just before it."""
    out = frame.copy()
    for column in seconds_columns:
        name = column.removesuffix("_s")
        position = list(out.columns).index(column)
        out.insert(position, name, iso_times(out[column], tz))
    return out


@contextmanager
def atomic_text_file(path: str | Path) -> Iterator[TextIO]:
    """Open a temporary file beside `path`; it replaces `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_csv(frames: Iterable[pd.DataFrame], path: str | Path, columns: list[str]) -> int:
    """Write frames with these columns as one CSV with a header; returns the row count.

    The header is written even when there are no rows, so scripts reading the file
    always find the columns they expect.
    """
    rows = 0
    with atomic_text_file(path) as stream:
        stream.write(",".join(columns) + "\n")
        for frame in frames:
            defuse_formulas(frame.reindex(columns=columns)).to_csv(
                stream, index=False, header=False, lineterminator="\n")
            rows += len(frame)
    return rows
