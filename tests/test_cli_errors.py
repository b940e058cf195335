"""Mistakes a new user makes at the command line: one line saying what is wrong, exit 2,
no traceback and nothing changed (forget's prompt, train's --data, demo's numbers)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest

from tracker.cli import main
from tracker.store import Store


class _Terminal(io.StringIO):
    """Standard input as a terminal on which the user types ``text`` (then Ctrl-D)."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("typed", ["", "no\n"], ids=["ctrl-d", "no"])
def test_ctrl_d_at_the_forget_prompt_is_a_no(tmp_path: Path, typed: str,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.sqlite"
    with Store.open(db) as store:
        store.add_raw(np.array([1.0, 1.02]), np.zeros((2, 3), np.float32), participant="p1")
    monkeypatch.setattr(sys, "stdin", _Terminal(typed))
    assert main(["forget", "--participant", "p1", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "sitting-tracker forget: error: not confirmed; nothing was deleted"]
    with Store.open(db, readonly=True) as store:
        assert store.raw_sample_count(participant="p1") == 2


@pytest.mark.parametrize(("location", "missing"), [
    ("waist", "hapt_waist.parquet"), ("thigh", "wisdm2019_wrist_thigh.parquet")])
def test_train_names_the_file_data_lacks(tmp_path: Path, location: str, missing: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    model = tmp_path / "m.skops"
    assert main(["train", "--location", location, "--data", str(empty), "-o",
                 str(model)]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert f"{empty / missing}: no such file; --data must be a folder holding" in line
    assert captured.out == "" and not model.exists()


@pytest.mark.parametrize(("option", "message"), [
    (["--duration", "-5"], "argument --duration: -5: must be more than 0 seconds"),
    (["--duration", "0"], "argument --duration: 0: must be more than 0 seconds"),
    (["--duration", "nan"], "argument --duration: not a finite number: 'nan'"),
    (["--speed", "0"], "argument --speed: 0: must be more than 0 and at most 2000"),
    (["--speed", "2500"], "argument --speed: 2500: must be more than 0 and at most 2000"),
])
def test_demo_refuses_numbers_it_cannot_replay(tmp_path: Path, option: list[str],
                                               message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:  # --db: were it to run, not the usual store
        main(["demo", "--no-dashboard", "--db", str(tmp_path / "demo.sqlite"), *option])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1].endswith(message)
    assert "replaying" not in captured.out  # refused before anything starts
