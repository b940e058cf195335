"""Errors the command line reports as one line and exit code 2."""


class UsageError(Exception):
    """Bad arguments found after parsing (e.g. dates in the wrong order)."""
