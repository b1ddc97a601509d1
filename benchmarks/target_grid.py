"""Targets through the pair map: where the trainer samples JPEG-H, against truth.json's exact map.

For one synthetic sequence through the rig's lens (FE 24-240mm, perturbed) in each JPEG geometry,
a 4X pair (35 -> 150 mm) gets the grid `srraw.pairmap.sample_grid` makes of the exact map and its
best similarity as h_to_l. Prints, in target px over a lattice of the pair's output pixels
(every 8th row and column of the box's output grid), the error of the sampled JPEG-H positions
against the exact inverse, mean and max, through the grid and through h_to_l alone; and the
seconds to build the box's target each way (median of 3).

Run: .venv/bin/python benchmarks/target_grid.py --megapixels 0.6 12
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from srraw.pairmap import PairMap, fit_similarity, node_positions, sample_grid
from srraw.synth.cli import synthesize
from srraw.synth.truth import jpeg_h_to_raw_l, load_truth, raw_l_to_jpeg_h
from srraw_model.geometry import output_mosaic_points, target_on_grid, target_points

ZOOM, FRAME_L, FRAME_H = 4, 6, 3


def inner_box(pmap: PairMap) -> tuple[int, int, int, int]:
    """The middle 80% (per axis) of the L region the H frame maps to, even-aligned."""
    w, h = pmap.size_h
    corners = pmap(np.array([[0.0, 0.0], [w - 1.0, h - 1.0]]))
    (ax, ay), (bx, by) = corners
    x0, x1 = ax + 0.1 * (bx - ax), bx - 0.1 * (bx - ax)
    y0, y1 = ay + 0.1 * (by - ay), by - 0.1 * (by - ay)
    return tuple(int(v) - int(v) % 2 for v in (x0, y0, x1, y1))  # type: ignore[return-value]


def seconds(fn) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(folder: Path) -> dict[str, float]:
    truth = load_truth(folder)
    jpeg_h = cv2.cvtColor(cv2.imread(str(folder / f"{FRAME_H:05d}.JPG")), cv2.COLOR_BGR2RGB)
    size_h = (jpeg_h.shape[1], jpeg_h.shape[0])
    grid = sample_grid(lambda p: jpeg_h_to_raw_l(truth, FRAME_L, FRAME_H, p), size_h)
    h_to_l = fit_similarity(node_positions(grid.shape[:2], size_h), grid)
    with_grid, rigid = PairMap(h_to_l, size_h, grid), PairMap(h_to_l, size_h)
    box = inner_box(with_grid)
    rows = slice(0, None, 8)
    cols = slice(0, None, 8)
    points_l = output_mosaic_points(ZOOM, box, rows)[:, cols]
    out: dict[str, float] = {"grid_nodes": grid.shape[0] * grid.shape[1]}
    scale = math.sqrt(abs(np.linalg.det(h_to_l[:2, :2]))) * ZOOM  # target px per H px
    exact = None
    for name, pmap in (("grid", with_grid), ("h_to_l", rigid)):
        sampled = target_points(pmap, ZOOM, box, rows)[:, cols]
        if exact is None:
            exact = raw_l_to_jpeg_h(truth, FRAME_L, FRAME_H, points_l, sampled)
        err = np.linalg.norm(sampled - exact, axis=-1) * scale
        out[f"{name}_mean_px"], out[f"{name}_max_px"] = float(err.mean()), float(err.max())
        out[f"{name}_s"] = seconds(lambda pmap=pmap: target_on_grid(jpeg_h, pmap, ZOOM, box))
    out["target_mpx"] = ZOOM * ZOOM * (box[2] - box[0]) * (box[3] - box[1]) / 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, nargs="+", default=[0.6])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for mp in args.megapixels:
            for geometry in ("raw", "corrected"):
                base = Path(tmp) / f"{mp}-{geometry}"
                synthesize("simulated", base, 1, 5, mp, progress=False, jpeg_geometry=geometry)
                r = measure(base / "00001")
                print(
                    f"{mp:g} MP {geometry:9s} target {r['target_mpx']:.1f} MP, "
                    f"{r['grid_nodes']:.0f} nodes | grid: mean {r['grid_mean_px']:.4f} "
                    f"max {r['grid_max_px']:.4f} px, {r['grid_s']:.2f} s | h_to_l: mean "
                    f"{r['h_to_l_mean_px']:.3f} max {r['h_to_l_max_px']:.3f} px, "
                    f"{r['h_to_l_s']:.2f} s"
                )


if __name__ == "__main__":
    main()
