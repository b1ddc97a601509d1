"""train / eval / zoom tried as a new user would: every refusal one line naming the problem."""

from __future__ import annotations

import pytest
import torch

from srraw.errors import SrrawError
from srraw_model.config import load as load_config
from tests.conftest import run_srraw
from tests.test_model_train import _one_line_error, data, trained  # noqa: F401  (fixtures)


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
