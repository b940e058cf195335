"""Writing CSV files people open in R, SPSS, pandas or a spreadsheet.

Every file has a header row; every time has an ISO 8601 column with its UTC offset
next to a numeric seconds column; numbers carry the digits they mean and no binary
float noise; no text cell starts with a character a spreadsheet would run as a formula;
a file appears whole or not at all (written to a temporary file beside it, then
renamed), and a file that cannot be written (a full disk, no permission) is one line
naming it, an OutputError.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import tzinfo
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np
import pandas as pd

from tracker.cli_errors import UsageError

# OWASP's list for CSV injection: these open a formula in Excel, LibreOffice, Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Digits written after the decimal point, by column, so a number reads as what it means
# and not as a binary float: a difference of two Unix times (1.940000057220459 s), a sum
# of minutes (4.333333333333333). Times keep the microseconds the store keeps (raw samples
# of a 52 Hz band need them); durations the millisecond; probabilities the 4 digits the
# classifier gives. Columns not named here (counts, raw x,y,z) are written as they are.
TIME_COLUMNS = frozenset({"start", "end", "start_s", "end_s", "time_s", "day_start_s"})
TIME_DECIMALS = 6
DURATION_DECIMALS = 3  # *_s durations and *_min minutes: to the millisecond and below
PROBABILITY_DECIMALS = 4  # confidence, p_<posture>
RATE_DECIMALS = 3  # breaks_per_sedentary_hour


# Output names whose suffix promises another format than the CSV written.
NOT_CSV_SUFFIXES = frozenset({".parquet", ".pq", ".xlsx", ".xls", ".json", ".feather"})


class OutputError(UsageError):
    """An output file that cannot be written, told as `file: problem`."""


def decimals_of(column: str) -> int | None:
    """How many decimals a numeric column is written with (None: as it is)."""
    if column in TIME_COLUMNS:
        return TIME_DECIMALS
    if column.endswith(("_s", "_min")):
        return DURATION_DECIMALS
    if column == "confidence" or column.startswith("p_"):
        return PROBABILITY_DECIMALS
    if column.endswith("_per_sedentary_hour"):
        return RATE_DECIMALS
    return None


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its float columns rounded as `decimals_of` says (a copy)."""
    digits = {column: n for column in frame.columns
              if pd.api.types.is_float_dtype(frame[column].dtype)
              and (n := decimals_of(str(column))) is not None}
    # float64 first: a float32 rounded in float32 still prints as 0.97710001.
    return frame.astype(dict.fromkeys(digits, "float64")).round(digits) if digits else frame


def csv_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """What every writer puts in a CSV: numbers rounded, formulas defused."""
    return defuse_formulas(rounded(frame))


def iso_times(seconds: pd.Series | np.ndarray, tz: tzinfo) -> pd.Series:
    """ISO 8601 local times with millisecond precision and a `+hh:mm` offset (NaN where
    ``seconds`` is NaN).

    Built from numpy's date formatting and one offset string per distinct offset rather
    than strftime, which took most of the time of a raw-sample export (about 8 µs a row).
    """
    # Rounded to the millisecond first (not cut off), so 1714545000.02 reads .020 as the
    # seconds column says, although its binary value is a hair below.
    milliseconds = np.round(np.asarray(seconds, dtype=np.float64) * 1000.0)
    utc = pd.to_datetime(pd.Series(milliseconds), unit="ms", utc=True)
    wall = utc.dt.tz_convert(tz).dt.tz_localize(None).to_numpy()
    known = ~np.isnat(wall)
    text = np.full(len(wall), np.nan, dtype=object)
    if known.any():
        offset_min = (wall[known] - utc.dt.tz_localize(None).to_numpy()[known]) \
            // np.timedelta64(1, "m")
        offsets, which = np.unique(offset_min, return_inverse=True)
        suffixes = np.array([_offset_text(int(m)) for m in offsets])
        local = np.datetime_as_string(wall[known].astype("datetime64[ms]"), unit="ms")
        text[known] = np.char.add(local, suffixes[which]).astype(object)
    return pd.Series(text)


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


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
        # by position: the frame may be a slice whose index does not start at 0
        out.insert(position, name, iso_times(out[column], tz).to_numpy())
    return out


def check_output(path: str | Path, **kept: str | Path | None) -> None:
    """Refuse an output path that is a folder or one of the files ``kept`` (named by
    what they are: ``store=``, ``input=``): writing there would replace that file."""
    path = Path(path)
    try:
        if path.is_dir():
            raise UsageError(f"{path}: is a folder; give a file name for the output")
        for what, other in kept.items():
            if other is None:
                continue
            same = path.resolve() == Path(other).resolve() or (
                path.exists() and Path(other).exists() and os.path.samefile(path, other))
            if same:
                raise UsageError(f"{path}: is the {what} itself; writing the output there "
                                 f"would replace it")
    except OSError as error:
        raise cannot_write(path, error) from None


def check_csv_name(path: str | Path) -> None:
    """Refuse a CSV output named for another format: every reader would take the CSV
    text under a .parquet or .xlsx name for that format and fail on it."""
    if Path(path).suffix.lower() in NOT_CSV_SUFFIXES:
        raise UsageError(f"{path}: the output is CSV; give it a .csv name")


def cannot_write(path: Path, error: OSError) -> OutputError:
    """The one line for an output that cannot be written: the system's own words (a
    read-only file system, a quota, permission denied), a full disk in plain ones."""
    if error.errno == errno.ENOSPC:  # found part-way: "cannot write here" would mislead
        return OutputError(f"{path}: no space left on the device")
    return OutputError(f"{path}: cannot write here ({error.strerror or error})")


class _OutputText(io.TextIOWrapper):
    """A UTF-8 text file whose write errors are OutputErrors naming ``output`` (the file
    asked for, not the temporary one): a full disk is one line, not a traceback."""

    def __init__(self, raw: BinaryIO, output: Path) -> None:
        super().__init__(raw, encoding="utf-8", newline="")
        self.output = output

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except OSError as error:
            raise cannot_write(self.output, error) from None

    def flush(self) -> None:
        try:
            super().flush()
        except OSError as error:
            raise cannot_write(self.output, error) from None

    def close(self) -> None:
        try:
            super().close()  # writes what is still buffered: a full disk often shows here
        except OSError as error:
            raise cannot_write(self.output, error) from None

    def discard(self) -> None:
        """Close after a failure, which must not be hidden by a second one."""
        with contextlib.suppress(OSError, OutputError):
            self.close()


@contextmanager
def atomic_text_file(path: str | Path) -> Iterator[TextIO]:
    """Open a temporary file beside `path`; it replaces `path` only if the block succeeds.

    A path that cannot be written (no permission, a file where a folder should be, a
    name too long) is an OutputError naming it, found before any work is done; so is a
    write that fails on the way (a full disk), after which the temporary file is gone."""
    path = Path(path)
    check_output(path)
    if path.exists() and not path.is_file():  # /dev/stdout, a named pipe: write through
        try:
            stream = _OutputText(open(path, "wb"), path)  # noqa: SIM115 (closed below)
        except OSError as error:
            raise cannot_write(path, error) from None
        try:
            yield stream
            stream.close()
        except BaseException:
            stream.discard()
            raise
        return
    if path.is_symlink():
        path = path.resolve()  # replace the file the link points to, keep the link
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                                             dir=path.parent)
    except OSError as error:
        raise cannot_write(path, error) from None
    try:
        # mkstemp makes the file private; give it the mode a plain open would have.
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else _new_file_mode())
        stream = _OutputText(os.fdopen(handle, "wb"), path)
    except OSError as error:
        os.close(handle)
        Path(temporary).unlink(missing_ok=True)
        raise cannot_write(path, error) from None
    try:
        yield stream
        stream.close()
        try:
            os.replace(temporary, path)
        except OSError as error:
            raise cannot_write(path, error) from None
    except BaseException:
        stream.discard()
        Path(temporary).unlink(missing_ok=True)
        raise


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_csv(frames: Iterable[pd.DataFrame], path: str | Path, columns: list[str]) -> int:
    """Write frames with these columns as one CSV with a header; returns the row count.

    The header is written even when there are no rows, so scripts reading the file
    always find the columns they expect.
    """
    rows = 0
    with atomic_text_file(path) as stream:
        stream.write(",".join(columns) + "\n")
        for frame in frames:
            csv_cells(frame.reindex(columns=columns)).to_csv(
                stream, index=False, header=False, lineterminator="\n")
            rows += len(frame)
    return rows
