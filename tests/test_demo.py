"""`srraw demo`, the README's first command: every stage on the simulated camera, resumable."""

import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import ROOT


def _demo(out, home, *extra):
    env = {**os.environ, "HOME": str(home), "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "srraw.cli", "demo", "--out", str(out), "--scenes", "2",
               "--steps", "6", "--size", "384x256", *extra]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)


@pytest.mark.slow
@pytest.mark.e2e
def test_demo_runs_every_stage_and_resumes(tmp_path):
    out = tmp_path / "demo"
    first = _demo(out, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    for path in ("dataset/captures.parquet", "manifests/pairs.parquet", "manifests/report.html",
                 "run/checkpoint.pt", "eval.csv", "zoomed.png"):  # fmt: skip
        assert (out / path).is_file(), path
    assert "demo ok" in first.stdout and "bicubic" in first.stdout and "model" in first.stdout
    table = pd.read_csv(out / "eval.csv")
    assert set(table["method"]) == {"bicubic", "model"} and table["psnr"].notna().all()
    # A rerun resumes: nothing captured again.
    again = _demo(out, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "2 sequences already on disk" in again.stdout
    assert sorted(p.name for p in (out / "dataset").glob("0*") if p.is_dir()) == ["00001", "00002"]
