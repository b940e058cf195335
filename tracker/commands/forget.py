"""`sitting-tracker forget`: delete one participant's data completely."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tracker.cli_errors import UsageError
from tracker.config import LOCATIONS
from tracker.participant_ids import held_participants
from tracker.store import Store, store_location
from tracker.store_choice import choose_store, db_help


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "forget", help="delete every row of one participant from the store",
        description="Delete everything stored under one participant id: raw samples, "
        "windows, bouts, events, stated postures and the collector's notes, in one "
        "transaction, and the participant's personal models beside a store file. Other "
        "participants' data stay. Stop that participant's collector first. Copies made "
        "before (exports, backups) are not touched.")
    parser.add_argument("--participant", required=True, metavar="ID",
                        help="the participant id, exactly as stored")
    parser.add_argument("--db", type=store_location, metavar="PATH|URL", help=db_help())
    parser.add_argument("--config", type=Path, help="settings file (for its tracker.db)")
    parser.add_argument("--yes", action="store_true",
                        help="do not ask for confirmation (needed when not on a terminal)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tracker.commands.collect import resolve_settings

    location = choose_store(args.db, lambda: resolve_settings(args))
    with Store.open(location, create=False) as store:
        rows = store.participant_rows(args.participant)
        models = _personal_models(location, args.participant)
        if not any(rows.values()) and not models:
            _say_nothing_stored(store, args.participant)
            return 0  # an erasure repeated has nothing left to do, and has not failed
        summary = _summary(rows, models)
        if not args.yes:
            _confirm(args.participant, store.location, summary)
        forgotten = store.forget(args.participant)
    for path in models:
        path.unlink(missing_ok=True)
    print(f"deleted participant {args.participant!r} from {store.location}: "
          f"{_summary(forgotten.rows, models)}")
    if forgotten.note:
        print(f"note: {forgotten.note}", file=sys.stderr)
    return 0


def _say_nothing_stored(store: Store, participant: str) -> None:
    """Name the ids the store holds, so that a typo does not pass for a done erasure; an
    id that differs from one of them only in case is an error."""
    everyone = store.participants()
    near = [p for p in everyone if p.casefold() == participant.casefold()]
    if near:  # ids are exact: say so, rather than "done" with nothing deleted
        raise UsageError(f"nothing stored for participant {participant!r}, but there is "
                         f"{near[0]!r}; ids are case-sensitive")
    print(f"nothing stored for participant {participant!r} in {store.location}; the store "
          f"holds {held_participants(everyone)}")


def _personal_models(location: Path | str, participant: str) -> list[Path]:
    """The participant's personal model files: beside a store file, or for a PostgreSQL
    store in this computer's user data folder (see tracker.calibration)."""
    from tracker.calibration import personal_model_path

    paths = {personal_model_path(location, where, participant) for where in LOCATIONS}
    return sorted(path for path in paths if path.exists())


def _summary(rows: dict[str, int], models: list[Path]) -> str:
    parts = [f"{n:,} {table}" for table, n in rows.items() if n]
    if models:
        parts.append(f"{len(models)} personal model file(s)")
    return ", ".join(parts) or "no rows"


def _confirm(participant: str, where: str, summary: str) -> None:
    if not sys.stdin.isatty():
        raise UsageError("forget deletes data for good; add --yes to confirm without a "
                         "terminal")
    print(f"This deletes for good, from {where}: {summary}.")
    try:
        answer = input(f"Type the participant id ({participant}) to confirm: ")
    except EOFError:  # Ctrl-D: no answer is a no
        print()  # end the prompt's line, so the error does not run on after it
        answer = ""
    if answer.strip() != participant:
        raise UsageError("not confirmed; nothing was deleted")
