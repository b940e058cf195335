"""Model files remember which window features they were fitted to: one fitted to an
earlier version is refused with a clear message, and a wearer's personal model is
refitted from the store rather than quietly dropped or misread."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from tracker.calibration import fit_personal_model, model_for, personal_model_path
from tracker.cli import main as cli_main
from tracker.features import FEATURES_VERSION
from tracker.personal import PersonalModel
from tracker.posture_model import OutdatedModelError, PostureModel, load_default_model
from tracker.scenarios import posture_material
from tracker.store import Store

RATE_HZ = 52.0
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "waist-hapt-subject01.csv"


def as_earlier_version(path: Path) -> None:
    """Rewrite a personal model file as the version before features were versioned."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {k: stored[k] for k in stored.files}
    meta = json.loads(str(arrays["meta"]))
    del meta["features_version"]
    arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as file:
        np.savez_compressed(file, **arrays)


@pytest.fixture
def calibrated_store(tmp_path: Path) -> Path:
    """A store with a minute of each posture stated, and the personal model fitted to it."""
    db = tmp_path / "tracker.sqlite"
    with Store.open(db) as store:
        for number, posture in enumerate(("sitting", "standing", "walking")):
            material = posture_material("thigh", posture, RATE_HZ)[:round(60 * RATE_HZ)]
            t = 1.7e9 + number * 70 + np.arange(len(material)) / RATE_HZ
            store.add_raw(t, material)
            store.add_label(t[0] + 5, t[-1], posture, "calibration", location="thigh")
    fit_personal_model(db, "thigh")
    return db


def test_shipped_models_carry_the_current_features_version() -> None:
    for location in ("waist", "wrist", "thigh"):
        for compact in (False, True):
            assert load_default_model(location, compact).features_version == FEATURES_VERSION


def test_a_model_of_earlier_features_is_refused(calibrated_store: Path) -> None:
    path = personal_model_path(calibrated_store, "thigh")
    assert PostureModel.load(path).features_version == FEATURES_VERSION
    as_earlier_version(path)
    with pytest.raises(OutdatedModelError, match="train --personal"):
        PostureModel.load(path)


def test_an_earlier_personal_model_is_refitted_from_the_store(
        calibrated_store: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = personal_model_path(calibrated_store, "thigh")
    as_earlier_version(path)
    with caplog.at_level(logging.WARNING):
        model = model_for(calibrated_store, "thigh")
    assert isinstance(model, PersonalModel) and model.personal.active
    assert "refitting it" in caplog.text
    # The file itself is replaced, so the next start loads it directly.
    assert PostureModel.load(path).features_version == FEATURES_VERSION


def test_an_earlier_personal_model_without_stated_postures_falls_back_to_the_shipped_one(
        calibrated_store: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = personal_model_path(calibrated_store, "thigh")
    as_earlier_version(path)
    with Store.open(calibrated_store) as store, store.transaction() as connection:
        connection.execute("DELETE FROM labels")
    with caplog.at_level(logging.WARNING):
        model = model_for(calibrated_store, "thigh")
    assert not isinstance(model, PersonalModel)
    assert model.location == "thigh"
    assert "using the shipped model" in caplog.text


@pytest.mark.parametrize("damage", ["cut short", "not a model"])
def test_a_damaged_personal_model_is_refitted_from_the_store(
        calibrated_store: Path, caplog: pytest.LogCaptureFixture, damage: str) -> None:
    path = personal_model_path(calibrated_store, "thigh")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2] if damage == "cut short" else b"t,x,y,z\n")
    with caplog.at_level(logging.WARNING):
        model = model_for(calibrated_store, "thigh")
    assert isinstance(model, PersonalModel) and model.personal.active
    assert "is damaged" in caplog.text and "refitting it" in caplog.text
    assert PostureModel.load(path).features_version == FEATURES_VERSION


def test_classify_with_an_earlier_model_says_what_to_do(
        calibrated_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = personal_model_path(calibrated_store, "thigh")
    as_earlier_version(path)
    output = tmp_path / "labels.csv"
    code = cli_main(["classify", str(SAMPLE), "--location", "thigh", "--model", str(path),
                     "-o", str(output)])
    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err and "earlier sitting-tracker" in err and "Traceback" not in err
    assert not output.exists()
