"""Labelled windows for each wear location, built from the recordings in ``data/``.

Every recording is cut into gap-free segments and windowed exactly as at run time
(:mod:`tracker.signal`), so features, neighbour context and smoothing see the same kind
of input in training and in use.  Windows whose samples do not all share one posture
label keep an empty label: they are not trained or scored on, but they stay in their
segment so neighbour context and smoothing run over the real sequence.

Label mapping (see ``data/README.md`` for the reasoning):

* HAPT (waist): walking, upstairs, downstairs -> walking; sitting; standing; lying;
  postural transitions and unlabelled stretches -> empty.
* WISDM 2019 (wrist, thigh): walking, stairs, jogging -> walking; sitting; standing.
  At the wrist also the table activities typing, writing, eating_* and drinking ->
  sitting, and brushing_teeth and folding_clothes -> standing (``LOCATION_POSTURE``).
  ``source`` keeps the original name, so scores are reported on the three activities
  whose posture the dataset states.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tracker.cli_errors import UsageError
from tracker.features import window_features
from tracker.signal import Segment, samples_per_window, split_segments

LOCATIONS: tuple[str, ...] = ("waist", "wrist", "thigh")
HAPT_FILE = "hapt_waist.parquet"
WISDM_FILE = "wisdm2019_wrist_thigh.parquet"
HAPT_RATE_HZ = 50.0
# The columns training reads from each file (data/README.md says what they hold).
FILE_COLUMNS = {
    HAPT_FILE: ("subject", "recording", "sample", "acc_x", "acc_y", "acc_z", "label"),
    WISDM_FILE: ("subject", "device", "t", "acc_x", "acc_y", "acc_z", "label"),
}

HAPT_SOURCE = {
    1: "walking",
    2: "upstairs",
    3: "downstairs",
    4: "sitting",
    5: "standing",
    6: "lying",
}
HAPT_POSTURE = {
    "walking": "walking",
    "upstairs": "walking",
    "downstairs": "walking",
    "sitting": "sitting",
    "standing": "standing",
    "lying": "lying",
}
WISDM_POSTURE = {
    "walking": "walking",
    "stairs": "walking",
    "jogging": "walking",
    "sitting": "sitting",
    "typing": "sitting",
    "writing": "sitting",
    "eating_soup": "sitting",
    "eating_chips": "sitting",
    "eating_pasta": "sitting",
    "eating_sandwich": "sitting",
    "drinking": "sitting",
    "standing": "standing",
    "brushing_teeth": "standing",
    "folding_clothes": "standing",
}
# On the thigh the table and hand activities add no posture variety the three main
# activities lack (the hands do not move the thigh), only the risk of a wrong guess, so the
# thigh model trains on the stated postures alone.  At the wrist they add what the plain
# sitting and standing recordings lack: hands busy while seated, and while standing.
LOCATION_POSTURE = {
    "waist": HAPT_POSTURE,
    "wrist": WISDM_POSTURE,
    "thigh": {k: v for k, v in WISDM_POSTURE.items() if k == v or k in ("stairs", "jogging")},
}
# Activities whose posture the dataset states; scores are reported on these.
GENUINE_SOURCES = frozenset({"walking", "upstairs", "downstairs", "sitting", "standing", "lying"})
# Only the activities that are a posture or a way of walking (for comparing what the
# wrist's hand activities add: scripts/evaluate_models.py --stated-postures-only).
STATED_POSTURE = {
    location: {k: v for k, v in mapping.items() if k == v or v == "walking"}
    for location, mapping in LOCATION_POSTURE.items()
}


class TrainingDataError(UsageError):
    """A training file that cannot be read or lacks what training needs, told as
    `file: problem` (a usage error: `train --data` named it)."""


def training_file(location: str) -> str:
    """The file in a data folder that a location's model trains on."""
    return HAPT_FILE if location == "waist" else WISDM_FILE


def check_training_file(path: Path) -> None:
    """TrainingDataError unless ``path`` is a Parquet file with the columns training
    reads from it; quick (the footer only), so it can run before minutes of work."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        present = set(pq.read_schema(path).names)
    except (pa.ArrowException, OSError) as error:
        raise _unreadable(path, error) from None
    missing = [column for column in FILE_COLUMNS[path.name] if column not in present]
    if missing:
        raise TrainingDataError(f"{path}: not a readable training file: it has no "
                                f"{', '.join(missing)} column{'s' if len(missing) > 1 else ''}")


def _read_training_file(path: Path, **options: Any) -> pd.DataFrame:
    import pyarrow as pa

    check_training_file(path)
    try:
        return pd.read_parquet(path, **options)
    except (pa.ArrowException, OSError) as error:  # a whole footer, a damaged page
        raise _unreadable(path, error) from None


def _unreadable(path: Path, error: Exception) -> TrainingDataError:
    if isinstance(error, OSError) and error.errno:  # no permission: not the file's fault
        return TrainingDataError(f"{path}: cannot read it ({os.strerror(error.errno)})")
    return TrainingDataError(f"{path}: not a readable training file (not Parquet, or "
                             "damaged or cut short)")


@dataclass(frozen=True)
class LabelledWindows:
    """Base features of windows in segment order, with labels and grouping."""

    features: np.ndarray  # (n, len(FEATURE_NAMES)) float32
    labels: np.ndarray  # (n,) posture label, "" where the window is not usable
    sources: np.ndarray  # (n,) original activity name, "" where mixed
    subjects: np.ndarray  # (n,) int subject id
    segments: np.ndarray  # (n,) int segment id; a segment's windows are contiguous, in order
    offsets: np.ndarray  # (n,) window-grid offset in samples (0 = the run-time grid)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> LabelledWindows:
        """Rows where ``mask`` holds; keep whole segments to keep context meaningful."""
        return LabelledWindows(
            self.features[mask],
            self.labels[mask],
            self.sources[mask],
            self.subjects[mask],
            self.segments[mask],
            self.offsets[mask],
        )


def _window_labels(labels_on_grid: np.ndarray, length: int) -> np.ndarray:
    """A window's label when all its samples agree, else ""."""
    n = len(labels_on_grid) // length
    grid = labels_on_grid[: n * length].reshape(n, length)
    same = (grid == grid[:, :1]).all(axis=1)
    return np.where(same, grid[:, 0], "")


def _labels_on_grid(t: np.ndarray, labels: np.ndarray, segment: Segment) -> np.ndarray:
    """Label of the latest raw sample at or before each resampled instant."""
    grid = segment.start + np.arange(len(segment.samples)) / segment.rate_hz
    idx = np.searchsorted(t, grid + 1e-9, side="right") - 1
    return labels[idx.clip(0, len(t) - 1)]


def _recordings(
    location: str, data_dir: Path
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(subject, t seconds, xyz g, source label per sample) per continuous recording."""
    acc = ["acc_x", "acc_y", "acc_z"]
    if location == "waist":
        frame = _read_training_file(data_dir / HAPT_FILE)
        for (subject, _), rec in frame.groupby(["subject", "recording"], sort=True):
            source = rec["label"].map(HAPT_SOURCE).fillna("").to_numpy(dtype=object)
            t = rec["sample"].to_numpy(np.float64) / HAPT_RATE_HZ
            yield int(subject), t, rec[acc].to_numpy(np.float32), source
        return
    frame = _read_training_file(data_dir / WISDM_FILE, filters=[("device", "==", location)])
    for subject, rec in frame.groupby("subject", sort=True, observed=True):
        labels = rec["label"].astype(str).to_numpy(dtype=object)
        t = rec["t"].to_numpy(np.float64) / 1e9
        # each activity block is its own recording: cut at every label change
        cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(t)], strict=True):
            yield int(subject), t[a:b], rec[acc].to_numpy(np.float32)[a:b], labels[a:b]


def random_rotation(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    """Rotation (3, 3) float32 about a random axis by a uniform angle in +-max_deg."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.radians(rng.uniform(-max_deg, max_deg))
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation = np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross
    return rotation.astype(np.float32)


def load_location(
    location: str,
    data_dir: Path,
    rate_hz: float,
    window_s: float,
    grid_offsets: tuple[float, ...] = (0.0,),
    tilt_deg: float = 0.0,
    seed: int = 0,
    stated_postures_only: bool = False,
) -> LabelledWindows:
    """Windows of every recording for one location.

    ``grid_offsets`` (fractions of a window) add shifted window grids: more, partly
    overlapping training windows; offset 0 is the grid used at run time.  The shifted
    grids of each segment are also turned by a random rotation of up to ``tilt_deg``
    degrees, standing in for a band worn a little differently; the run-time grid is
    left as recorded, so scores are computed on real orientations only.
    """
    if location not in LOCATIONS:
        raise ValueError(f"unknown location {location!r}; expected one of {LOCATIONS}")
    posture = (STATED_POSTURE if stated_postures_only else LOCATION_POSTURE)[location]
    length = samples_per_window(rate_hz, window_s)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("f", "l", "s", "subj", "seg", "off")}
    segment_id = 0
    rng = np.random.default_rng(seed)
    for subject, t, xyz, source in _recordings(location, Path(data_dir)):
        for segment in split_segments(t, xyz, rate_hz):
            grid_sources = _labels_on_grid(t, source, segment)
            for fraction in grid_offsets:
                shift = round(fraction * length)
                samples = segment.samples[shift:]
                n = len(samples) // length
                if n == 0:
                    continue
                windows = samples[: n * length].reshape(n, length, 3)
                if shift and tilt_deg > 0:
                    windows = windows @ random_rotation(rng, tilt_deg).T
                src = _window_labels(grid_sources[shift:], length)
                parts["f"].append(window_features(windows, rate_hz))
                parts["s"].append(src)
                parts["l"].append(np.array([posture.get(s, "") for s in src], dtype=object))
                parts["subj"].append(np.full(n, subject))
                parts["seg"].append(np.full(n, segment_id))
                parts["off"].append(np.full(n, shift))
                segment_id += 1
    if not parts["f"]:
        raise TrainingDataError(f"{Path(data_dir) / training_file(location)}: no {location} "
                                "recordings long enough for a window")
    return LabelledWindows(
        features=np.concatenate(parts["f"]),
        labels=np.concatenate(parts["l"]).astype(str),
        sources=np.concatenate(parts["s"]).astype(str),
        subjects=np.concatenate(parts["subj"]),
        segments=np.concatenate(parts["seg"]),
        offsets=np.concatenate(parts["off"]),
    )


def with_stitched_sequences(data: LabelledWindows, seed: int = 0,
                            per_sequence: int = 4) -> LabelledWindows:
    """``data`` plus training-only sequences that join one subject's recordings end to end.

    WISDM records each activity on its own, so without this the model never sees a
    posture change inside a segment, and the neighbour-context features at a real change
    (half sitting, half standing) are unlike anything it was trained on: live labels then
    switch 10-25 s before the posture does.  The joined sequences (run-time grid windows
    of ``per_sequence`` recordings in random order) carry offset -1, so they are trained
    on but never scored.
    """
    rng = np.random.default_rng(seed)
    run_grid = data.offsets == 0
    rows: list[np.ndarray] = []
    for subject in np.unique(data.subjects):
        segments = np.unique(data.segments[run_grid & (data.subjects == subject)])
        rng.shuffle(segments)
        for first in range(0, len(segments) - 1, per_sequence):
            group = segments[first:first + per_sequence]
            if len(group) > 1:
                rows.append(np.concatenate(
                    [np.flatnonzero(run_grid & (data.segments == s)) for s in group]))
    return _with_sequences(data, rows)


# Lengths in windows (5 s) of the pieces of a short-walk sequence: sitting 40 s to 3 min,
# walking 10 to 40 s, as a desk worker's day goes.
SHORT_WALK_SITTING_WINDOWS = (8, 36)
SHORT_WALK_WALKING_WINDOWS = (2, 8)
SHORT_WALK_PIECES = 12


def with_short_walks(data: LabelledWindows, seed: int = 0,
                     per_subject: int = 4) -> LabelledWindows:
    """``data`` plus training-only sequences of one subject's sitting interrupted by short
    walks (pieces of its sitting and walking recordings, alternating).

    Recorded one activity at a time, the data has no walk shorter than minutes, and the
    neighbour context taught the model that a few walking windows inside sitting are
    noise: held out, it found 40-53 % of 10-15 s walks between two sitting bouts at the
    thigh and 10-39 % at the wrist (scripts/evaluate_breaks.py --held-out); with these
    sequences 100 % and 97 % (shipped at the wrist: see model.LOCATION_SHORT_WALKS).
    Such walks are breaks (SBRN), the very thing the tracker counts.  Only walking pieces
    are short: short standing pieces taught the model to call a still seated thigh
    standing.
    Offset -1: trained on, never scored.
    """
    rng = np.random.default_rng(seed)
    usable = (data.offsets == 0) & (data.labels != "")
    rows: list[np.ndarray] = []
    for subject in np.unique(data.subjects):
        mine = usable & (data.subjects == subject)
        pools: dict[str, list[np.ndarray]] = {"sitting": [], "walking": []}
        for segment in np.unique(data.segments[mine]):
            idx = np.flatnonzero(mine & (data.segments == segment))
            label = str(data.labels[idx[0]])
            if label in pools and (data.labels[idx] == label).all():
                pools[label].append(idx)
        if not pools["sitting"] or not pools["walking"]:
            continue
        for _ in range(per_subject):
            pieces = []
            for k in range(SHORT_WALK_PIECES):
                label, (low, high) = (("sitting", SHORT_WALK_SITTING_WINDOWS) if k % 2 == 0
                                      else ("walking", SHORT_WALK_WALKING_WINDOWS))
                idx = pools[label][rng.integers(len(pools[label]))]
                length = min(len(idx), int(rng.integers(low, high + 1)))
                first = int(rng.integers(0, len(idx) - length + 1))
                pieces.append(idx[first:first + length])
            rows.append(np.concatenate(pieces))
    return _with_sequences(data, rows)


def _with_sequences(data: LabelledWindows, rows: list[np.ndarray]) -> LabelledWindows:
    """``data`` plus the windows of each of ``rows`` again, as new segments of offset -1."""
    if not rows:
        return data
    order = np.concatenate(rows)
    new_ids = int(data.segments.max()) + 1 + np.repeat(np.arange(len(rows)),
                                                      [len(r) for r in rows])
    return LabelledWindows(
        np.concatenate((data.features, data.features[order])),
        np.concatenate((data.labels, data.labels[order])),
        np.concatenate((data.sources, data.sources[order])),
        np.concatenate((data.subjects, data.subjects[order])),
        np.concatenate((data.segments, new_ids)),
        np.concatenate((data.offsets, np.full(len(order), -1, dtype=data.offsets.dtype))),
    )
