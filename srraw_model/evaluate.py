"""`srraw eval`: the model beside bicubic on the test split, per pair and averaged (Table 1).

Each pair is evaluated on its whole box (the part of L the target covers), inferred in tiles;
a border of 2Z output pixels is left out of every metric, where neither method has context.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from srraw.errors import SrrawError
from srraw.files import atomic_path
from srraw_model import checkpoint
from srraw_model.dataset import prepared_pairs, whole_box
from srraw_model.geometry import mosaic_on_grid
from srraw_model.infer import infer
from srraw_model.metrics import Lpips, psnr, ssim
from srraw_model.network import NetConfig, ZoomNet


def load_model(path: str | os.PathLike[str], zoom: int | None = None) -> tuple[ZoomNet, str, dict]:
    """(model in eval mode, input kind, checkpoint) from a checkpoint file."""
    state = checkpoint.load(path, zoom=zoom)
    net = dict(state["net"])
    net["cfa_offsets"] = tuple(tuple(o) for o in net.get("cfa_offsets", NetConfig.cfa_offsets))
    model = ZoomNet(NetConfig(**net))
    model.load_state_dict(state["model"])
    model.eval()
    return model, state["input"], state


def evaluate(
    manifest: str | os.PathLike[str],
    checkpoint_path: str | os.PathLike[str],
    *,
    zoom: int | None = None,
    split: str = "test",
    dataset_root: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    statuses: Sequence[str] = ("ok", "flagged"),
    max_residual_px: float | None = None,
    lpips: Lpips | None = None,
    tile: int = 128,
    overlap: int = 24,
    device: str = "cpu",
    progress: bool = False,
) -> pd.DataFrame:
    """One row per (pair, method): sequence, frames, method, psnr, ssim, lpips."""
    from tqdm import tqdm

    model, kind, state = load_model(checkpoint_path, zoom)
    zoom = state["net"]["zoom"]
    model.to(device)
    cached = prepared_pairs(
        manifest, split, zoom, dataset_root, cache_dir, max_residual_px, statuses
    )
    factor = 2 * zoom
    rows = []
    for cp in tqdm(cached, desc="eval", unit="pair", disable=not progress):
        item = whole_box(cp, kind)
        target = item["target"].astype(np.float32) / 255.0
        size = (target.shape[1], target.shape[0])
        outputs = {
            "model": infer(
                model,
                item["input"],
                kind,
                cp.pair.wb,
                cp.pair.ccm(),
                factor=factor,
                tile=tile,
                overlap=overlap,
                device=device,
            ),
            "bicubic": np.clip(mosaic_on_grid(item["baseline"], zoom, 0, 0, size), 0, 1),
        }
        b = factor
        if target.shape[0] <= 2 * b + 16 or target.shape[1] <= 2 * b + 16:
            raise SrrawError(f"pair {cp.pair.name}: box too small to evaluate", cp.pair.raw_l)
        crop = (slice(b, -b), slice(b, -b))
        for method, image in outputs.items():
            rows.append(
                {
                    "sequence": cp.pair.sequence,
                    "frame_l": cp.pair.frame_l,
                    "frame_h": cp.pair.frame_h,
                    "zoom": zoom,
                    "method": method,
                    "input": kind,
                    "psnr": psnr(image[crop], target[crop]),
                    "ssim": ssim(image[crop], target[crop]),
                    "lpips": lpips(image[crop], target[crop]) if lpips else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean of each metric per method, model first (the paper's Table 1 layout)."""
    means = table.groupby("method")[["psnr", "ssim", "lpips"]].mean()
    means["pairs"] = table.groupby("method").size()
    return means.reindex([m for m in ("bicubic", "model") if m in means.index])


def write_table(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """CSV or Parquet by the suffix, written atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise SrrawError("output must end in .csv or .parquet", path)
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
    return path
