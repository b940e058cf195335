"""`sitting-tracker train`: rebuild a shipped model from data/ and evaluate it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tracker.cli_errors import UsageError
from tracker.commands.classify import LOCATIONS

REPO_DATA = Path(__file__).resolve().parents[2] / "data"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train", help="rebuild the posture model for a wear location from data/",
        description="Train the sitting/standing/walking model for one wear location on the "
        "labelled recordings in data/, print a leave-subjects-out evaluation (macro-F1 and "
        "confusion matrix on people never trained on), and save the model.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--location", required=True, choices=LOCATIONS)
    parser.add_argument("--data", type=Path, default=REPO_DATA,
                        help="folder with the training recordings")
    parser.add_argument("--output", "-o", type=Path,
                        help="where to save the model (default: replace the shipped one)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tracker.model import default_model_path, train_location

    if not args.data.is_dir():
        raise UsageError(f"--data {args.data}: no such folder (the training data ships in the "
                         "source tree's data/ folder)")
    model, report = train_location(args.location, args.data, progress=print)
    print(report)
    output = args.output or default_model_path(args.location)
    model.save(output)
    print(f"saved the {args.location} model to {output}")
    return 0
