"""A study's store on a narrow screen: the sidebar with the participant chooser is folded
away, so each page says whose data it shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard.conftest import FilledStore
from tests.dashboard.test_app import copy_store, open_app, page_text
from tracker.store import Store


@pytest.fixture
def study(filled_store: FilledStore, tmp_path: Path) -> Path:
    """The filled store with a second participant's day beside it."""
    path = copy_store(filled_store.path, tmp_path / "study.sqlite")
    with Store.open(path) as store:
        mine = store.windows(participant="me")
        theirs = mine.rename(columns={"start_s": "start", "end_s": "end"}).tail(720)
        store.add_windows(theirs.assign(label="standing"), participant="P2", device="band2")
    return path


@pytest.mark.parametrize("page", ["pages_today.py", "pages_history.py",
                                  "pages_suggestions.py", "pages_accuracy.py"])
def test_every_page_names_the_participant_shown(study: Path, page: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app(study, monkeypatch, page)
    assert "Participant **me** (2 of 2 in this store" in page_text(app)
    app.sidebar.selectbox(key="participant").set_value("P2").run()
    assert "Participant **P2** (1 of 2 in this store" in page_text(app)
