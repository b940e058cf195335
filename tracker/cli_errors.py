"""Errors the command line reports as one line and exit code 2, and the help layout."""

import argparse
import math


class UsageError(Exception):
    """Bad arguments found after parsing (e.g. dates in the wrong order)."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default unless it has none or its help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.default is False or "default" in text:
            return text
        return super()._get_help_string(action) or text


def identifier(text: str) -> str:
    """An id the rows are stored under (participant, device): written into every CSV, so
    no control characters (an id list saved on Windows brings a stray carriage return)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an id must not be empty")
    bad = [c for c in text if not c.isprintable()]
    if bad:
        raise argparse.ArgumentTypeError(f"{text!r} contains the control character "
                                         f"{bad[0]!r}; ids go into CSV files")
    return text


def finite_number(text: str) -> float:
    """A number option: 'nan' and 'inf' parse as floats but mean no amount of anything."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def positive_number(text: str) -> float:
    """A rate or factor: 0 or less has no meaning (and divides by zero)."""
    return _more_than_zero(text, "")


def positive_seconds(text: str) -> float:
    """A length of time to run, listen or replay for: 0 or less would do nothing."""
    return _more_than_zero(text, " seconds")


def _more_than_zero(text: str, unit: str) -> float:
    value = finite_number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: must be more than 0{unit}")
    return value
