"""Training configuration: defaults, a TOML file, then command-line overrides (no torch here)."""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from pathlib import Path
from typing import Any

from srraw.errors import SrrawError


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a training run; TOML keys are these names (sections are only grouping)."""

    # data
    manifest: str = ""
    dataset_root: str | None = None
    cache_dir: str | None = None
    zoom: int = 4
    input: str = "raw"  # raw | rgb | syn-raw
    max_residual_px: float | None = None
    statuses: tuple[str, ...] = ("ok", "flagged")
    crop: int = 64  # packed px
    margin: int = 0  # target px beyond the crop on each side, for misalignment
    flips: bool = True
    syn_noise: float = 0.02  # syn-raw: noise sigma drawn from U(0, syn_noise)
    samples_per_epoch: int = 1024
    workers: int = 0
    # network
    width: int = 64
    blocks: int = 16
    upsample: str = "deconv"
    input_skip: bool = False
    # loss
    cobi_variant: str = "paper"  # paper | contextual
    w_s: float = 0.1
    bandwidth: float = 0.5
    cobi_chunk: int = 1024
    cobi_sample: int | None = None
    cobi_rgb: float = 1.0
    rgb_patch: int | None = None
    rgb_stride: int = 2
    cobi_vgg: float = 1.0  # lambda; 0 trains with CoBi_RGB alone
    vgg_weights: str | None = None
    l1: float = 0.0
    # optimisation
    batch: int = 8
    steps: int = 100_000
    lr: float = 1e-4
    lr_final: float = 0.1  # cosine decay to lr * lr_final
    grad_clip: float | None = None
    amp: str = "none"  # none | bf16 | fp16
    seed: int = 0
    device: str = "auto"
    # bookkeeping
    log_every: int = 20
    val_every: int = 1000
    val_pairs: int = 8
    ckpt_every: int = 1000
    tile: int = 128  # packed px per inference tile (validation, eval, zoom)
    overlap: int = 24


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def _flatten(table: dict[str, Any], path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flatten(value, path))
        else:
            out[key.replace("-", "_")] = value
    return out


def check_keys(values: dict[str, Any], source: str | os.PathLike[str]) -> None:
    for key in values:
        if key not in FIELDS:
            close = difflib.get_close_matches(key, FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SrrawError(f"unknown setting {key!r}{hint}", source)


def load(path: str | os.PathLike[str] | None, overrides: dict[str, Any]) -> TrainConfig:
    """Defaults <- TOML file <- overrides (only the options given on the command line)."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            values = _flatten(tomllib.loads(path.read_text()), path)
        except FileNotFoundError as exc:
            raise SrrawError("no such config file", path) from exc
        except tomllib.TOMLDecodeError as exc:
            raise SrrawError(f"not valid TOML: {exc}", path) from exc
        check_keys(values, path)
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "statuses" in values:
        values["statuses"] = tuple(values["statuses"])
    cfg = TrainConfig(**values)
    validate(cfg)
    return cfg


def validate(cfg: TrainConfig) -> None:
    from srraw_model.inputs import INPUT_KINDS

    checks = [
        (
            cfg.input in INPUT_KINDS,
            f"input {cfg.input!r}: expected one of {', '.join(INPUT_KINDS)}",
        ),
        (cfg.cobi_variant in ("paper", "contextual"), "cobi_variant: expected paper or contextual"),
        (
            cfg.upsample in ("deconv", "pixelshuffle", "nearest"),
            "upsample: deconv, pixelshuffle or nearest",
        ),
        (cfg.amp in ("none", "bf16", "fp16"), "amp: none, bf16 or fp16"),
        (cfg.zoom in (2, 4, 8, 16), "zoom: 2, 4, 8 or 16"),
        (cfg.crop >= 4 and cfg.batch >= 1 and cfg.steps >= 0, "crop >= 4, batch >= 1, steps >= 0"),
        (cfg.tile > 2 * cfg.overlap, "tile must exceed twice the overlap"),
    ]
    for ok, message in checks:
        if not ok:
            raise SrrawError(f"bad setting: {message}")


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    data = dataclasses.asdict(cfg)
    data["statuses"] = list(cfg.statuses)
    return data
