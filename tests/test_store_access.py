"""Where a store cannot be opened as asked, the commands say why in one line (exit 2):
a URL of another database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.cli import main
from tracker.store import Store, StoreError, store_location


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite:///tmp/s.sqlite",
                                 "postgresql+psycopg://host/db"])
def test_a_url_of_another_database_is_refused_and_nothing_is_made(
        url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    recording = tmp_path / "r.csv"
    recording.write_text("t,x,y,z\n" + "".join(f"{i / 50},0,0,1\n" for i in range(3000)))
    scheme = url.split("://")[0]
    expected = f"unsupported database URL scheme '{scheme}' (use a file path or " \
               "postgresql://...)"
    for args in (["classify", str(recording), "--location", "thigh", "-o", "labels.csv"],
                 ["export", "events", "-o", "e.csv"], ["status"], ["collect"],
                 ["dashboard"]):
        assert main([*args, "--db", url]) == 2
        err = capsys.readouterr().err
        assert err == f"sitting-tracker {args[0]}: error: --db {url}: {expected}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_store_location_keeps_paths_and_postgresql_urls() -> None:
    assert store_location("postgresql://h/db") == "postgresql://h/db"
    assert store_location("postgres://h/db") == "postgres://h/db"
    assert store_location("C:/data/s.sqlite") == Path("C:/data/s.sqlite")
    assert store_location("~/s.sqlite") == Path.home() / "s.sqlite"
    with pytest.raises(StoreError, match=r"mysql://u:\*\*\*@h/db: unsupported database URL"):
        store_location("mysql://u:secret@h/db")  # no password in the message
    with pytest.raises(StoreError, match="unsupported database URL scheme 'mysql'"):
        Store.open("mysql://h/db")  # a caller passing the text itself
