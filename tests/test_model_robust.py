"""train / eval / zoom tried as a new user would: every refusal one line naming the problem."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from srraw.errors import SrrawError
from srraw_model.config import TrainConfig, load_resumed
from srraw_model.config import load as load_config
from srraw_model.train import train
from tests.conftest import ROOT, run_srraw
from tests.test_model_train import TINY, TINY_ARGS, _one_line_error, data, trained  # noqa: F401


def test_garbage_vgg_file_is_one_line_without_torch_advice(data, tmp_path):  # noqa: F811
    garbage = tmp_path / "vgg19.pth"
    garbage.write_bytes(bytes(range(256)) * 40)
    result = run_srraw(
        "train", "--manifest", str(data), "--out", str(tmp_path / "r"), "--no-progress",
        "--vgg-weights", str(garbage),
    )  # fmt: skip
    _one_line_error(result, str(garbage), "not a torch file", "--vgg-weights")
    assert "weights_only" not in result.stderr
    truncated = tmp_path / "cut.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    result = run_srraw(
        "train", "--manifest", str(data), "--out", str(tmp_path / "r"), "--no-progress",
        "--vgg-weights", str(truncated),
    )  # fmt: skip
    _one_line_error(result, str(truncated), "damaged or truncated")


def test_odd_region_is_refused(data, trained, tmp_path):  # noqa: F811
    raw = data.parent / "00003" / "00006.DNG"
    out = tmp_path / "z.png"
    result = run_srraw(
        "zoom", str(raw), "--checkpoint", str(trained), "--out", str(out),
        "--region", "101,60,40,30",
    )  # fmt: skip
    _one_line_error(result, "--region", "x must be even", "try 100,60,40,30")
    assert not out.exists()


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('[net]\nwidth = "wide"\n', "setting 'width': expected an integer, got 'wide'"),
        ('lr = "fast"\n', "setting 'lr': expected a number"),
        ("flips = 1\n", "setting 'flips': expected true or false"),
        ("statuses = [1, 2]\n", "setting 'statuses': expected a list of strings"),
        ("cobi_sample = 6.5\n", "setting 'cobi_sample': expected an integer (or left out)"),
        ("width = 0\n", "width >= 1"),
    ],
)
def test_config_values_are_type_checked(tmp_path, toml, needle):
    config = tmp_path / "c.toml"
    config.write_text(toml)
    with pytest.raises(SrrawError) as info:
        load_config(config, {})
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_config_type_error_through_the_cli(data, tmp_path):  # noqa: F811
    config = tmp_path / "c.toml"
    config.write_text('[net]\nwidth = "wide"\n')
    result = run_srraw(
        "train", "--manifest", str(data), "--out", str(tmp_path / "r"), "--config", str(config)
    )
    _one_line_error(result, str(config), "'width'", "integer")


def test_config_numbers_and_lists(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('lr = 1\nstatuses = ["ok"]\n')
    cfg = load_config(config, {"statuses": "ok,flagged"})
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)
    assert cfg.statuses == ("ok", "flagged")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_one_line(data, trained, tmp_path):  # noqa: F811
    train = run_srraw(
        "train", "--manifest", str(data), "--out", str(tmp_path / "r"), "--device", "cuda",
        "--cobi-vgg", "0",
    )  # fmt: skip
    _one_line_error(train, "--device cuda", "CUDA is not available", "--device cpu")
    raw = data.parent / "00003" / "00006.DNG"
    zoom = run_srraw(
        "zoom", str(raw), "--checkpoint", str(trained), "--out", str(tmp_path / "z.png"),
        "--device", "cuda:0",
    )  # fmt: skip
    _one_line_error(zoom, "--device cuda:0", "CUDA is not available")
    bad = run_srraw(
        "train", "--manifest", str(data), "--out", str(tmp_path / "r"), "--device", "gpu"
    )
    _one_line_error(bad, "--device 'gpu'", "expected auto, cpu, cuda")


def test_fp16_on_cpu_is_refused(data, tmp_path):  # noqa: F811
    result = run_srraw(
        "train", "--manifest", str(data), "--out", str(tmp_path / "r"), "--device", "cpu",
        "--amp", "fp16", "--cobi-vgg", "0",
    )  # fmt: skip
    _one_line_error(result, "--amp fp16 on the CPU", "--amp none")
    assert not (tmp_path / "r").exists()


# --- interruption, resume from config.json ---------------------------------------------------


def _cli_train(*args: str) -> list[str]:
    return [sys.executable, "-m", "srraw.cli", "train", "--no-progress", *args]


LONG = ("--steps", "100000", "--val-every", "100000", "--ckpt-every", "100000")


def _tiny(manifests: Path, run: Path, cache: Path, *extra: str) -> list[str]:
    """`srraw train` of the tiny test network."""
    return _cli_train(
        "--manifest", str(manifests), "--out", str(run), "--cache-dir", str(cache), *TINY_ARGS,
        *extra,
    )  # fmt: skip


def _run(command: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def _losses(run: Path) -> dict[int, float]:
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in lines if "loss" in r}


@pytest.fixture
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "robust-cache"


def _interrupt(manifests: Path, run: Path, cache: Path, signum: int) -> tuple[int, str]:
    """Start a long tiny run, signal it after a few logged steps; (exit code, stderr)."""
    command = _tiny(manifests, run, cache, *LONG)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 240
        log = run / "metrics.jsonl"
        while not (log.is_file() and len(log.read_text().splitlines()) >= 3):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the run logged nothing in 240 s"
            time.sleep(0.05)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_saves_the_current_step_and_resume_goes_on_exactly(
    data,  # noqa: F811
    cache,
    tmp_path,
    signum,
    code,
):
    run = tmp_path / "run"
    rc, err = _interrupt(data, run, cache, signum)
    assert rc == code, err
    lines = [line for line in err.splitlines() if line.strip()]
    name = signal.Signals(signum).name
    assert lines[-1].startswith(f"train: {name} at step "), err
    assert f"checkpoint saved to {run / 'checkpoint.pt'}" in lines[-1]
    assert f"srraw train --out {run} --resume" in lines[-1]
    assert sum("checkpoint saved" in line for line in lines) == 1
    step = int(lines[-1].split(" at step ")[1].split(":")[0])
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["step"] == step >= 3
    assert max(_losses(run)) <= step
    if signum != signal.SIGTERM:
        return
    # Resumed with the run's own config.json, the curve goes on as if it had never stopped.
    cfg = load_resumed(run / "config.json", None, {})
    train(cfg, run, resume=True, progress=False, stop_after=3)
    train(cfg, tmp_path / "straight", progress=False, stop_after=step + 3)
    assert _losses(run) == _losses(tmp_path / "straight")
    assert sorted(_losses(run)) == list(range(1, step + 4))


def test_resume_refuses_a_changed_setting_in_one_line(data, cache, tmp_path):  # noqa: F811
    run = tmp_path / "run"
    train(load_config(None, {"manifest": str(data), "cache_dir": str(cache), "steps": 2, **TINY}), run, progress=False)  # fmt: skip
    saved = run / "config.json"
    before = saved.read_text()
    _one_line_error(run_srraw("train", "--out", str(run), "--resume", "--width", "32"), "--width 32", "trained with 8")  # fmt: skip
    with pytest.raises(SrrawError, match=r"--lr 0\.0005: this run was trained with 0\.001"):
        load_resumed(saved, None, {"lr": 5e-4})
    config = tmp_path / "c.toml"
    config.write_text("[net]\nblocks = 5\n")
    with pytest.raises(SrrawError, match="--blocks 5"):
        load_resumed(saved, config, {})
    assert saved.read_text() == before  # nothing written by a refusal
    assert load_resumed(saved, None, {"steps": 9}).steps == 9
    # --resume alone: the settings come from config.json (no --manifest), --steps may change.
    more = _run(_cli_train("--out", str(run), "--resume", "--steps", "4"))
    assert more.returncode == 0, more.stderr
    assert sorted(_losses(run)) == [1, 2, 3, 4]
    assert json.loads(saved.read_text())["steps"] == 4


def test_checkpoint_of_another_network_is_one_line(data, cache, tmp_path):  # noqa: F811
    cfg = TrainConfig(manifest=str(data), cache_dir=str(cache), steps=1, **TINY)
    train(cfg, tmp_path / "run", progress=False)
    wider = TrainConfig(**{**cfg.__dict__, "width": 12})
    with pytest.raises(SrrawError, match="network has width 8, not 12"):
        train(wider, tmp_path / "run", resume=True, progress=False)


# --- presets, first step, no validation split, LPIPS -----------------------------------------


def test_laptop_preset_and_first_step_time(data, cache, tmp_path, capsys):  # noqa: F811
    from srraw_model.config import PRESETS

    cfg = load_config(None, {"steps": 2}, preset="laptop")
    assert cfg.cobi_vgg == 0 and cfg.width == PRESETS["laptop"]["width"] and cfg.steps == 2
    assert load_config(None, {}, preset="paper") == TrainConfig()
    small = {"manifest": str(data), "cache_dir": str(cache), "steps": 2, "crop": 8, "batch": 2}
    train(load_config(None, small, preset="laptop"), tmp_path / "run", progress=False)
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "first step" in x)
    assert float(line.split("first step ")[1].split(" s")[0]) > 0
    assert "1 more at this pace" in line
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["width"] == PRESETS["laptop"]["width"] and saved["crop"] == 8


def _without_val(source: Path, tmp_path: Path) -> Path:
    """A copy of the manifests whose val pairs are train pairs: no val split."""
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    for name in ("frames.parquet", "pairs.parquet"):
        table = pq.read_table(source / name)  # the schema and its srraw metadata are kept
        frame = table.to_pandas()
        if "split" in frame:
            frame["split"] = frame["split"].replace("val", "train")
        pq.write_table(
            pa.Table.from_pandas(frame, table.schema, preserve_index=False), manifests / name
        )
    return manifests


def test_no_val_split_warns_and_keeps_best_by_training_loss(data, cache, tmp_path, capsys):  # noqa: F811
    manifests = _without_val(data, tmp_path)
    run = tmp_path / "run"
    cfg = TrainConfig(
        **{**TINY, "val_every": 2},
        manifest=str(manifests),
        dataset_root=str(data.parent),
        cache_dir=str(cache),
        steps=8,
    )
    train(cfg, run, progress=False)
    err = capsys.readouterr().err
    assert "no pairs in the val split" in err and "best.pt" in err
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    means = {r["step"]: r["train_loss_mean"] for r in records if "train_loss_mean" in r}
    assert sorted(means) == [2, 4, 6, 8]
    losses = _losses(run)
    assert means[4] == pytest.approx((losses[3] + losses[4]) / 2)
    best = torch.load(run / "best.pt", weights_only=False)
    assert best["best_by"] == "train_loss"
    assert best["step"] == min(means, key=means.get)
    assert not any(k.startswith("val_") for r in records for k in r)


def test_eval_without_lpips_files_says_why_nan(data, trained, tmp_path):  # noqa: F811
    result = run_srraw(
        "eval", "--manifest", str(data), "--checkpoint", str(trained), "--no-progress",
        "--tile", "32", "--overlap", "8", "--cache-dir", str(tmp_path / "c"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if "LPIPS" in x]
    assert "vgg16-397923af.pth" in line and "vgg.pth" in line and "--lpips-linear" in line


# --- zoom: progress, bounded memory -----------------------------------------------------------


@pytest.mark.parametrize("bits", [8, 16])
def test_png_written_in_bands_reads_back_exactly(tmp_path, bits):
    import cv2

    from srraw_model.png import PngWriter

    rng = np.random.default_rng(bits)
    dtype = np.uint8 if bits == 8 else np.uint16
    image = rng.integers(0, np.iinfo(dtype).max + 1, (37, 23, 3), dtype=dtype)
    image[:10] = image[:1]  # some smooth rows too
    path = tmp_path / "x.png"
    with open(path, "wb") as fh:
        writer = PngWriter(fh, 23, 37, bits)
        for start, stop in ((0, 5), (5, 6), (6, 30), (30, 37)):
            writer.write(image[start:stop])
        writer.close()
    back = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    assert back.dtype == dtype and np.array_equal(back, image)


def test_zoom_bands_are_bounded_and_progress_is_shown(data, trained, tmp_path):  # noqa: F811
    from srraw_model.evaluate import load_model
    from srraw_model.infer import infer, infer_bands

    model, kind, _ = load_model(trained)
    image = np.random.default_rng(0).random((40, 50, 4), dtype=np.float32)
    opts = dict(factor=model.factor, tile=16, overlap=4)
    bands = list(infer_bands(model, image, kind, (2.0, 1.0, 1.5), np.eye(3), **opts))
    assert len(bands) > 3 and max(b.shape[0] for b in bands) <= 16 * model.factor
    whole = infer(model, image, kind, (2.0, 1.0, 1.5), np.eye(3), **opts)
    assert np.array_equal(np.concatenate(bands), whole)
    raw = data.parent / "00003" / "00006.DNG"
    result = run_srraw(
        "zoom", str(raw), "--checkpoint", str(trained), "--out", str(tmp_path / "z.png"),
        "--region", "100,60,40,30", "--tile", "8", "--overlap", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "zoom: 100%" in result.stderr and "tile" in result.stderr
