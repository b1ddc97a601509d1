"""The true error of a pair's map on synthetic data, from the sequence's truth.json.

A pair's map sends each RGB-H pixel to the RAW-L mosaic pixel it images; truth.json says where
that pixel really is (srraw.synth.truth, per layer in depth scenes). The error is their distance
over a lattice of target pixels, in target (H) pixels: L pixels divided by the map's scale.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from srraw.pairmap import PairMap
from srraw.synth.truth import true_h_to_l

LATTICE = (24, 16)  # target pixels across x down: cell centres of a 24 x 16 grid


@dataclasses.dataclass(frozen=True)
class TrueError:
    mean_px: float  # target px, mean over the lattice
    p95_px: float
    max_px: float
    scene_kind: str


def lattice(size_h: tuple[int, int], shape: tuple[int, int] = LATTICE) -> np.ndarray:
    """(ny, nx, 2) RGB-H pixel coordinates at the centres of an nx x ny grid of cells."""
    nx, ny = shape
    xs = (np.arange(nx) + 0.5) * size_h[0] / nx - 0.5
    ys = (np.arange(ny) + 0.5) * size_h[1] / ny - 0.5
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx, gy], axis=-1)


def pair_true_error(
    truth: dict, frame_l: int, frame_h: int, pair_map: PairMap, shape: tuple[int, int] = LATTICE
) -> TrueError:
    points = lattice(pair_map.size_h, shape)
    truth_l = true_h_to_l(truth, frame_l, frame_h, points)
    scale = float(np.sqrt(abs(np.linalg.det(pair_map.h_to_l[:2, :2]))))
    error = np.linalg.norm(pair_map(points) - truth_l, axis=-1) / scale
    return TrueError(
        float(error.mean()),
        float(np.percentile(error, 95)),
        float(error.max()),
        truth.get("scene_kind", "normal"),
    )


def read_truth(path: Path) -> dict | None:
    """A sequence's truth.json, or None when it has none (real data) or it cannot be read."""
    try:
        truth = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return truth if isinstance(truth, dict) and isinstance(truth.get("frames"), list) else None


def true_errors(pairs: list[dict], frames: list[dict], root: Path) -> dict[int, TrueError]:
    """True error per aligned pair (keyed by the row's position in `pairs`) whose sequence
    folder under `root` holds a truth.json; pairs of real sequences are left out."""
    sizes = {
        (f["sequence"], f["frame"]): (f["jpeg_width"], f["jpeg_height"])
        for f in frames
        if f.get("jpeg_width") and f.get("jpeg_height")
    }
    cache: dict[Path, dict | None] = {}
    out: dict[int, TrueError] = {}
    for i, p in enumerate(pairs):
        size = sizes.get((p["sequence"], p["frame_h"]))
        if p["status"] not in ("ok", "flagged") or not p.get("jpeg_h_path") or size is None:
            continue
        path = root / Path(p["jpeg_h_path"]).parent / "truth.json"
        if path not in cache:
            cache[path] = read_truth(path)
        truth = cache[path]
        if truth is None:
            continue
        pair_map = PairMap.from_columns(
            p["h_to_l"], size, p.get("h_to_l_grid"), p.get("h_to_l_grid_shape")
        )
        try:
            out[i] = pair_true_error(truth, p["frame_l"], p["frame_h"], pair_map)
        except (KeyError, StopIteration, ValueError, TypeError):
            continue  # a truth.json that does not describe this pair: no truth for it
    return out
