"""Training configuration: defaults, a TOML file, then command-line overrides (no torch here)."""

from __future__ import annotations

import dataclasses
import difflib
import json
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


KINDS = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}


def _typed(key: str, value: Any, source: str | os.PathLike[str] | None) -> Any:
    """`value` checked against the field's annotation (ints accepted as floats; a tuple of
    strings from a list or a comma-separated string); one line naming the setting if not."""
    kind = str(FIELDS[key].type).replace(" ", "")
    optional = kind.endswith("|None")
    kind = kind.removesuffix("|None")
    if value is None and optional:
        return None
    if kind == "tuple[str,...]":
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list | tuple) and all(isinstance(v, str) for v in items):
            return tuple(v.strip() for v in items if v.strip())
        expected = "a list of strings"
    else:
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "str": isinstance(value, str),
            "bool": isinstance(value, bool),
        }[kind]
        if ok:
            return float(value) if kind == "float" else value
        expected = KINDS[kind]
    if optional:
        expected += " (or left out)"
    where = f"{source}: " if source is not None else ""
    raise SrrawError(f"{where}setting {key!r}: expected {expected}, got {value!r}")


def typed(values: dict[str, Any], source: str | os.PathLike[str] | None) -> dict[str, Any]:
    check_keys(values, source or "settings")
    return {key: _typed(key, value, source) for key, value in values.items()}


# Settings a resumed run may change: how long it runs, how often it logs and saves, where the
# data and cache are, and how it runs; anything else would make the run another run.
RESUMABLE = (
    "steps",
    "log_every",
    "val_every",
    "val_pairs",
    "ckpt_every",
    "workers",
    "device",
    "tile",
    "overlap",
    "manifest",
    "dataset_root",
    "cache_dir",
)

# Named starting points, applied under a TOML file and command-line options.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},  # the defaults: the paper's settings, for a GPU
    # A laptop CPU: a small network, CoBi_RGB alone (no VGG file needed) on sampled points,
    # small crops; minutes for its 300 steps (see README for the measured step time).
    "laptop": {
        "width": 16,
        "blocks": 4,
        "crop": 24,
        "batch": 4,
        "cobi_vgg": 0.0,
        "cobi_sample": 32,
        "input_skip": True,
        "steps": 300,
        "lr": 5e-4,
        "log_every": 10,
        "val_every": 100,
        "ckpt_every": 100,
        "samples_per_epoch": 256,
        "tile": 64,
        "overlap": 12,
    },
}


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(path)
    try:
        values = _flatten(tomllib.loads(path.read_text()), path)
    except FileNotFoundError as exc:
        raise SrrawError("no such config file", path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SrrawError(f"not valid TOML: {exc}", path) from exc
    return typed(values, path)


def load(
    path: str | os.PathLike[str] | None,
    overrides: dict[str, Any],
    preset: str | None = None,
) -> TrainConfig:
    """Defaults <- preset <- TOML file <- overrides (only the options given on the command line)."""
    if preset is not None and preset not in PRESETS:
        raise SrrawError(f"--preset {preset!r}: expected one of {', '.join(PRESETS)}")
    values: dict[str, Any] = dict(PRESETS[preset]) if preset else {}
    if path is not None:
        values.update(read_toml(path))
    values.update(typed({k: v for k, v in overrides.items() if v is not None}, None))
    cfg = TrainConfig(**values)
    validate(cfg)
    return cfg


def load_resumed(
    saved: str | os.PathLike[str],
    path: str | os.PathLike[str] | None,
    overrides: dict[str, Any],
    preset: str | None = None,
) -> TrainConfig:
    """A run's config.json <- TOML file <- overrides; a change to a setting outside RESUMABLE is
    refused in one line naming it."""
    saved = Path(saved)
    try:
        values = json.loads(saved.read_text())
    except (OSError, ValueError) as exc:
        raise SrrawError(f"not a readable run config ({exc})", saved) from exc
    if not isinstance(values, dict):
        raise SrrawError("not a run config (expected a JSON object)", saved)
    before = TrainConfig(**typed(values, saved))
    if preset is not None:
        raise SrrawError(f"--preset {preset}: a resumed run keeps the settings in {saved}")
    changes = read_toml(path) if path is not None else {}
    changes.update(typed({k: v for k, v in overrides.items() if v is not None}, None))
    cfg = dataclasses.replace(before, **changes)
    validate(cfg)
    for key in FIELDS:
        old, new = getattr(before, key), getattr(cfg, key)
        if old != new and key not in RESUMABLE:
            option = "--" + key.replace("_", "-")
            raise SrrawError(
                f"{option} {new!r}: this run was trained with {old!r} ({saved}); on --resume only "
                f"{', '.join('--' + k.replace('_', '-') for k in RESUMABLE)} may change "
                "(use another --out for a new run)"
            )
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
        (cfg.width >= 1 and cfg.blocks >= 0, "width >= 1, blocks >= 0"),
        (cfg.margin >= 0 and cfg.workers >= 0, "margin >= 0, workers >= 0"),
        (cfg.samples_per_epoch >= 1, "samples_per_epoch >= 1"),
        (cfg.lr > 0 and 0 <= cfg.lr_final <= 1, "lr > 0, 0 <= lr_final <= 1"),
        (cfg.w_s >= 0 and cfg.bandwidth > 0, "w_s >= 0, bandwidth > 0"),
        (cfg.cobi_chunk >= 1, "cobi_chunk >= 1"),
        (cfg.cobi_sample is None or cfg.cobi_sample >= 1, "cobi_sample >= 1"),
        (cfg.rgb_patch is None or cfg.rgb_patch >= 1, "rgb_patch >= 1"),
        (cfg.rgb_stride >= 1, "rgb_stride >= 1"),
        (min(cfg.cobi_rgb, cfg.cobi_vgg, cfg.l1, cfg.syn_noise) >= 0, "loss weights >= 0"),
        (cfg.grad_clip is None or cfg.grad_clip > 0, "grad_clip > 0"),
        (
            min(cfg.log_every, cfg.val_every, cfg.ckpt_every) >= 1 and cfg.val_pairs >= 0,
            "log_every, val_every, ckpt_every >= 1, val_pairs >= 0",
        ),
        (cfg.tile > 2 * cfg.overlap, "tile must exceed twice the overlap"),
        (cfg.overlap >= 0, "overlap >= 0"),
    ]
    for ok, message in checks:
        if not ok:
            raise SrrawError(f"bad setting: {message}")


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    data = dataclasses.asdict(cfg)
    data["statuses"] = list(cfg.statuses)
    return data
