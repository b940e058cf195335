"""Personal models: from postures the wearer stated to a model fitted to them.

The wearer states postures in two ways, both kept in the store's ``labels`` table:
the guided routine (`sitting-tracker calibrate`, or the dashboard's Calibrate page: sit,
stand and walk for a minute each) and corrections marked in the dashboard ("I was
actually standing").  The raw samples of those spans are already in the store, so a
personal model is fitted from the store alone, with the same windowing as at run time,
and saved beside the store; the collector uses it from then on.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracker.labels import SITTING, STANDING, WALKING
from tracker.posture_model import OutdatedModelError, PostureModel, load_default_model
from tracker.store import DEFAULT_PARTICIPANT, Store
from tracker.store_backends import is_database_url
from tracker.windowing import StreamingWindower, WindowBlock

log = logging.getLogger(__name__)

PERSONAL_SUFFIX = ".personal.npz"
SPAN_ID = 1000  # segment ids: span number * SPAN_ID + part of the span between gaps
# Leaving out each stated span in turn refits the personal model once per span: a sample
# of this many spans keeps `train --personal` quick after months of corrections.
HELD_OUT_SPANS = 20


@dataclass(frozen=True)
class Phase:
    posture: str
    instruction: str


PHASES: tuple[Phase, ...] = (
    Phase(SITTING, "Sit as you usually do at your desk, and keep working or reading."),
    Phase(STANDING, "Stand up and stay standing where you are; small moves are fine."),
    Phase(WALKING, "Walk at your normal pace: around the room or along a corridor."),
)
# Seconds at the start of each phase not used: getting into the posture.
SETTLE_S = 5.0


@dataclass(frozen=True)
class LabelledWindows:
    windows: np.ndarray  # (n, L, 3) float32 at the model's rate
    labels: np.ndarray  # (n,) posture names
    segments: np.ndarray  # (n,) span * SPAN_ID + gap-free part: context stays inside
    sources: np.ndarray  # (n,) where the span was stated: "calibration" or "correction"

    @property
    def spans(self) -> np.ndarray:
        return self.segments // SPAN_ID

    def subset(self, mask: np.ndarray) -> LabelledWindows:
        return LabelledWindows(self.windows[mask], self.labels[mask], self.segments[mask],
                               self.sources[mask])


# What reading a personal model file raises when it was cut short (a crash or a full
# disk while it was saved) or is not a model at all.
DAMAGED_MODEL_ERRORS = (ValueError, KeyError, EOFError, zipfile.BadZipFile)


def personal_model_path(db: str | Path, location: str,
                        participant: str = DEFAULT_PARTICIPANT) -> Path:
    """Where the personal model of a store's wearer lives: a folder beside a store file;
    for a PostgreSQL store, the user data folder of the computer that fitted it."""
    stem = location if participant == DEFAULT_PARTICIPANT else f"{participant}-{location}"
    if is_database_url(db):
        from platformdirs import user_data_path

        return user_data_path("sitting-tracker", appauthor=False) / "models" / \
            f"{stem}{PERSONAL_SUFFIX}"
    return Path(db).parent / "models" / f"{stem}{PERSONAL_SUFFIX}"


def model_for(db: str | Path | None, location: str,
              participant: str = DEFAULT_PARTICIPANT) -> PostureModel:
    """The personal model of this store's wearer if there is one, else the shipped model
    (its numpy-only copy: callers that run all day never import scikit-learn).

    A personal model fitted to the window features of an earlier version, or a damaged
    one, is refitted from the postures stated in the store, which keeps their raw
    samples, so an upgrade or a crash does not quietly drop a wearer's calibration.

    A personal model this process may not read (its folder made by another user, or
    without the permission to enter it) is a warning, and the shipped model is used: the
    collector runs all day, and a day not recorded is lost, while the shipped model only
    labels it less closely to this wearer."""
    if db is None:
        return load_default_model(location, compact=True)
    path = personal_model_path(db, location, participant)
    try:
        if path.exists():
            return PostureModel.load(path)
    except OutdatedModelError as error:
        log.warning("the personal model %s was %s; refitting it now", path, error)
        return _refitted_or_shipped(db, location, participant)
    except OSError as error:
        log.warning("cannot read the personal model %s (%s): using the shipped model",
                    path, error.strerror or error)
    except DAMAGED_MODEL_ERRORS as error:
        log.warning("the personal model %s is damaged (%s); refitting it now", path, error)
        return _refitted_or_shipped(db, location, participant)
    return load_default_model(location, compact=True)


def _refitted_or_shipped(db: str | Path, location: str, participant: str) -> PostureModel:
    try:
        return fit_personal_model(db, location, participant=participant).model
    except (ValueError, OSError) as error:  # OSError: the refitted model cannot be saved
        log.warning("could not refit the personal model (%s): using the shipped model", error)
        return load_default_model(location, compact=True)


def labelled_windows(store: Store, model: PostureModel, *, location: str | None = None,
                     participant: str = DEFAULT_PARTICIPANT,
                     sources: tuple[str, ...] = ("calibration", "correction"),
                     ) -> LabelledWindows:
    """Every whole window of the stated spans, windowed exactly as at run time."""
    spans = store.labels(participant=participant)
    spans = spans[spans["source"].isin(sources)]
    if location is not None:  # spans stated with another placement teach this one nothing
        spans = spans[spans["location"].isna() | (spans["location"] == location)]
    windows, labels, segments, stated = [], [], [], []
    for number, span in enumerate(spans.itertuples(index=False)):
        for block in _window_blocks(store, model, span.start_s, span.end_s, participant):
            windows.append(block.samples)
            labels.extend([span.label] * len(block.samples))
            # Segment ids must differ across spans and across gaps inside one span.
            segments.extend([number * SPAN_ID + block.segment] * len(block.samples))
            stated.extend([span.source] * len(block.samples))
    if not windows:
        length = round(model.rate_hz * model.window_s)
        return LabelledWindows(np.zeros((0, length, 3), np.float32), np.array([], str),
                               np.array([], int), np.array([], str))
    return LabelledWindows(np.concatenate(windows), np.array(labels), np.array(segments),
                           np.array(stated))


def _window_blocks(store: Store, model: PostureModel, start_s: float, end_s: float,
                   participant: str) -> Iterator[WindowBlock]:
    windower = StreamingWindower(model.rate_hz, model.window_s)
    items = []
    for _, _, chunk in store.raw_chunks(start_s, end_s, participant=participant):
        inside = (chunk.t >= start_s) & (chunk.t <= end_s)
        items += windower.push(chunk.t[inside], chunk.xyz[inside])
    items += windower.flush()
    yield from (item for item in items if isinstance(item, WindowBlock))


def routine_problems(db: str | Path, spans: list[tuple[float, float, str]], location: str,
                     participant: str = DEFAULT_PARTICIPANT) -> list[str]:
    """What went wrong in a finished routine, one line per phase; empty when each phase
    looks done as asked.

    The shipped models tell walking from not walking almost without error at every
    placement (walking F1 0.99-1.00 on people never trained on), unlike sitting from
    standing.  So a phase most of whose windows they call the wrong side of that line was
    not done as asked (the band lay on the desk, the wearer stayed seated, or it is worn
    elsewhere than the location says), and fitting on it would teach the personal model
    a wrong posture.
    """
    # A phase needs the windows a posture needs to count in the personal model.
    from tracker.personal import MIN_WINDOWS_PER_CLASS

    base = load_default_model(location, compact=True)
    problems = []
    with Store.open(db, readonly=True) as store:
        for start_s, end_s, posture in spans:
            labels = [base.predict(block.samples)
                      for block in _window_blocks(store, base, start_s, end_s, participant)]
            called = np.concatenate(labels) if labels else np.array([], dtype=str)
            n, walking = len(called), int((called == WALKING).sum())
            name = posture.upper()
            if n < MIN_WINDOWS_PER_CLASS:
                problems.append(f"{name}: only {n * base.window_s:.0f} s of samples were "
                                "stored (was the band connected and sending?)")
            elif posture == WALKING and walking < n / 2:
                problems.append(f"{name}: the band did not move like walking ({walking} of "
                                f"{n} windows did)")
            elif posture != WALKING and walking > n / 2:
                problems.append(f"{name}: the band moved like walking ({walking} of {n} "
                                "windows)")
    return problems


@dataclass(frozen=True)
class PersonalFit:
    model: PostureModel
    path: Path
    n_windows: dict[str, int]  # labelled windows per posture
    scored_on: str  # which stated windows the agreement figures are on
    n_scored: int
    agreement_before: float  # share of those windows the model in use labelled right
    agreement_after: float  # the same with the new personal model (fitted on them too)
    # ... with a personal model fitted without the span each window is in: a test on
    # windows it did not learn from (NaN unless scored on corrections, and with a single
    # stated span: the routine's one span per posture leaves nothing to test that way)
    agreement_held_out: float


def agreement(model: PostureModel, examples: LabelledWindows) -> float:
    """Share of stated windows the model labels as stated (smoothed, as shown)."""
    if len(examples.labels) == 0:
        return float("nan")
    right = 0
    for segment in np.unique(examples.segments):
        mine = examples.segments == segment
        right += int((model.predict(examples.windows[mine]) == examples.labels[mine]).sum())
    return right / len(examples.labels)


def fit_personal_model(db: str | Path, location: str, *,
                       participant: str = DEFAULT_PARTICIPANT,
                       progress: Callable[[str], None] = lambda _: None) -> PersonalFit:
    """Refit this wearer's personal model from all their stated postures and save it.

    Raises ValueError when the store holds too little to learn from."""
    from tracker.personal import fit_personal, save_personal

    base = load_default_model(location, compact=True)
    path = personal_model_path(db, location, participant)
    try:
        before = PostureModel.load(path) if path.exists() else base
    except (OutdatedModelError, *DAMAGED_MODEL_ERRORS):
        before = base  # refitted now: compare with the shipped model
    with Store.open(db, readonly=True) as store:
        examples = labelled_windows(store, base, location=location, participant=participant)
    if len(examples.labels) == 0:
        raise ValueError("no stated postures with raw samples in the store yet: run "
                         "`sitting-tracker calibrate`, or mark a span in the dashboard")
    counts = {str(p): int((examples.labels == p).sum()) for p in np.unique(examples.labels)}
    progress(f"fitting on {len(examples.labels)} windows: "
             + ", ".join(f"{p} {n}" for p, n in counts.items()))
    model = fit_personal(base, examples.windows, examples.labels, examples.segments)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a running collector re-reading the file never sees half of it.
    partial = path.with_name(path.name.removesuffix(".npz") + ".partial.npz")
    try:
        save_personal(model, partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)  # a save cut short leaves no half file behind
    corrected = examples.sources == "correction"
    scored_mask, scored_on = ((corrected, "corrections") if corrected.any()
                              else (np.ones(len(corrected), bool), "calibration"))
    scored = examples.subset(scored_mask)
    return PersonalFit(model=model, path=path, n_windows=counts, scored_on=scored_on,
                       n_scored=len(scored.labels),
                       agreement_before=agreement(before, scored),
                       agreement_after=agreement(model, scored),
                       agreement_held_out=held_out_agreement(base, examples, scored_mask)
                       if scored_on == "corrections" else float("nan"))


def held_out_agreement(base: PostureModel, examples: LabelledWindows,
                       scored: np.ndarray) -> float:
    """Share of the scored windows labelled as stated by a personal model fitted on every
    other span: how well the personal model does on postures it has not seen.  A span
    whose posture no other span states is labelled as the shipped model would."""
    from tracker.personal import fit_personal

    spans = np.unique(examples.spans[scored])
    if len(np.unique(examples.spans)) < 2:
        return float("nan")
    if len(spans) > HELD_OUT_SPANS:
        spans = np.random.default_rng(0).choice(spans, HELD_OUT_SPANS, replace=False)
    right = total = 0.0
    for span in spans:
        held = examples.spans == span
        rest = examples.subset(~held)
        model = fit_personal(base, rest.windows, rest.labels, rest.segments)
        part = examples.subset(held & scored)
        right += agreement(model, part) * len(part.labels)
        total += len(part.labels)
    return right / total if total else float("nan")


def save_calibration(db: str | Path, spans: list[tuple[float, float, str]], location: str,
                     participant: str = DEFAULT_PARTICIPANT) -> None:
    """Keep a finished routine's phases, replacing an earlier calibration at this
    location (the band may sit differently now); corrections stay."""
    with Store.open(db) as store, store.transaction():
        store.delete_labels(-np.inf, np.inf, "calibration", participant=participant,
                            location=location)
        for start, end, posture in spans:
            store.add_label(start, end, posture, "calibration", location=location,
                            participant=participant)


def newest_sample_s(db: str | Path, participant: str = DEFAULT_PARTICIPANT) -> float | None:
    """Time of the wearer's newest raw sample in the store (None before the first)."""
    with Store.open(db, readonly=True) as store:
        value = store.query_scalar(
            "SELECT max(end_s) FROM raw_chunks WHERE participant_id = ?", (participant,))
    return None if value is None else float(value)
