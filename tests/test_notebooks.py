"""The analysis notebooks run top to bottom and still show what their text says.

Each notebook is executed in memory (the committed copies, with the outputs of the full
run, are left alone) on a kernel of this interpreter, with the cell tagged `parameters`
switched to its quick setting where it has one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
ipykernel_kernelspec = pytest.importorskip("ipykernel.kernelspec")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
KERNEL = "sitting-tracker-notebooks"
VEGA_LITE = "application/vnd.vegalite.v6+json"


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A kernelspec that starts this very interpreter, found first on JUPYTER_PATH."""
    prefix = tmp_path_factory.mktemp("jupyter")
    ipykernel_kernelspec.install(kernel_name=KERNEL, prefix=str(prefix))
    # One thread per kernel: the tiny quick fits gain nothing from more, and OpenMP
    # threads spinning against a busy machine cost a lot.
    return {"JUPYTER_PATH": str(prefix / "share" / "jupyter"), "OMP_NUM_THREADS": "1"}


def run(name: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        quick: str | None = None) -> tuple[object, str]:
    """Execute notebooks/<name>; returns the notebook and all its text output."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in notebook.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            assert quick is not None, f"{name} has a parameters cell but no quick setting"
            cell.source = quick
    client = nbclient.NotebookClient(notebook, kernel_name=KERNEL, timeout=300,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{name}: {output.get('ename')}"
            if output["output_type"] == "stream":
                texts.append(output["text"])
            elif "text/plain" in output.get("data", {}):
                texts.append(output["data"]["text/plain"])
    return notebook, "\n".join(texts)


def charts(notebook: object) -> int:
    return sum(VEGA_LITE in output.get("data", {})
               for cell in notebook.cells for output in cell.get("outputs", []))


def number(pattern: str, text: str) -> float:
    found = re.search(pattern, text, flags=re.MULTILINE)
    assert found, f"no match for {pattern!r}"
    return float(found.group(1))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_data_notebook_shows_the_posture_angles(kernel_env, monkeypatch) -> None:
    notebook, text = run("01_data.ipynb", kernel_env, monkeypatch)
    assert charts(notebook) >= 7
    angle = {(place, posture): number(rf"{place}: median angle .*?{posture} (-?[\d.]+)°", text)
             for place in ("waist", "wrist", "thigh") for posture in ("sitting", "standing")}
    # The thigh turns by tens of degrees; the pelvis leans a little further when sitting;
    # the stated wrist blocks rest the forearm flat when sitting and let it hang standing.
    assert angle["thigh", "standing"] - angle["thigh", "sitting"] > 20
    assert angle["waist", "sitting"] > angle["waist", "standing"]
    assert angle["wrist", "sitting"] - angle["wrist", "standing"] > 30


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_training_notebook_quick_run_scores_every_placement(kernel_env, monkeypatch) -> None:
    notebook, text = run("02_training.ipynb", kernel_env, monkeypatch, quick="QUICK = True")
    assert "QUICK run" in text
    assert charts(notebook) >= 2
    rows = dict(re.findall(r"^\| (waist|wrist|thigh) \| \d+ \| \d+ \| ([\d.]+) \|", text,
                           flags=re.MULTILINE))
    assert set(rows) == {"waist", "wrist", "thigh"}
    # Quick run (8 subjects, 2 folds, 10 rounds) measured waist 0.940, wrist 0.936 and
    # thigh 0.802 (two of its eight subjects are the pocket phones that did not follow the
    # thigh); the full run scores 0.92-0.96.
    floor = {"waist": 0.85, "wrist": 0.85, "thigh": 0.7}
    for placement, macro_f1 in rows.items():
        assert float(macro_f1) > floor[placement], placement


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_day_notebook_follows_the_truth(kernel_env, monkeypatch) -> None:
    notebook, text = run("03_day.ipynb", kernel_env, monkeypatch)
    assert charts(notebook) >= 1
    assert number(r"agreement with truth: ([\d.]+)", text) > 0.95  # measured 0.998
    for kind in ("nudge", "reminder", "break"):
        tracker = number(rf"^{kind}: tracker (\d+)", text)
        truth = number(rf"^{kind}: tracker \d+, truth (\d+)", text)
        assert truth > 0 and abs(tracker - truth) <= 1, kind
