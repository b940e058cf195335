"""`classify` as a researcher pipes it: the windows on stdout, the summary apart."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "samples" / "waist-hapt-subject01.csv"


def test_windows_written_to_stdout_are_not_mixed_with_the_summary(tmp_path: Path) -> None:
    to_file = tmp_path / "labels.csv"
    command = [sys.executable, "-m", "tracker.cli", "classify", str(SAMPLE), "--location",
               "waist"]
    subprocess.run([*command, "-o", str(to_file)], check=True, capture_output=True)
    piped = subprocess.run([*command, "-o", "/dev/stdout"], check=True, capture_output=True,
                           text=True, cwd=REPO)
    assert piped.stdout == to_file.read_text()
    assert "Longest sitting bout" in piped.stderr
    assert len(pd.read_csv(io.StringIO(piped.stdout))) > 50
