"""Every command finds the store in one order: --db, $SITTING_TRACKER_DB, tracker.db in
the settings file, the user data folder. (status and export read the environment only,
collect and forget the settings first, before: `status` did not see the collector's
store.)"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tracker.cli import build_parser, main
from tracker.config import Settings, TrackerSettings
from tracker.store import Store, StoreError
from tracker.store_choice import choose_store, user_store_path

# Every command with --db that picks a default store (classify stores only when given
# one; demo fills its own store).
RESOLVING = ("collect", "status", "export", "forget", "dashboard", "calibrate", "train",
             "service")


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A store named in a settings file, one in $SITTING_TRACKER_DB, one for --db; each
    with a collector status saying which it is."""
    stores = {name: tmp_path / f"{name}.sqlite" for name in ("settings", "env", "option")}
    for name, path in stores.items():
        with Store.open(path) as store:
            store.set_meta("collector_status", json.dumps({"updated": 1.0, "band": name}),
                           participant="me", device="band")
            store.add_event(1.7e9, "note", name)
    config = tmp_path / "config.toml"
    config.write_text(f'[tracker]\ndb = "{stores["settings"]}"\n')
    monkeypatch.setenv("SITTING_TRACKER_CONFIG", str(config))
    monkeypatch.delenv("SITTING_TRACKER_DB", raising=False)
    return stores


def _status_band(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["status", "--json", *args]) == 1  # reported long ago: not running
    band: str = json.loads(capsys.readouterr().out)["band"]
    return band


def _exported_note(tmp_path: Path, *args: str) -> str:
    out = tmp_path / "events.csv"
    assert main(["export", "events", "-o", str(out), *args]) == 0
    return out.read_text().splitlines()[1]


def test_status_and_export_read_the_store_the_settings_name(
        places: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _status_band(capsys) == "settings"
    assert "settings" in _exported_note(tmp_path)


def test_the_environment_wins_over_the_settings_and_db_over_both(
        places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SITTING_TRACKER_DB", str(places["env"]))
    assert _status_band(capsys) == "env"
    assert "env" in _exported_note(tmp_path)
    assert _status_band(capsys, "--db", str(places["option"])) == "option"
    assert "option" in _exported_note(tmp_path, "--db", str(places["option"]))


def test_forget_and_the_dashboard_pick_the_same_store(
        places: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from dashboard.context import store_path
    from tracker.config import load_settings

    monkeypatch.setenv("SITTING_TRACKER_DB", str(places["env"]))
    assert store_path(None, load_settings()) == places["env"]
    assert main(["forget", "--participant", "me", "--yes"]) == 0
    assert str(places["env"]) in capsys.readouterr().out
    with Store.open(places["env"], readonly=True) as store:
        assert store.participants() == []
    with Store.open(places["settings"], readonly=True) as store:
        assert store.participants() == ["me"]  # collect/forget read the settings first


def test_the_order_in_one_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configured = Settings(tracker=TrackerSettings(db=str(tmp_path / "settings.sqlite")))
    unread = Settings(tracker=TrackerSettings(db="never read"))
    monkeypatch.delenv("SITTING_TRACKER_DB", raising=False)
    assert choose_store(None, lambda: Settings()) == user_store_path()
    assert choose_store(None, lambda: configured) == tmp_path / "settings.sqlite"
    monkeypatch.setenv("SITTING_TRACKER_DB", "postgresql://h/db")
    assert choose_store(None, lambda: configured) == "postgresql://h/db"
    assert choose_store(tmp_path / "o.sqlite", lambda: unread) == tmp_path / "o.sqlite"
    monkeypatch.setenv("SITTING_TRACKER_DB", "")  # empty: as if unset
    assert choose_store(None, lambda: configured) == tmp_path / "settings.sqlite"
    monkeypatch.setenv("SITTING_TRACKER_DB", "mysql://h/db")
    with pytest.raises(StoreError, match=r"^\$SITTING_TRACKER_DB: mysql://h/db: unsupported"):
        choose_store(None, lambda: configured)


def test_a_broken_settings_file_does_not_stop_a_command_told_where_the_store_is(
        places: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config.toml").write_text("[tracker]\nlocation = 'ankle'\n")
    assert _status_band(capsys, "--db", str(places["option"])) == "option"
    assert main(["status"]) == 2
    assert "tracker.location: 'ankle'" in capsys.readouterr().err


def test_every_db_option_states_the_same_order() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {}
    for name, sub in commands.choices.items():
        for action in sub._actions:
            if "--db" in action.option_strings:
                helps[name] = " ".join((action.help or "").split())
    order = (f"(default: $SITTING_TRACKER_DB, else tracker.db in the settings file, else "
             f"{user_store_path()})")
    # train --personal says "as for collect": it calls collect's resolve_store.
    same = {name for name, text in helps.items() if order in text or "as for collect" in text}
    assert same == set(RESOLVING)
    assert set(helps) - set(RESOLVING) == {"classify", "demo"}
