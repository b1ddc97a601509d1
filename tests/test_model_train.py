"""Training: exact resume, gloo DDP with 2 processes, eval and zoom, and bad input through the CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from srraw.errors import SrrawError
from srraw_model.config import TrainConfig
from srraw_model.config import load as load_config
from srraw_model.train import train
from tests.conftest import ROOT, run_srraw
from tests.test_model_util import shared_dataset

TINY = dict(
    zoom=4,
    width=8,
    blocks=2,
    crop=8,
    batch=2,
    rgb_stride=4,
    cobi_vgg=0.0,
    samples_per_epoch=8,  # 4 steps an epoch: resuming crosses an epoch boundary
    log_every=1,
    val_every=4,
    lr=1e-3,
    tile=32,
    overlap=8,
)
TINY_ARGS = [a for k, v in TINY.items() for a in (f"--{k.replace('_', '-')}", str(v))]


@pytest.fixture
def data(tmp_path_factory) -> Path:
    return shared_dataset(tmp_path_factory)


def _losses(run: Path) -> dict[int, float]:
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in lines if "loss" in r}


def test_resume_continues_exactly(data, tmp_path):
    cfg = TrainConfig(manifest=str(data), cache_dir=str(tmp_path / "cache"), steps=6, **TINY)
    train(cfg, tmp_path / "straight", progress=False)
    train(cfg, tmp_path / "resumed", progress=False, stop_after=3)
    assert set(_losses(tmp_path / "resumed")) == {1, 2, 3}
    train(cfg, tmp_path / "resumed", resume=True, progress=False)
    straight, resumed = _losses(tmp_path / "straight"), _losses(tmp_path / "resumed")
    assert sorted(resumed) == list(range(1, 7))
    assert resumed == straight  # the same curve, step for step
    assert len(set(straight.values())) > 1
    with pytest.raises(SrrawError, match="already holds a checkpoint"):
        train(cfg, tmp_path / "straight", progress=False)
    other = TrainConfig(**{**cfg.__dict__, "zoom": 8})
    with pytest.raises(SrrawError, match="4X model"):
        train(other, tmp_path / "straight", resume=True, progress=False)


def test_validation_is_logged_beside_bicubic(data, tmp_path):
    cfg = TrainConfig(manifest=str(data), cache_dir=str(tmp_path / "cache"), steps=4, **TINY)
    last = train(cfg, tmp_path / "run", progress=False)
    assert {"val_psnr", "val_ssim", "val_bicubic_psnr"} <= set(last)
    assert 10 < last["val_bicubic_psnr"] < 60
    assert (tmp_path / "run" / "best.pt").is_file()


@pytest.fixture
def trained(data, tmp_path_factory) -> Path:
    """A tiny trained checkpoint, made once and shared by the eval and zoom tests."""
    run = tmp_path_factory.getbasetemp() / "model-tiny-run"
    if not (run / "checkpoint.pt").is_file():
        cfg = TrainConfig(
            manifest=str(data), cache_dir=str(run.parent / "tiny-cache"), steps=2, **TINY
        )
        train(cfg, run, progress=False)
    return run / "checkpoint.pt"


def test_eval_writes_model_and_bicubic_per_pair(data, trained, tmp_path):
    out = tmp_path / "eval.csv"
    result = run_srraw(
        "eval", "--manifest", str(data), "--checkpoint", str(trained), "--out", str(out),
        "--tile", "32", "--overlap", "8", "--no-progress", "--cache-dir", str(tmp_path / "c"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out, dtype={"sequence": str})
    assert set(table.method) == {"model", "bicubic"}
    assert (table.groupby("method").size() == table.groupby("method").size().iloc[0]).all()
    assert set(table.sequence) == {"00003"}  # the test split only
    assert table.psnr.notna().all() and table.lpips.isna().all()
    assert "bicubic" in result.stdout and "model" in result.stdout


def test_zoom_writes_png_of_2z_size(data, trained, tmp_path):
    raw = data.parent / "00003" / "00006.DNG"
    for bits, dtype in (("8", np.uint8), ("16", np.uint16)):
        out = tmp_path / f"z{bits}.png"
        result = run_srraw(
            "zoom", str(raw), "--checkpoint", str(trained), "--out", str(out),
            "--region", "100,60,40,30", "--bits", bits, "--tile", "16", "--overlap", "4",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        image = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
        assert image.dtype == dtype and image.shape == (30 * 4, 40 * 4, 3)
    bad = run_srraw("zoom", str(raw), "--checkpoint", str(trained), "--out", str(tmp_path / "x.png"), "--region", "0,0,10000,10")  # fmt: skip
    assert bad.returncode == 2 and "not inside" in bad.stderr


def _one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_cli_bad_input_is_one_line(data, trained, tmp_path):
    # CoBi_VGG asked for (the default) with no weights: where to get them, which option.
    _one_line_error(
        run_srraw("train", "--manifest", str(data), "--out", str(tmp_path / "r"), "--no-progress"),
        "--vgg-weights",
        "download.pytorch.org",
    )
    # a checkpoint of another zoom factor
    _one_line_error(
        run_srraw("eval", "--manifest", str(data), "--checkpoint", str(trained), "--zoom", "8"),
        "4X model",
    )
    # an empty selection
    _one_line_error(
        run_srraw("eval", "--manifest", str(data), "--checkpoint", str(trained), "--max-residual-px", "0.000001"),
        "no usable pairs",
    )  # fmt: skip
    # a config key that does not exist
    config = tmp_path / "c.toml"
    config.write_text("[optim]\nbatchh = 3\n")
    _one_line_error(
        run_srraw("train", "--manifest", str(data), "--out", str(tmp_path / "r"), "--config", str(config)),
        "did you mean 'batch'",
    )  # fmt: skip
    _one_line_error(
        run_srraw("zoom", str(tmp_path / "absent.dng"), "--checkpoint", str(trained), "--out", str(tmp_path / "o.png")),
        "no such file",
    )  # fmt: skip


def test_config_file_then_overrides(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        'manifest = "m"\n[net]\nwidth = 32\nblocks = 4\n[loss]\ncobi-variant = "contextual"\n'
    )
    cfg = load_config(config, {"blocks": 8, "width": None})
    assert (cfg.width, cfg.blocks, cfg.cobi_variant, cfg.manifest) == (32, 8, "contextual", "m")
    with pytest.raises(SrrawError, match="input"):
        load_config(None, {"input": "jpeg"})


def test_ddp_gloo_two_processes(data, tmp_path):
    """torchrun, 2 CPU processes, gloo: replicas stay identical and the run checkpoints once."""
    out = tmp_path / "ddp"
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "srraw.cli", "train", "--manifest", str(data), "--out", str(out), "--steps", "3",
        "--cache-dir", str(tmp_path / "cache"), "--no-progress", "--device", "cpu", *TINY_ARGS,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3]  # rank 0 alone writes
    assert all(r["world"] == 2 for r in records if "world" in r)
    assert records[-1]["replicas_agree"] is True
    assert (out / "checkpoint.pt").is_file()
