"""`sitting-tracker calibrate` end to end: an emulated band whose wearer does what the
prompts say, bleak on a private bus, the collector's code, a real store; then
`train --personal` with a correction on top."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tracker.calibration import SETTLE_S, agreement, labelled_windows, personal_model_path
from tracker.cli import main as cli_main
from tracker.emulator import Emulator, PolarVeritySense, find_dbus_daemon
from tracker.posture_model import PostureModel
from tracker.scenarios import posture_material
from tracker.store import Store

pytestmark = [
    pytest.mark.skipif(find_dbus_daemon() is None,
                       reason="dbus-daemon not found; run scripts/install-system-deps.sh"),
    pytest.mark.timeout(240),
]
RATE_HZ = 52.0
PHASE_S = 40


class FollowingWearer:
    """Real thigh recordings of whatever posture the wearer was last asked for."""

    rate_hz = RATE_HZ

    def __init__(self, posture: str) -> None:
        self.posture = posture
        self.position = 0

    def read(self, n: int) -> np.ndarray:
        material = posture_material("thigh", self.posture, RATE_HZ)
        out = material[(self.position + np.arange(max(0, n))) % len(material)]
        self.position += len(out)
        return out


def run_calibration(db: Path, follows_prompts: bool = True) -> tuple[int, str]:
    # Arriving at the desk; a wearer who does not follow the prompts stays seated.
    wearer = FollowingWearer("walking" if follows_prompts else "sitting")
    band = PolarVeritySense(wearer, speed=1)

    async def scenario() -> tuple[int, str]:
        async with Emulator(band, apply_env=False) as emu:
            command = [sys.executable, "-m", "tracker.cli", "calibrate", "--device", "Polar",
                       "--location", "thigh", "--db", str(db), "--seconds", str(PHASE_S)]
            process = subprocess.Popen(command, env=emu.bus.environ(), text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert process.stdout is not None
            lines = []
            try:
                while line := await asyncio.to_thread(process.stdout.readline):
                    lines.append(line)
                    if line.startswith("Now: ") and follows_prompts:
                        wearer.posture = line.split()[1].lower()
                code = await asyncio.to_thread(process.wait, 30)
            finally:
                if process.poll() is None:
                    process.kill()
            return code, "".join(lines)

    return asyncio.run(scenario())


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("calibrate") / "tracker.sqlite"
    code, output = run_calibration(db)
    assert code == 0, output
    return db, output


def test_calibration_stores_the_three_phases_and_a_personal_model(
        calibrated: tuple[Path, str]) -> None:
    db, output = calibrated
    with Store.open(db, readonly=True) as store:
        spans = store.labels(source="calibration")
        raw_end = store.connection.execute("SELECT max(end_s) FROM raw_chunks").fetchone()[0]
    assert spans["label"].tolist() == ["sitting", "standing", "walking"]
    assert (spans["location"] == "thigh").all()
    lengths = (spans["end_s"] - spans["start_s"]).to_numpy()
    assert np.all(np.abs(lengths - (PHASE_S - SETTLE_S)) < 1.5), lengths
    assert raw_end >= spans["end_s"].max() - 0.5  # the samples of every phase are stored
    path = personal_model_path(db, "thigh")
    assert path.exists() and str(path) in output
    personal = PostureModel.load(path)
    with Store.open(db, readonly=True) as store:
        examples = labelled_windows(store, personal, location="thigh")
    assert len(examples.labels) >= 3 * 6
    assert agreement(personal, examples) >= 0.8


def test_a_routine_not_done_as_asked_saves_nothing(tmp_path: Path) -> None:
    db = tmp_path / "tracker.sqlite"
    code, output = run_calibration(db, follows_prompts=False)
    assert code == 2, output
    assert "nothing was saved" in output
    assert "WALKING: the band did not move like walking" in output
    assert "Traceback" not in output
    assert not personal_model_path(db, "thigh").exists()
    with Store.open(db, readonly=True) as store:
        assert store.labels(source="calibration").empty
        assert store.raw_sample_count() > 0  # the samples themselves are kept


def test_a_correction_then_train_personal_reports_before_and_after(
        calibrated: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = calibrated
    with Store.open(db) as store:
        spans = store.labels(source="calibration")
        sitting = spans[spans["label"] == "sitting"].iloc[0]
        # The wearer says the sitting phase was standing: the refit must learn it.
        store.add_label(sitting["start_s"], sitting["end_s"], "standing", "correction",
                        location="thigh")
    before = personal_model_path(db, "thigh").stat().st_mtime_ns
    assert cli_main(["train", "--personal", "--location", "thigh", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "On the corrections" in out and "labelled" in out
    # Left out of the fit, the correction is contradicted by the calibration's sitting
    # phase (the same samples): the held-out figure says what a new span would get.
    held_out = re.search(r"Fitted without the span each window is in, it labels "
                         r"([\d.]+)% as stated", out)
    assert held_out is not None and float(held_out[1]) < 50, out
    assert personal_model_path(db, "thigh").stat().st_mtime_ns != before


def test_train_personal_without_stated_postures_says_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "empty.sqlite"
    Store.open(db).close()
    assert cli_main(["train", "--personal", "--location", "thigh", "--db", str(db)]) == 2
    assert "sitting-tracker calibrate" in capsys.readouterr().err


def test_phases_shorter_than_the_settling_time_are_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["calibrate", "--db", str(tmp_path / "s.sqlite"), "--seconds", "5"]) == 2
    assert "at least 40 s" in capsys.readouterr().err


def test_train_personal_on_a_postgresql_store(pg_url: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A study's shared store: the stated postures and raw samples come from the server,
    the personal model goes to this computer's user data folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    start = 1.7e9
    with Store.open(pg_url) as store:
        for number, posture in enumerate(("sitting", "standing", "walking")):
            material = posture_material("thigh", posture, RATE_HZ)[:round(60 * RATE_HZ)]
            t = start + number * 70 + np.arange(len(material)) / RATE_HZ
            store.add_raw(t, material, participant="P017", device="band")
            store.add_label(t[0] + 5, t[-1], posture, "calibration", location="thigh",
                            participant="P017")
    config = tmp_path / "config.toml"
    config.write_text('[tracker]\nparticipant = "P017"\n')
    assert cli_main(["train", "--personal", "--location", "thigh", "--db", pg_url,
                     "--config", str(config)]) == 0
    out = capsys.readouterr().out
    path = personal_model_path(pg_url, "thigh", "P017")
    assert str(tmp_path / "data") in str(path) and path.exists(), out
    assert "fitting on" in out and "sitting 11" in out
