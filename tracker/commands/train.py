"""`sitting-tracker train`: rebuild a shipped model from data/ and evaluate it."""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.cli_errors import HelpFormatter, UsageError
from tracker.config import LOCATIONS
from tracker.csvfiles import cannot_write, check_output
from tracker.store import store_location

if TYPE_CHECKING:
    from tracker.posture_model import PostureModel

REPO_DATA = Path(__file__).resolve().parents[2] / "data"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train", help="rebuild a posture model: the shipped one, or your personal one",
        description="Without --personal: train the sitting/standing/walking model for one "
        "wear location on the labelled recordings in data/, print a leave-subjects-out "
        "evaluation (macro-F1 and confusion matrix on people never trained on), and save "
        "the model. With --personal: refit your personal model from your calibration and "
        "the corrections marked in the dashboard, and print how many of the corrected "
        "windows the model labels as you said, before and after.",
        formatter_class=HelpFormatter)
    parser.add_argument("--location", choices=LOCATIONS,
                        help="wear location (required without --personal; with it, "
                        "default tracker.location in the settings)")
    parser.add_argument("--data", type=Path, default=REPO_DATA,
                        help="folder with the training recordings")
    parser.add_argument("--output", "-o", type=Path,
                        help="where to save the model (default: replace the shipped one)")
    parser.add_argument("--personal", action="store_true",
                        help="refit your personal model from the store's stated postures")
    parser.add_argument("--db", type=store_location, metavar="PATH|URL",
                        help="the store, with --personal (default: as "
                        "for collect)")
    parser.add_argument("--config", type=Path, help="settings file, with --personal")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.personal:
        return _train_personal(args)
    if args.location is None:
        raise UsageError("--location is required (or use --personal)")
    from tracker.model import train_location
    from tracker.posture_model import default_model_path

    if not args.data.is_dir():
        raise UsageError(f"--data {args.data}: no such folder (the training data ships in the "
                         "source tree's data/ folder)")
    _check_training_file(args.data, args.location)
    output = _writable_output(args.output or default_model_path(args.location))
    model, report = train_location(args.location, args.data, progress=print)
    print(report)
    _save_whole(model, output)
    print(f"saved the {args.location} model to {output}")
    return 0


def _check_training_file(data: Path, location: str) -> None:
    """Name the file a location trains on when --data lacks it or it is not one training
    can read, before minutes of work."""
    from tracker.training_data import HAPT_FILE, WISDM_FILE, check_training_file, training_file

    needed = data / training_file(location)
    if not needed.is_file():
        raise UsageError(f"{needed}: no such file; --data must be a folder holding "
                         f"{HAPT_FILE} (waist) and {WISDM_FILE} (wrist, thigh), as the "
                         "source tree's data/ folder does")
    check_training_file(needed)


def _writable_output(output: Path) -> Path:
    """The file to save the model to, refused before minutes of training when it cannot
    be written: a folder, a folder without write permission, a read-only disk."""
    from tracker.posture_model import compact_path

    if output.is_symlink():
        output = output.resolve()  # replace the file the link points to, keep the link
    check_output(output)
    check_output(compact_path(output))  # the numpy-only copy saved beside it
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output.parent):
            pass
    except OSError as error:
        raise cannot_write(output, error) from None
    return output


def _save_whole(model: PostureModel, output: Path) -> None:
    """Save the model and its compact copy under temporary names beside ``output``, then
    rename them: a save that fails (a full disk) leaves the model that was there, not
    half of a new one, and a running collector never reads a file being written."""
    from tracker.posture_model import compact_path

    temporary = output.with_name(f".{output.name}.{os.getpid()}.part.skops")
    renames = [(temporary, output), (compact_path(temporary), compact_path(output))]
    try:
        model.save(temporary)
        for written, final in renames:
            os.replace(written, final)
    except OSError as error:
        raise cannot_write(output, error) from None
    finally:
        for written, _ in renames:
            written.unlink(missing_ok=True)


def _train_personal(args: argparse.Namespace) -> int:
    from tracker.calibration import fit_personal_model
    from tracker.commands.collect import resolve_settings, resolve_store

    settings = resolve_settings(args)
    location = args.location or settings.tracker.location
    db = resolve_store(args, settings)
    try:
        fit = fit_personal_model(db, location, participant=settings.tracker.participant,
                                 progress=print)
    except ValueError as error:
        raise UsageError(str(error)) from None
    print(f"On the {fit.scored_on} ({fit.n_scored} windows): the model in use before "
          f"labelled {fit.agreement_before:.1%} as stated; the personal model labels "
          f"{fit.agreement_after:.1%} (it was fitted on them, so this is not a test on new "
          "data).")
    if math.isfinite(fit.agreement_held_out):
        print(f"Fitted without the span each window is in, it labels "
              f"{fit.agreement_held_out:.1%} as stated: what to expect on spans it has not "
              "seen.")
    print(f"saved the personal {location} model to {fit.path}")
    return 0
