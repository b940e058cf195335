"""Errors the command line reports as one line and exit code 2, and the help layout."""

import argparse


class UsageError(Exception):
    """Bad arguments found after parsing (e.g. dates in the wrong order)."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default unless it has none or its help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.default is False or "default" in text:
            return text
        return super()._get_help_string(action) or text
