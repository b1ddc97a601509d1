"""Each frame's JPEG measured against its own RAW: same instant, no parallax, no exposure change.

The JPEG either shares the RAW's distorted grid (`raw`: JPEG pixel q = c_jpeg + s (p - c_raw)
+ o for RAW mosaic pixel p) or the body undistorted it (`corrected`: the same with p replaced by
its ideal position undistort(p), usually with a crop scale s > 1). Both models are fitted to
dense flow between the RAW's green and the JPEG resampled through the model; the one that
explains the images decides. A corrected JPEG measures the lens's distortion directly, over the
whole frame.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from srraw.cfa import channel_offsets, levels
from srraw.lens import N_TERMS, Distortion, LensGeometry, Normalisation
from srraw.raw import RawFrame
from srraw_prep.geometry import scaling, translation
from srraw_prep.residual import AlignedPair, flow_field, inside
from srraw_prep.warp import Pyramid, dense_map, sample, sampling_step

# A raw model this far (JPEG px) from its start is measured again from where it is (MAX_PASSES
# passes at most).
REMEASURE_PX = 0.25
MAX_PASSES = 3
# A JPEG at most this much narrower than its RAW is taken for a crop of it at first.
CROP_FRACTION = 0.03
# Grid pixels next to the JPEG's edge that give no matches: DIS's 8-pixel patches at its
# finest scale (half the grid's resolution) span 16 grid pixels.
EDGE_MARGIN = 16


@dataclasses.dataclass(frozen=True)
class JpegGeometry:
    kind: str  # 'raw' or 'corrected'
    scale: float  # JPEG px per RAW px
    offset: tuple[float, float]  # JPEG px
    distortion: Distortion | None  # measured (corrected JPEGs only)
    residual_px: float | None  # median |model - flow| over the matches, JPEG px
    matches: int


def raw_green(raw: RawFrame) -> np.ndarray:
    """Half-resolution linear green: the mean of the two green sites of each 2x2 cell, whose
    centroid is mosaic pixel (2 x + 0.5, 2 y + 0.5) in every CFA layout."""
    mosaic = raw.mosaic
    h, w = mosaic.shape[0] // 2 * 2, mosaic.shape[1] // 2 * 2
    green = np.empty((h // 2, w // 2), dtype=np.float32)
    other = np.empty_like(green)
    offsets = channel_offsets(raw.cfa)
    black, scale = levels(raw.black_levels, raw.white_level)
    for channel, site in ((1, green), (3, other)):  # G1, G2
        row, col = offsets[channel]
        # float32 throughout, written in place: the same values as the obvious expression,
        # without its three temporary copies (25 -> 17.5 ms a 12 MP frame)
        np.subtract(mosaic[row:h:2, col:w:2], black[channel], out=site, dtype=np.float32)
        np.multiply(site, np.float32(0.5 / scale[channel]), out=site)
    green += other
    return np.clip(green, 0.0, 1.0, out=green)


def _predict(
    kind: str,
    params: np.ndarray,
    model: str,
    norm: Normalisation,
    c_jpeg: np.ndarray,
    p: np.ndarray,
) -> np.ndarray:
    s, ox, oy = params[:3]
    x = p
    if kind == "corrected":
        x = LensGeometry(Distortion(model, tuple(params[3:])), norm).undistort(p)
    return (x - norm.centre) * s + c_jpeg + (ox, oy)


def _fit(
    kind: str,
    params: np.ndarray,
    model: str,
    norm: Normalisation,
    c_jpeg: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Robust Gauss-Newton on |predict(p) - q|; returns (params, residuals)."""
    x = params.astype(np.float64).copy()
    for _ in range(12):
        r = (_predict(kind, x, model, norm, c_jpeg, p) - q).ravel()
        mag = np.repeat(np.hypot(r[0::2], r[1::2]), 2)
        w = np.sqrt(np.where(mag <= 1.0, 1.0, 1.0 / np.maximum(mag, 1e-12)))
        jac = np.empty((len(r), len(x)))
        for j in range(len(x)):
            h = max(abs(x[j]), 1.0) * 1e-7
            v = x.copy()
            v[j] += h
            jac[:, j] = ((_predict(kind, v, model, norm, c_jpeg, p) - q).ravel() - r) / h
        step = np.linalg.lstsq(jac * w[:, None], -r * w, rcond=None)[0]
        x += step
        if np.max(np.abs(step)) < 1e-10:
            break
    r = _predict(kind, x, model, norm, c_jpeg, p) - q
    return x, np.hypot(r[:, 0], r[:, 1])


def _matches(
    green: np.ndarray,
    k: int,
    jpeg_green: np.ndarray | Pyramid,
    predict,
    max_points: int = 4000,
    quick_check: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(mosaic px, JPEG px) correspondences measured by flow on the grid of `green` / k;
    `quick_check`: see residual.flow_field."""
    h, w = green.shape[0] // k, green.shape[1] // k
    small = cv2.resize(green[: h * k, : w * k], (w, h), interpolation=cv2.INTER_AREA)
    # Grid pixel g covers half-resolution pixels [k g, k g + k): mosaic p = 2 k g + k - 0.5.
    grid_to_mosaic = translation(k - 0.5, k - 0.5) @ scaling(2 * k)
    at = dense_map(predict, (w, h), grid_to_mosaic)
    # The JPEG low-passed to the grid's spacing (`small` is a box of it), in linear light.
    sigma = 0.4 * math.sqrt(max(sampling_step(at) ** 2 - 1.0, 0.0))
    warped = sample(jpeg_green, at, sigma=sigma, linear=True, interpolation=cv2.INTER_LINEAR)
    # Where the JPEG ends inside the RAW (a body's crop), DIS's patches near its edge see the
    # zero beyond it against the RAW's texture and pull inward (a cropped JPEG's scale read up
    # to 1.7e-4 low: tests/test_jpeggeom.py): no match comes from within EDGE_MARGIN of that
    # edge. A JPEG that covers the whole grid loses nothing. In-camera-corrected JPEGs end
    # inside the RAW too: 958x640 mixed set 0.188 -> 0.169 px median (8X 0.335 -> 0.215).
    edge = np.ones((2 * EDGE_MARGIN + 1, 2 * EDGE_MARGIN + 1), np.uint8)
    valid = cv2.erode(inside(warped).astype(np.uint8), edge).astype(bool)
    pair = AlignedPair(np.clip(warped, 0, 1), small.astype(np.float32), valid, np.eye(3))
    flow = flow_field(pair, quick_check=quick_check)
    gy, gx = np.nonzero(flow.good)
    if len(gx) == 0:
        return np.zeros((0, 2)), np.zeros((0, 2))
    step = max(1, int(math.sqrt(len(gx) / max_points)))
    keep = (gy % step == 0) & (gx % step == 0)
    gy, gx = gy[keep], gx[keep]
    g = np.stack([gx, gy], axis=-1).astype(np.float64)
    moved = g + flow.flow[gy, gx].astype(np.float64)
    p = g * (2 * k) + (k - 0.5)
    return p, predict(moved * (2 * k) + (k - 0.5))


def measure_jpeg_geometry(
    jpeg_green: np.ndarray | Pyramid,
    green: np.ndarray,
    norm: Normalisation,
    prior: Distortion | None,
    expect_corrected: bool | None = None,
    max_pixels: int = 300_000,
) -> JpegGeometry:
    """Fit both JPEG models to this frame's JPEG green (uint8 sRGB, or its Pyramid) and RAW
    green; keep the one that explains it."""
    shape = jpeg_green.shape
    c_jpeg = np.array([(shape[1] - 1) / 2, (shape[0] - 1) / 2])
    k = max(1, round(math.sqrt(green.size / max_pixels)))
    s0 = shape[1] / norm.width
    if 1 - CROP_FRACTION <= s0 <= 1:
        # A JPEG a few pixels smaller than its RAW is a crop of it (a Sony 6048x4024 RAW, a
        # 6000x4000 JPEG), not a resize: starting from the size ratio would put the frame's
        # edges pixels off.
        s0 = 1.0
    jpeg_per_grid = 2 * k * s0
    model = prior.model if prior is not None else "ptlens"
    start_terms = np.array(prior.terms if prior is not None else (0.0,) * N_TERMS[model])

    def run(kind: str, params: np.ndarray, passes: int) -> tuple[np.ndarray, np.ndarray, int]:
        resid, n = np.array([np.inf]), 0
        for _ in range(passes):
            # The raw model's three terms come out the same through the quick check; a
            # corrected JPEG's lens terms do not (958x640 pairs 0.105 -> 0.130 px with it).
            p, q = _matches(
                green,
                k,
                jpeg_green,
                lambda pts, x=params: _predict(kind, x, model, norm, c_jpeg, pts),
                quick_check=kind == "raw",
            )
            if len(p) < 20:
                return params, np.array([np.inf]), 0
            params, resid = _fit(kind, params, model, norm, c_jpeg, p, q)
            n = len(p)
        return params, resid, n

    raw_start = np.array([s0, 0.0, 0.0])
    corrected_start = np.concatenate([raw_start, start_terms])
    # Flow misreads a displacement by a few % (a JPEG 2 px off its RAW read as 2.06-2.07, 1.5
    # px as 1.53-1.59: tests/test_jpeggeom.py), so a model that moved far from its start is
    # measured again, from where it is, until it stays (then within 0.015 px there).
    half_diagonal = math.hypot(*c_jpeg)
    start = raw_start
    for _ in range(MAX_PASSES):
        raw_params, raw_resid, raw_n = run("raw", start, 1)
        moved = (
            np.abs(raw_params[1:3] - start[1:3]).max()
            + abs(raw_params[0] - start[0]) * half_diagonal
        )
        if not raw_n or moved <= REMEASURE_PX:
            break
        start = raw_params
    raw_median = float(np.median(raw_resid))
    # Flow on this grid is good to ~0.1 grid px: a raw model that explains the images that
    # well leaves nothing for a correction model to find (unless the maker note says so).
    noise_floor = 0.1 * jpeg_per_grid
    corrected = False
    if expect_corrected or not raw_median <= noise_floor:
        # A corrected JPEG leaves radial structure the raw model cannot explain; test for it.
        corr_params, corr_resid, corr_n = run("corrected", corrected_start, 2)
        corr_median = float(np.median(corr_resid))
        distortion = Distortion(model, tuple(corr_params[3:]))
        moves = LensGeometry(distortion, norm).max_displacement() * s0
        threshold = 0.9 if expect_corrected else 0.8
        corrected = (
            corr_n > 0 and moves > 0.25 * jpeg_per_grid and corr_median < threshold * raw_median
        )
    kind, params, median, n = (
        ("corrected", corr_params, corr_median, corr_n)
        if corrected
        else ("raw", raw_params, raw_median, raw_n)
    )
    return JpegGeometry(
        kind,
        float(params[0]),
        (float(params[1]), float(params[2])),
        distortion if corrected else None,
        median if math.isfinite(median) else None,
        n,
    )
