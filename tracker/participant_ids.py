"""The participant ids a store holds, named when a command is given one it does not hold:
more likely a typo than an answer."""

from __future__ import annotations

from collections.abc import Sequence

SHOWN = 10  # enough to spot a typo; a study's whole list would bury the message


def held_participants(everyone: Sequence[str]) -> str:
    """`everyone`'s ids, quoted: the first few and how many more, or 'none'."""
    known = ", ".join(repr(p) for p in everyone[:SHOWN]) or "none"
    more = f" and {len(everyone) - SHOWN} more" if len(everyone) > SHOWN else ""
    return known + more
