"""Reading accelerometer recordings (CSV or Parquet with columns t,x,y,z) in chunks.

Recordings can be a month long, so they are read and checked chunk by chunk: memory
stays bounded whatever the file size. Every problem is reported as an `InputError`
naming the file, the line (CSV) or row (Parquet) and what is wrong, so the command line
can print one line and exit 2 instead of a traceback.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

COLUMNS = ("t", "x", "y", "z")
STANDARD_GRAVITY = 9.80665  # m/s² per g
UNIT_SCALE = {"g": 1.0, "mg": 1e-3, "m/s2": 1.0 / STANDARD_GRAVITY}
MIN_RATE_HZ, MAX_RATE_HZ = 10.0, 200.0
FLOAT32_MAX = float(np.finfo(np.float32).max)
UNIX_SECONDS_HINT = "t is seconds: give date-times as Unix seconds (seconds since 1970-01-01 UTC)"
DEFAULT_CHUNK_ROWS = 500_000
# A gap in t longer than this splits the recording: no window may span it.
MAX_GAP_S = 2.0
# A rate given with --rate re-times the samples evenly; one further than this from the
# rate t shows would stretch or squeeze the recording in time (a 7-minute file read as
# 34 minutes), so it is refused rather than taken as clock jitter.
RATE_TOLERANCE = 0.2
# Gap-free seconds of t the comparison waits for: enough to average out a jittery clock,
# or one that times samples per Bluetooth packet.
RATE_CHECK_S = 30.0
# Compressed CSV, by the file's last suffix (studies often keep recordings as .csv.gz).
DECOMPRESSORS: dict[str, Callable[[IO[bytes]], Any]] = {
    ".gz": gzip.open,
    ".bz2": bz2.open,
    ".xz": lzma.open,
}
# What a recording's file name ends with.  classify also reads .txt as CSV, but batch does
# not take it for a recording: a README.txt in a study folder is not one.
RECORDING_SUFFIXES = (".csv", *(f".csv{ext}" for ext in DECOMPRESSORS), ".parquet", ".pq")
# What a damaged compressed file raises while it is read.
_DECOMPRESSION_ERRORS = (OSError, EOFError, lzma.LZMAError)


class InputError(Exception):
    """A problem with an input file, told as `file: line N: problem`."""

    def __init__(
        self, path: Path | str, problem: str, line: int | None = None, line_word: str = "line"
    ) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}: {line_word} {line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class RecordingChunk:
    """Consecutive samples of a recording: time in seconds, acceleration in g."""

    t: np.ndarray  # (n,) float64, strictly increasing
    xyz: np.ndarray  # (n, 3) float32


@dataclass
class RecordingInfo:
    """What was learned while reading; complete once the reader is exhausted."""

    path: Path
    n_samples: int = 0
    rate_hz: float | None = None
    t_first: float | None = None
    t_last: float | None = None
    gaps: int = 0
    bytes_total: int = 0
    bytes_read: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Known before reading starts (the reader is lazy), so a progress bar has a total.
        if self.path.is_file():
            self.bytes_total = self.path.stat().st_size


def detect_format(path: Path) -> str:
    """'csv' or 'parquet', by suffix, else by content; InputError for anything else."""
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith((".parquet", ".pq")):
        return "parquet"
    if suffixes.endswith((*RECORDING_SUFFIXES, ".txt")):
        return "csv"
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"PAR1"):
        return "parquet"
    if b"\0" in head:
        raise InputError(path, "not a CSV or Parquet file")
    return "csv"


def recording_suffix(name: str) -> str | None:
    """The recording suffix ``name`` ends with ("p03.csv.gz" -> ".csv.gz"), or None."""
    lower = name.lower()
    return next((s for s in RECORDING_SUFFIXES if lower.endswith(s) and len(s) < len(name)),
                None)


def bare_name(name: str) -> str:
    """A recording's file name without its suffix: "p03.csv.gz" -> "p03"."""
    suffix = recording_suffix(name)
    return name[: -len(suffix)] if suffix else Path(name).stem


def read_recording(
    path: str | Path,
    *,
    units: str = "g",
    rate_hz: float | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    info: RecordingInfo | None = None,
) -> Iterator[RecordingChunk]:
    """Yield checked chunks of the recording at `path`.

    `units` is the unit of x,y,z in the file ('g', 'mg' or 'm/s2'); the chunks are in g.
    With `rate_hz`, samples inside each gap-free stretch are taken as evenly spaced at
    that rate (for devices with coarse or jittery clocks); gaps stay where `t` puts them.
    Pass a `RecordingInfo` to learn the sample count, rate and time span as it reads.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a folder, not a recording file")
    if units not in UNIT_SCALE:
        raise InputError(path, f"unknown units {units!r}; use one of {', '.join(UNIT_SCALE)}")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty")
    info = info if info is not None else RecordingInfo(path)
    checker = _ChunkChecker(path, UNIT_SCALE[units], rate_hz, info)
    fmt = detect_format(path)
    tables = (
        _csv_tables(path, chunk_rows, info)
        if fmt == "csv"
        else _parquet_tables(path, chunk_rows, info)
    )
    for first_line, line_word, table in tables:
        chunk = checker.check(table, first_line, line_word)
        if len(chunk.t):
            yield chunk
    if info.n_samples == 0:
        raise InputError(path, "no samples: the file has a header but no data rows")
    checker.finish()


def _check_header(path: Path, names: list[str], line_word: str) -> None:
    """Refuse a header without t,x,y,z, or with one of them twice: upper or lower case
    is the same column, and which of two an x was meant to be cannot be guessed."""
    columns = [name.lower() for name in names]
    for column in COLUMNS:
        given = [name for name in names if name.lower() == column]
        if len(given) > 1:
            times = "twice" if len(given) == 2 else f"{len(given)} times"
            raise InputError(path, f"column {column} appears {times} ({', '.join(given)}); "
                             "keep one", line=1 if line_word == "line" else None)
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        hint = _header_hint(names) if line_word == "line" else ""
        raise InputError(
            path,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"expected a header t,x,y,z (found {_shown(','.join(columns)) or 'nothing'})"
            f"{hint}",
            line=1 if line_word == "line" else None,
        )


def _header_hint(names: list[str]) -> str:
    """What a CSV's first line is instead of a header: data (many devices write none), or
    a header with another separator (a spreadsheet set to a European locale)."""
    if all(_is_number(name) for name in names):
        return "; the first line holds numbers, not a header: add the line t,x,y,z before it"
    for separator, called in ((";", "';'"), ("\t", "tabs")):
        if len(names) == 1 and {c.strip().lower() for c in names[0].split(separator)} \
                >= set(COLUMNS):
            return (f"; the columns are separated by {called}, not commas: save the file "
                    "as comma-separated CSV")
    return ""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_tables(
    path: Path, chunk_rows: int, info: RecordingInfo
) -> Iterator[tuple[int, str, pd.DataFrame]]:
    decompress = DECOMPRESSORS.get(path.suffix.lower())
    try:
        with path.open("rb") as raw, (decompress(raw) if decompress else raw) as text:
            # utf-8-sig: spreadsheets' "CSV UTF-8" starts with an invisible byte-order mark
            header = text.readline().decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        raise InputError(path, "not a CSV or Parquet file (not UTF-8 text)", line=1) from None
    except _DECOMPRESSION_ERRORS as error:
        raise InputError(path, f"cannot be decompressed as {path.suffix.lower()} "
                               f"({_first_line(error)})") from None
    _check_header(path, [c.strip().strip('"').strip() for c in header.strip().split(",")],
                  "line")
    try:
        # The compressed stream is unpacked as pandas reads it; progress follows the bytes
        # taken from the file itself.
        with path.open("rb") as raw, (decompress(raw) if decompress else raw) as text:
            reader = pd.read_csv(
                text,
                chunksize=chunk_rows,
                skip_blank_lines=False,
                skipinitialspace=True,
                encoding="utf-8-sig",
                usecols=lambda name: name.strip().lower() in COLUMNS,
                low_memory=False,
            )
            with reader:
                line = 2  # header is line 1
                for frame in reader:
                    frame.columns = [c.strip().lower() for c in frame.columns]
                    yield line, "line", frame
                    line += len(frame)
                    info.bytes_read = min(info.bytes_total, raw.tell())
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(path, f"not a well-formed CSV file ({_first_line(error)})") from None
    except _DECOMPRESSION_ERRORS as error:
        raise InputError(path, f"damaged {path.suffix.lower()} file "
                               f"({_first_line(error)})") from None


def _parquet_tables(
    path: Path, chunk_rows: int, info: RecordingInfo
) -> Iterator[tuple[int, str, pd.DataFrame]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # Without pre-buffering pyarrow reads one batch at a time: a week of samples
        # otherwise costs about a gigabyte of read-ahead buffers.
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(path, f"not a CSV or Parquet file ({_first_line(error)})") from None
    _check_header(path, [name.strip() for name in parquet.schema_arrow.names], "row")
    names = {name.strip().lower(): name for name in parquet.schema_arrow.names}
    total_rows = max(1, parquet.metadata.num_rows)
    row = 1
    for batch in parquet.iter_batches(batch_size=chunk_rows, columns=[names[c] for c in COLUMNS]):
        frame = batch.to_pandas()
        frame.columns = list(COLUMNS)
        yield row, "row", frame
        row += len(frame)
        info.bytes_read = int(info.bytes_total * min(1.0, (row - 1) / total_rows))


def _shown(text: str, limit: int = 60) -> str:
    """Text from the file as one short, printable piece of an error line."""
    printable = "".join(c if c.isprintable() else "?" for c in text)
    return printable if len(printable) <= limit else printable[:limit] + "..."


def _time_unit_hint(median_step: float) -> str:
    """Which unit a typical step of t suggests, at the supported 10-200 Hz."""
    for unit, factor, divisor in (("milliseconds", 1e3, "1000"),
                                  ("microseconds", 1e6, "10^6"), ("nanoseconds", 1e9, "10^9")):
        if factor / MAX_RATE_HZ / 2 <= median_step <= factor / MIN_RATE_HZ * 2:
            return f"; if it is in {unit}, divide it by {divisor}"
    return ""


def _is_date_time(value: str) -> bool:
    try:
        pd.Timestamp(value.strip())
    except (ValueError, TypeError):
        return False
    return True


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class _ChunkChecker:
    """Checks chunks one after another, carrying what spans chunk boundaries."""

    def __init__(
        self, path: Path, scale: float, rate_hz: float | None, info: RecordingInfo
    ) -> None:
        self.path = path
        self.scale = scale
        self.rate_hz = rate_hz
        self.info = info
        self.previous_t: float | None = None
        self.units_checked = False
        # For --rate: the time and index the current evenly spaced stretch started at.
        self.stretch_t0 = 0.0
        self.stretch_i0 = 0
        self.last_raw_t: float | None = None
        # For --rate: gap-free steps of t seen so far, to compare the two rates.
        self.raw_steps = 0
        self.raw_span_s = 0.0
        self.rate_compared = False

    def check(self, table: pd.DataFrame, first_line: int, line_word: str) -> RecordingChunk:
        if table.empty:
            return RecordingChunk(t=np.empty(0), xyz=np.empty((0, 3), dtype=np.float32))
        values = np.empty((len(table), 4), dtype=np.float64)
        for j, column in enumerate(COLUMNS):
            values[:, j] = self._numeric(table[column], column, first_line, line_word)
        lines = first_line + np.arange(len(values))
        if line_word == "line":  # blank lines (editors, joined files) carry no sample
            written = ~np.isnan(values).all(axis=1)
            values, lines = values[written], lines[written]
        # Beyond float32's range a value would turn into inf when stored: as bad as inf.
        bad = ~np.isfinite(values)
        bad[:, 1:] |= np.abs(values[:, 1:]) * self.scale > FLOAT32_MAX
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(
                self.path,
                f"missing, NaN or infinite value in column {COLUMNS[j]}",
                int(lines[i]),
                line_word,
            )
        t = values[:, 0]
        self._check_time(t, lines, line_word)
        xyz = (values[:, 1:] * self.scale).astype(np.float32)
        if not self.units_checked:
            self._check_units(xyz, first_line, line_word)
        if self.rate_hz is not None:
            self._compare_rate(t)
            t = self._evenly_spaced(t)
        self._note(t)
        return RecordingChunk(t=t, xyz=xyz)

    def _numeric(self, column: pd.Series, name: str, first_line: int, line_word: str) -> np.ndarray:
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            raise InputError(self.path, f"column {name} holds date-times; {UNIX_SECONDS_HINT}",
                             first_line, line_word)
        if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
            column.dtype
        ):
            return column.to_numpy(dtype=np.float64, na_value=np.nan)
        as_numbers = pd.to_numeric(column, errors="coerce")
        not_numbers = as_numbers.isna() & column.notna() & (column.astype(str).str.strip() != "")
        if not_numbers.any():
            i = int(np.flatnonzero(not_numbers.to_numpy())[0])
            value = str(column.iloc[i])
            hint = ""
            if name == "t" and _is_date_time(value):
                hint = f"; {UNIX_SECONDS_HINT}"
            raise InputError(
                self.path,
                f"column {name} has a non-numeric value {value[:40]!r}{hint}",
                first_line + i,
                line_word,
            )
        return as_numbers.to_numpy(dtype=np.float64, na_value=np.nan)

    def _check_time(self, t: np.ndarray, lines: np.ndarray, line_word: str) -> None:
        previous = (
            np.concatenate(([self.previous_t], t[:-1]))
            if self.previous_t is not None
            else np.concatenate(([-np.inf], t[:-1]))
        )
        step = t - previous
        # With --rate, t only places the gaps: a coarse clock gives samples the same time.
        bad = np.flatnonzero(step < 0 if self.rate_hz is not None else step <= 0)
        if bad.size:
            i = int(bad[0])
            what = "repeats the previous timestamp" if step[i] == 0 else "goes back in time"
            hint = " (a clock too coarse for the sample rate: pass --rate)" \
                if step[i] == 0 else ""
            raise InputError(
                self.path,
                f"t={float(t[i])!r} {what} (t={float(previous[i])!r}); time must increase "
                f"from row to row{hint}",
                int(lines[i]),
                line_word,
            )
        self.previous_t = float(t[-1]) if len(t) else self.previous_t

    def _check_units(self, xyz: np.ndarray, first_line: int, line_word: str) -> None:
        magnitude = float(np.median(np.linalg.norm(xyz, axis=1)))
        self.units_checked = True
        self.info.extra["median_magnitude_g"] = magnitude
        if 6.0 < magnitude < 14.0:
            raise InputError(
                self.path,
                f"acceleration looks like m/s², not g (median magnitude "
                f"{magnitude:.2f}; at rest it should be about 1 g): convert to g or "
                "pass --units m/s2",
                first_line,
                line_word,
            )
        if 300.0 < magnitude < 3000.0:
            raise InputError(
                self.path,
                f"acceleration looks like milli-g (median magnitude "
                f"{magnitude:.0f}): convert to g or pass --units mg",
                first_line,
                line_word,
            )
        if not 0.3 < magnitude < 3.0:
            raise InputError(
                self.path,
                f"acceleration median magnitude is {magnitude:.3g} g; "
                "expected about 1 g with gravity included (x,y,z in g)",
                first_line,
                line_word,
            )

    def _compare_rate(self, t: np.ndarray) -> None:
        """Count the gap-free steps of the raw t until there are enough to compare --rate
        with (then compare it)."""
        if self.rate_compared:
            return
        steps = np.diff(t, prepend=self.last_raw_t) if self.last_raw_t is not None \
            else np.diff(t)
        steps = steps[steps <= MAX_GAP_S]
        self.raw_steps += steps.size
        self.raw_span_s += float(steps.sum())
        if self.raw_span_s >= RATE_CHECK_S:
            self._check_given_rate()

    def _check_given_rate(self) -> None:
        """Refuse a --rate far from the rate t shows: samples per second between gaps (not
        the median step, which a clock timing samples per packet puts far off)."""
        assert self.rate_hz is not None
        self.rate_compared = True
        if self.raw_steps == 0:
            return  # no two samples without a gap between them: nothing to compare
        if self.raw_span_s == 0:
            raise InputError(self.path, "t does not advance between gaps; --rate needs t "
                             "to show the rate")
        shown = self.raw_steps / self.raw_span_s
        if abs(self.rate_hz - shown) > RATE_TOLERANCE * shown:
            raise InputError(
                self.path,
                f"--rate {self.rate_hz:g} Hz does not match t, which has {shown:.3g} samples "
                "a second: --rate is the rate the samples were taken at (to even out a "
                f"jittery clock) and must be within {RATE_TOLERANCE:.0%} of what t shows; "
                "leave it out to use t as it is",
            )

    def _evenly_spaced(self, t: np.ndarray) -> np.ndarray:
        """Re-time samples as evenly spaced at --rate, restarting after every gap."""
        assert self.rate_hz is not None
        n0 = self.info.n_samples
        raw_previous = (
            np.concatenate(([self.last_raw_t], t[:-1]))
            if self.last_raw_t is not None
            else np.concatenate(([-np.inf], t[:-1]))
        )
        stretch_starts = np.flatnonzero(t - raw_previous > MAX_GAP_S)
        out = np.empty_like(t)
        bounds = [*stretch_starts.tolist(), len(t)]
        if not stretch_starts.size or stretch_starts[0] != 0:
            bounds = [0, *bounds]  # the first stretch continues from the previous chunk
        for a, b in pairwise(bounds):
            if a in stretch_starts:
                self.stretch_t0, self.stretch_i0 = float(t[a]), n0 + a
            index = np.arange(n0 + a, n0 + b)
            out[a:b] = self.stretch_t0 + (index - self.stretch_i0) / self.rate_hz
        self.last_raw_t = float(t[-1])
        return out

    def _note(self, t: np.ndarray) -> None:
        info = self.info
        if info.t_first is None and len(t):
            info.t_first = float(t[0])
        diffs = np.diff(t)
        info.gaps += int(np.count_nonzero(diffs > MAX_GAP_S))
        if info.t_last is not None and len(t) and t[0] - info.t_last > MAX_GAP_S:
            info.gaps += 1
        if len(t):
            info.t_last = float(t[-1])
        info.n_samples += len(t)
        if info.rate_hz is None:
            regular = diffs[diffs <= MAX_GAP_S]
            if diffs.size >= 10 and regular.size < diffs.size // 2:
                # Most steps longer than a gap: t is not in seconds.  Say so now; each
                # step would otherwise be a gap, slowly, until the end of the file.
                step = float(np.median(diffs))
                raise InputError(self.path, f"most steps in t are longer than {MAX_GAP_S:g} s "
                                 f"(median {step:.3g}); t must be seconds"
                                 f"{_time_unit_hint(step)}")
            if regular.size >= 10:
                info.rate_hz = self.rate_hz or float(1.0 / np.median(regular))
                self._check_rate(regular.size / float(regular.sum()) if regular.sum() > 0
                                 else None)

    def finish(self) -> None:
        """Checks that need the whole file: the sample rate."""
        info = self.info
        if self.rate_hz is not None and not self.rate_compared:
            self._check_given_rate()  # a recording shorter than RATE_CHECK_S
        if info.rate_hz is None:
            if (
                info.n_samples < 2
                or info.t_first is None
                or info.t_last is None
                or info.t_last == info.t_first
            ):
                raise InputError(
                    self.path, f"only {info.n_samples} sample(s): too short to classify"
                )
            info.rate_hz = self.rate_hz or (info.n_samples - 1) / (info.t_last - info.t_first)
            self._check_rate()

    def _check_rate(self, samples_per_s: float | None = None) -> None:
        """Refuse a rate (from the median step) outside the supported range.
        ``samples_per_s`` (between gaps) tells a clock that times samples per Bluetooth
        packet, whose median step is tiny, from t in another unit: --rate reads it."""
        rate = self.info.rate_hz
        assert rate is not None
        if self.rate_hz is None and not MIN_RATE_HZ * 0.9 <= rate <= MAX_RATE_HZ * 1.1:
            hint = " (is t in seconds?)"
            if samples_per_s is not None and MIN_RATE_HZ <= samples_per_s <= MAX_RATE_HZ \
                    and rate > MAX_RATE_HZ:
                hint = (f"; t has about {round(samples_per_s)} samples a second but most "
                        "steps are much shorter: if the device times samples per packet, "
                        f"pass the rate it samples at with --rate (about {round(samples_per_s)})")
            raise InputError(
                self.path,
                f"sample rate inferred from t is {rate:.3g} Hz; "
                f"supported rates are {MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz{hint}",
            )
