"""The Suggestions page before any data: the suggestions are worth reading on the first
day, before the band has recorded anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard.test_app import open_app, page_text
from tracker.suggestions import DISCLAIMER, SUGGESTIONS


def test_suggestions_are_listed_before_there_is_data(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "new.sqlite"
    app = open_app(db, monkeypatch, "pages_suggestions.py")
    text = page_text(app)
    assert "sitting-tracker collect" in text  # still says how to start
    assert DISCLAIMER in text
    for suggestion in SUGGESTIONS:
        assert suggestion.title in text and suggestion.instructions in text
    # Nothing to mark as done without a store to write it in.
    assert not [b for b in app.button if b.label == "I did this today"]
    assert not db.exists()
