"""`sitting-tracker train`: rebuild a shipped model from data/ and evaluate it."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from tracker.cli_errors import HelpFormatter, UsageError
from tracker.config import LOCATIONS
from tracker.store import store_location

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
    model, report = train_location(args.location, args.data, progress=print)
    print(report)
    output = args.output or default_model_path(args.location)
    model.save(output)
    print(f"saved the {args.location} model to {output}")
    return 0


def _check_training_file(data: Path, location: str) -> None:
    """Name the file a location trains on when --data lacks it, before minutes of work."""
    from tracker.training_data import HAPT_FILE, WISDM_FILE

    needed = HAPT_FILE if location == "waist" else WISDM_FILE
    if not (data / needed).is_file():
        raise UsageError(f"{data / needed}: no such file; --data must be a folder holding "
                         f"{HAPT_FILE} (waist) and {WISDM_FILE} (wrist, thigh), as the "
                         "source tree's data/ folder does")


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
