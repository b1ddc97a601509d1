"""A pair's map from target pixels (RGB-H, the long-focal JPEG) to input pixels (RAW-L mosaic).

The manifest stores it two ways (manifests/README.md, pairs.parquet):
- `h_to_l_grid` + `h_to_l_grid_shape` [ny, nx]: the row-major flattening of a (ny, nx, 2)
  array; node (i, j) sits at RGB-H pixel (x = j (W_H - 1) / (nx - 1), y = i (H_H - 1) / (ny - 1))
  and holds the RAW-L mosaic pixel (x, y) that this target pixel images. Between nodes the map
  is bilinear; outside the outermost nodes it is extrapolated linearly from the edge cells.
- `h_to_l`: a 3x3 matrix, the best similarity to the grid, for simple readers and for
  manifests written before the grid existed (schema pairs/1.0).
Pixel coordinates: origin at the centre of the top-left pixel, x right, y down.
This module is the one reader that prep, the trainer and users share.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np

# How far bilinear reading between nodes may stray from the full model, in target pixels: the
# contract promises 0.02 (tests/test_lens.py measures it); grids are made to 0.015 at cell centres.
GRID_TOLERANCE_PX = 0.015


def apply_matrix(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (..., 2) through a 3x3 matrix (with the projective divide when it has one)."""
    pts = np.asarray(points, dtype=np.float64)
    flat = pts.reshape(-1, 2)
    out = flat @ m[:2, :2].T + m[:2, 2]
    if not np.allclose(m[2], [0.0, 0.0, 1.0]):
        out /= (flat @ m[2, :2] + m[2, 2])[:, None]
    return out.reshape(pts.shape)


def node_positions(shape: tuple[int, int], size_h: tuple[int, int]) -> np.ndarray:
    """(ny, nx, 2) RGB-H pixel coordinates of the grid's nodes; size_h is (W_H, H_H)."""
    ny, nx = shape
    xs = np.linspace(0.0, size_h[0] - 1.0, nx)
    ys = np.linspace(0.0, size_h[1] - 1.0, ny)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx, gy], axis=-1)


def grid_shape_for(size_h: tuple[int, int], spacing_px: float) -> tuple[int, int]:
    """[ny, nx] with nodes at most `spacing_px` target pixels apart (at least 2 x 2)."""
    nx = max(2, math.ceil((size_h[0] - 1) / spacing_px) + 1)
    ny = max(2, math.ceil((size_h[1] - 1) / spacing_px) + 1)
    return ny, nx


def sample_grid(
    h_to_l: Callable[[np.ndarray], np.ndarray],
    size_h: tuple[int, int],
    tolerance_px: float = GRID_TOLERANCE_PX,
    spacing_px: float = 256.0,
) -> np.ndarray:
    """The (ny, nx, 2) grid of a full map function (points (..., 2) in H -> L), with nodes
    close enough that bilinear reading stays within `tolerance_px` target pixels of it
    (checked at every cell's centre and edge midpoints; the spacing halves until it does).

    Bilinear reading errs by the map's curvature times the spacing squared: a check that fails
    jumps straight to the halving that this predicts (fewer full-map evaluations: they are
    what a 12 MP pair's grid costs), and halves on from there should it still fail."""
    while True:
        shape = grid_shape_for(size_h, spacing_px)
        nodes = node_positions(shape, size_h)
        grid = np.asarray(h_to_l(nodes), dtype=np.float64)
        if spacing_px <= 4:
            return grid
        steps = np.diff(nodes[0, :2, 0])[0], np.diff(nodes[:2, 0, 1])[0]
        probe = np.concatenate(
            [
                (nodes[:-1, :-1] + (steps[0] / 2, steps[1] / 2)).reshape(-1, 2),
                (nodes[:, :-1] + (steps[0] / 2, 0)).reshape(-1, 2),
                (nodes[:-1, :] + (0, steps[1] / 2)).reshape(-1, 2),
            ]
        )
        pmap = PairMap(fit_similarity(nodes, grid), size_h, grid)
        scale = math.sqrt(abs(np.linalg.det(pmap.h_to_l[:2, :2])))
        error = np.linalg.norm(pmap(probe) - h_to_l(probe), axis=1).max() / scale
        if error <= tolerance_px:
            return grid
        halvings = max(1, math.ceil(math.log(error / tolerance_px, 4)))
        spacing_px = max(4.0, spacing_px / 2**halvings)


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (3x3) taking src points (N, 2) onto dst points (N, 2)."""
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - ms, dst - md
    # z_dst = (a + ib) z_src: complex least squares.
    zs = s[:, 0] + 1j * s[:, 1]
    zd = d[:, 0] + 1j * d[:, 1]
    k = np.vdot(zs, zd) / max(np.vdot(zs, zs).real, 1e-300)
    a, b = k.real, k.imag
    m = np.array([[a, -b, 0.0], [b, a, 0.0], [0.0, 0.0, 1.0]])
    m[:2, 2] = md - m[:2, :2] @ ms
    return m


@dataclasses.dataclass(frozen=True)
class PairMap:
    """RGB-H pixel -> RAW-L mosaic pixel, through the grid when there is one."""

    h_to_l: np.ndarray  # 3x3
    size_h: tuple[int, int]  # (W_H, H_H)
    grid: np.ndarray | None = None  # (ny, nx, 2)

    @classmethod
    def from_columns(
        cls,
        h_to_l: Sequence[float],
        size_h: tuple[int, int],
        grid: Sequence[float] | None = None,
        grid_shape: Sequence[int] | None = None,
    ) -> PairMap:
        """From the manifest's columns (`h_to_l`, `h_to_l_grid`, `h_to_l_grid_shape`)."""
        matrix = np.asarray(h_to_l, dtype=np.float64).reshape(3, 3)
        if grid is None or grid_shape is None or len(grid) == 0:
            return cls(matrix, (int(size_h[0]), int(size_h[1])))
        ny, nx = (int(v) for v in grid_shape)
        values = np.asarray(grid, dtype=np.float64)
        if ny < 2 or nx < 2 or values.size != ny * nx * 2:
            raise ValueError(
                f"h_to_l_grid holds {values.size} values; shape {[ny, nx]} needs {ny * nx * 2}"
            )
        return cls(matrix, (int(size_h[0]), int(size_h[1])), values.reshape(ny, nx, 2))

    @property
    def has_grid(self) -> bool:
        return self.grid is not None

    def __call__(self, points_h: np.ndarray) -> np.ndarray:
        """Map RGB-H pixel coordinates (..., 2) to RAW-L mosaic coordinates (..., 2)."""
        if self.grid is None:
            return apply_matrix(self.h_to_l, points_h)
        pts = np.asarray(points_h, dtype=np.float64)
        ny, nx = self.grid.shape[:2]
        # Continuous node coordinates; cells clamped so that outside points extrapolate.
        u = pts[..., 0] * (nx - 1) / max(self.size_h[0] - 1, 1)
        v = pts[..., 1] * (ny - 1) / max(self.size_h[1] - 1, 1)
        j = np.clip(np.floor(u).astype(np.int64), 0, nx - 2)
        i = np.clip(np.floor(v).astype(np.int64), 0, ny - 2)
        fu = (u - j)[..., None]
        fv = (v - i)[..., None]
        g = self.grid
        top = g[i, j] * (1 - fu) + g[i, j + 1] * fu
        bottom = g[i + 1, j] * (1 - fu) + g[i + 1, j + 1] * fu
        return top * (1 - fv) + bottom * fv

    def inverse(self, points_l: np.ndarray, iterations: int = 20, tol: float = 1e-6) -> np.ndarray:
        """RAW-L mosaic coordinates (..., 2) -> the RGB-H pixel that maps onto each.

        Fixed-point iteration started from the inverse similarity; the non-rigid part of a
        lens map is a small fraction of its scale, so it converges in a few steps."""
        inv = np.linalg.inv(self.h_to_l)
        target = np.asarray(points_l, dtype=np.float64)
        q = apply_matrix(inv, target)
        if self.grid is None:
            return q
        lin = inv[:2, :2]
        for _ in range(iterations):
            step = (self(q) - target) @ lin.T
            q = q - step
            if float(np.max(np.abs(step), initial=0.0)) < tol:
                break
        return q
