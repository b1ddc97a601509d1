"""How wrong a pair's map may be, in target pixels, from evidence prep has (no truth needed).

- local: what the flow still measures under the final map, as a median residual vector per
  cell of RGB-H (16 x 12), and of those the largest displacement that two neighbouring cells
  agree on. A moved foreground layer or a lens model that fits badly over a region shifts a
  connected area by one vector; where the flow itself is wrong (blurred L at 8X, aliasing, a
  few bad matches) the error stays within a cell, or points another way next door. Measured
  against synthetic truth (benchmarks/align_accuracy.py): the largest single cell mean, as
  before, flagged a fifth of the pairs whose true error is under 1 px, most of them at 8X
  where one L pixel spans 8 target pixels. A cell counts only where the images support its
  residual: L shifted by it correlates with H at least as well as L unshifted. At 8X on small
  frames the flow can be wrong by half an L pixel over several cells at once (4-7 target px
  where the truth is under 0.5); there L and H correlate poorly and the shift does not help;
- lever arm: the pose's uncertainty from the pair's own matches, carried to RGB-H's corners (a
  texture patch on one side pins rotation and scale poorly at the far side);
- coverage: the share of RGB-H's cells (8 x 6) that hold matches;
- cycle: the pair's map from the joint fit of the sequence against the same pair fitted on its
  own matches (the joint fit chains every other pair of the sequence: where they disagree, the
  chain and the pair's own evidence are inconsistent).
- model: the joint fit's own 1-sigma (its covariance over both poses and both frames' lens
  terms) carried to the pair's map, at the worst point of RGB-H. On synthetic truth it is
  0.05-0.12 px for every pair, with or without a lensfun prior, while true errors reach 3 px:
  what the other terms miss is systematic (flow biased where texture fades), not noise.
The estimate is the largest of the local term, three lever-arm sigmas, the cycle discrepancy
and three model sigmas; its flag threshold is calibrated against synthetic truth.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import cv2
import numpy as np

from srraw_prep.lensfit import (
    FitReport,
    FrameModel,
    Matches,
    fit_sequence,
    jpeg_h_to_raw_l,
    map_sigma,
    pair_residuals,
)
from srraw_prep.residual import AlignedPair, centred_correlation

CELLS = (8, 6)  # texture coverage
LOCAL_CELLS = (16, 12)  # local residual: cells 1/16 of RGB-H wide
MIN_CELL_MATCHES = 12  # a cell's median needs this many (fewer: noisy at 8X, where they correlate)


@dataclasses.dataclass(frozen=True)
class ErrorEvidence:
    estimate_px: float
    local_px: float  # largest residual two neighbouring cells agree on
    lever_px: float  # 1-sigma at the worst corner
    cycle_px: float
    coverage: float
    model_px: float = float("nan")  # 1-sigma of the joint fit carried to the map, worst point


def _corners(size: tuple[int, int]) -> np.ndarray:
    w, h = size
    return np.array([[0.0, 0.0], [w - 1.0, 0.0], [0.0, h - 1.0], [w - 1.0, h - 1.0]])


def _lever_sigma(points: np.ndarray, errors: np.ndarray, size: tuple[int, int]) -> float:
    """1-sigma corner error of a similarity fitted to these matches, in target pixels."""
    c = np.array([(size[0] - 1) / 2, (size[1] - 1) / 2])
    p = (points - c) / max(size)
    n = len(p)
    jac = np.zeros((2 * n, 4))
    jac[0::2] = np.c_[p[:, 0], -p[:, 1], np.ones(n), np.zeros(n)]
    jac[1::2] = np.c_[p[:, 1], p[:, 0], np.zeros(n), np.ones(n)]
    # Per-coordinate noise from the residuals (robust: median of the magnitude / 1.18).
    sigma = max(float(np.median(errors)) / 1.18, 1e-3)
    try:
        cov = sigma**2 * np.linalg.inv(jac.T @ jac)
    except np.linalg.LinAlgError:
        return float("inf")
    worst = 0.0
    for corner in (_corners(size) - c) / max(size):
        jc = np.array([[corner[0], -corner[1], 1, 0], [corner[1], corner[0], 0, 1]])
        worst = max(worst, math.sqrt(max(float(np.trace(jc @ cov @ jc.T)), 0.0)))
    return worst


def _cells(points: np.ndarray, size: tuple[int, int], cells: tuple[int, int] = CELLS) -> np.ndarray:
    nx, ny = cells
    ix = np.clip((points[:, 0] / size[0] * nx).astype(int), 0, nx - 1)
    iy = np.clip((points[:, 1] / size[1] * ny).astype(int), 0, ny - 1)
    return iy * nx + ix


def _coverage(points: np.ndarray, size: tuple[int, int]) -> float:
    counts = np.bincount(_cells(points, size), minlength=CELLS[0] * CELLS[1])
    return float((counts >= 3).mean())


def cell_medians(
    points: np.ndarray, residuals: np.ndarray, size: tuple[int, int], cells=LOCAL_CELLS
) -> np.ndarray:
    """(ny, nx, 2) median residual vector per cell of RGB-H; NaN where a cell holds fewer
    than MIN_CELL_MATCHES matches (a median resists the few matches the flow got wrong)."""
    nx, ny = cells
    index = _cells(points, size, cells)
    out = np.full((ny * nx, 2), np.nan)
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(nx * ny + 1))
    for c in range(nx * ny):
        members = order[bounds[c] : bounds[c + 1]]
        if len(members) >= MIN_CELL_MATCHES:
            out[c] = np.median(residuals[members], axis=0)
    return out.reshape(ny, nx, 2)


def supported(medians: np.ndarray, pair: AlignedPair, size: tuple[int, int]) -> np.ndarray:
    """`medians` (cell_medians' cells of RGB-H of `size`) where the pair's images support them,
    NaN elsewhere: the L grid shifted by the cell's residual must correlate with H over the
    cell at least as well as unshifted (a residual says where the flow found H's content in
    L, relative to the map: H(x) ~ L(x + r)). Both are read on the cell's pixels whose
    shifted position is inside L too."""
    ny, nx = medians.shape[:2]
    to_grid = np.linalg.inv(pair.grid_to_h)
    rows, cols = pair.high.shape
    out = medians.copy()
    for iy, ix in zip(*np.nonzero(np.isfinite(medians).all(axis=-1)), strict=True):
        box = np.array([[ix / nx, iy / ny], [(ix + 1) / nx, (iy + 1) / ny]]) * size - 0.5
        (x0, y0), (x1, y1) = box @ to_grid[:2, :2].T + to_grid[:2, 2]
        x0, y0 = max(0, math.ceil(x0)), max(0, math.ceil(y0))
        x1, y1 = min(cols, math.ceil(x1)), min(rows, math.ceil(y1))
        if x1 <= x0 or y1 <= y0:
            continue
        shift = (to_grid[:2, :2] @ medians[iy, ix]).astype(np.float32)  # H px -> grid px
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        sx, sy = xs + shift[0], ys + shift[1]
        inside = (sx >= 0) & (sx <= cols - 1) & (sy >= 0) & (sy <= rows - 1)
        near = pair.valid[
            np.clip(np.rint(sy), 0, rows - 1).astype(int),
            np.clip(np.rint(sx), 0, cols - 1).astype(int),
        ]
        use = inside & near & pair.valid[y0:y1, x0:x1]
        if use.sum() < 16:
            continue
        moved = cv2.remap(pair.low, sx, sy, cv2.INTER_CUBIC)[use]
        high = pair.high[y0:y1, x0:x1]
        unshifted = pair.low[y0:y1, x0:x1][use]
        # a flat patch (NaN) counts as 0, as neither shift then shows anything
        rho_moved = np.nan_to_num(centred_correlation(high[use], moved))
        if rho_moved < np.nan_to_num(centred_correlation(high[use], unshifted)):
            out[iy, ix] = np.nan
    return out


def coherent_local(medians: np.ndarray) -> float:
    """The largest residual that two neighbouring cells (8-neighbourhood) agree on: per pair
    of cells the smaller magnitude times the cosine of the angle between them (0 if they
    point apart). A moved layer (a foreground, a lens model that fits badly over a region)
    spans neighbouring cells with one displacement; a flow error stays in one cell."""
    best = 0.0
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = medians[: medians.shape[0] - dy, max(0, -dx) : medians.shape[1] - max(0, dx)]
        b = medians[dy:, max(0, dx) : medians.shape[1] + min(0, dx) or None]
        na, nb = np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1)
        cos = np.sum(a * b, axis=-1) / np.maximum(na * nb, 1e-12)
        agree = np.minimum(na, nb) * np.clip(cos, 0.0, None)
        if np.isfinite(agree).any():
            best = max(best, float(np.nanmax(agree)))
    return best


def _l_per_h(low: FrameModel, high: FrameModel) -> float:
    """RAW-L pixels per target pixel along RGB-H's top edge (to read L px as target px)."""
    w = high.jpeg_size[0]
    ends = jpeg_h_to_raw_l(low, high, np.array([[0.0, 0.0], [w - 1.0, 0.0]]))
    return max(float(np.linalg.norm(ends[1] - ends[0])) / max(w - 1.0, 1.0), 1e-9)


def _cycle(frames: dict[int, FrameModel], match: Matches) -> float:
    """Max distance at RGB-H's corners between the joint map and the pair fitted alone."""
    low, high = frames[match.low], frames[match.high]
    alone = {match.low: copy.deepcopy(low), match.high: copy.deepcopy(high)}
    for frame in alone.values():
        frame.refine_distortion = False  # the pose alone: the lens is the sequence's
    fit_sequence(alone, [match], match.low, iterations=10)
    corners = _corners(high.jpeg_size)
    joint = jpeg_h_to_raw_l(low, high, corners)
    own = jpeg_h_to_raw_l(alone[match.low], alone[match.high], corners)
    return float(np.linalg.norm(joint - own, axis=1).max() / _l_per_h(low, high))


MODEL_LATTICE = (12, 8)  # points of RGB-H where the fit's uncertainty is read


def _model_sigma(frames: dict[int, FrameModel], fit: FitReport, match: Matches) -> float:
    """The joint fit's 1-sigma at the worst point of RGB-H, in target pixels."""
    low, high = frames[match.low], frames[match.high]
    w, h = high.jpeg_size
    nx, ny = MODEL_LATTICE
    xs, ys = np.meshgrid(np.linspace(0, w - 1, nx), np.linspace(0, h - 1, ny))
    points = np.stack([xs.ravel(), ys.ravel()], axis=-1)
    sigma = map_sigma(frames, fit, match.low, match.high, points)
    return float(np.max(sigma) / _l_per_h(low, high))


def error_evidence(
    frames: dict[int, FrameModel],
    match: Matches,
    pair: AlignedPair | None = None,
    fit: FitReport | None = None,
) -> ErrorEvidence:
    """`pair`: the images the matches were measured on; with them, the local term counts only
    the residuals that the images support (see `supported`)."""
    size = frames[match.high].jpeg_size
    residuals = pair_residuals(frames, match)
    if len(residuals) < 8:
        inf = float("inf")
        return ErrorEvidence(inf, inf, inf, inf, 0.0)
    medians = cell_medians(match.points_h, residuals, size)
    if pair is not None:
        medians = supported(medians, pair, size)
    local = coherent_local(medians)
    lever = _lever_sigma(match.points_h, np.linalg.norm(residuals, axis=1), size)
    cycle = _cycle(frames, match)
    model = _model_sigma(frames, fit, match) if fit is not None else float("nan")
    estimate = max(local, 3 * lever, cycle, 3 * model if math.isfinite(model) else 0.0)
    return ErrorEvidence(estimate, local, lever, cycle, _coverage(match.points_h, size), model)
