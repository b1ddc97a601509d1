"""Slow: a short CPU run on synthetic pairs beats bicubic PSNR on held-out pairs."""

from pathlib import Path

import pytest

from srraw_model.config import TrainConfig
from srraw_model.evaluate import evaluate, summary
from srraw_model.train import train


@pytest.mark.slow
def test_short_run_beats_bicubic(tmp_path: Path):
    from srraw.synth.cli import synthesize
    from srraw_prep.config import PrepConfig
    from srraw_prep.run import prep

    data = tmp_path / "data"
    synthesize("simulated", data, 6, 3, None, progress=False)
    splits = {f"{i:05d}": "test" if i == 6 else "train" for i in range(1, 7)}
    prep(data, data / "manifests", PrepConfig(zooms=(4,)), split_overrides=splits, progress=False)
    cfg = TrainConfig(
        manifest=str(data / "manifests"),
        steps=400,
        width=32,
        blocks=4,
        crop=24,
        batch=4,
        lr=1e-3,
        rgb_stride=3,
        cobi_vgg=0.0,
        l1=1.0,
        input_skip=True,
        samples_per_epoch=400,
        log_every=50,
    )
    train(cfg, tmp_path / "run", progress=False)
    table = evaluate(data / "manifests", tmp_path / "run" / "checkpoint.pt")
    means = summary(table)
    print(means.to_string())
    model, bicubic = means.loc["model", "psnr"], means.loc["bicubic", "psnr"]
    print(f"PSNR on held-out pairs: model {model:.2f} dB, bicubic {bicubic:.2f} dB")
    assert model > bicubic
