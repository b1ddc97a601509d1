"""What global alignment leaves: dense residual flow and a colour/gain fit between the pair.

Both images are brought onto one grid at (a fraction of) the target's resolution; the sharper
target is blurred to the input's bandwidth first, so resolution difference is not read as motion.
Only textured pixels that pass a forward-backward check count.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import cv2
import numpy as np

from srraw.isp import srgb_encode
from srraw_prep.geometry import PointMap, centre_scale, point_map, scaling, translation
from srraw_prep.warp import Pyramid, dense_map, sample, sampling_step


@dataclasses.dataclass(frozen=True)
class Residual:
    median_px: float  # in target (H) pixels
    p95_px: float
    valid_fraction: float


@dataclasses.dataclass(frozen=True)
class AlignedPair:
    """RGB-L's green warped onto a grid of RGB-H, and RGB-H's green on it: float32 linear light
    in [0, 1]; grid_to_h maps the grid to H. Green: what the flow and the correlation read."""

    low: np.ndarray
    high: np.ndarray
    valid: np.ndarray  # bool: grid pixels inside RGB-L
    grid_to_h: np.ndarray


def _onto_grid(
    img_l: np.ndarray | Pyramid,
    img_h: np.ndarray | Pyramid,
    h_to_l: PointMap,
    max_pixels: int,
    oversample: float,
    thin: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(L on the grid, H on the grid, grid_to_h) for uint8 sRGB images (grey or RGB) or the
    Pyramids of grey ones.

    The grid is a reduced copy of H's with `oversample` pixels per L pixel at most (finer only
    measures L's blur). Both are resampled in linear light (see align.to_grey), each low-passed
    to the grid's sampling (0.45 grid px, as align.resample), and H blurred to L's bandwidth
    where L is the coarser: resolution difference is not read as motion.
    """
    h_to_l = point_map(h_to_l)
    hh, hw = img_h.shape[:2]
    l_per_h = centre_scale(h_to_l, (hw, hh))
    shrink = min(1.0, math.sqrt(max_pixels / (hh * hw)), oversample * l_per_h)
    size = (max(8, round(hw * shrink)), max(8, round(hh * shrink)))
    grid_to_h = (
        translation(-0.5, -0.5) @ scaling(hw / size[0], hh / size[1]) @ translation(0.5, 0.5)
    )
    at_l = dense_map(h_to_l, size, grid_to_h)
    step = sampling_step(at_l)  # L pixels per grid pixel
    low = sample(img_l, at_l, sigma=0.45 * step if step > 1 else 0.0, linear=True, thin=thin)
    # One L pixel spans 1 / step grid pixels: blur H to match (box ~ Gaussian of 0.4 width).
    footprint_sigma = 0.4 * math.sqrt(max(1.0 / step**2 - 1.0, 0.0))  # grid px
    alias_sigma = 0.45 if shrink < 1 else 0.0
    at_h = dense_map(lambda pts: pts, size, grid_to_h)
    high = sample(
        img_h,
        at_h,
        sigma=math.hypot(alias_sigma, footprint_sigma) / shrink,
        linear=True,
        interpolation=cv2.INTER_LINEAR,
        border=0.0,
        thin=thin,
    )
    return low, high, grid_to_h


def inside(sampled: np.ndarray) -> np.ndarray:
    """bool: grid pixels whose 5 x 5 neighbourhood was read inside the source image (`sample`
    marks the outside -1; near its edge the low-pass has read the border)."""
    return cv2.erode((sampled >= 0).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)


def aligned_pair(
    green_l: np.ndarray | Pyramid,
    green_h: np.ndarray | Pyramid,
    h_to_l: PointMap,
    max_pixels: int = 750_000,
    oversample: float = 1.0,
) -> AlignedPair:
    """RGB-L's green (uint8 sRGB, or its Pyramid) warped onto (a reduced copy of) RGB-H's
    grid, H's green on it.

    `h_to_l` maps JPEG-H pixels to JPEG-L pixels: a 3x3 matrix, or a function of (..., 2)
    points for a non-rigid (lens-aware) map.
    """
    low, high, grid_to_h = _onto_grid(green_l, green_h, h_to_l, max_pixels, oversample)
    valid = inside(low)
    return AlignedPair(np.clip(low, 0, 1), high, valid, grid_to_h)


def colour_fit(
    rgb_l: np.ndarray, rgb_h: np.ndarray, h_to_l: PointMap, max_pixels: int = 60_000
) -> tuple[tuple[float, float, float], float]:
    """Least-squares gain per channel taking aligned L to H (linear light), and its RMSE in
    8-bit sRGB DN; on a grid of `max_pixels` at most (the fit has plenty there)."""
    low, high, _ = _onto_grid(rgb_l, rgb_h, h_to_l, max_pixels, 1.0, thin=True)
    valid = inside(low[..., 0])
    low, high = np.clip(low[valid], 0, 1), high[valid]
    if len(low) == 0:
        return (float("nan"),) * 3, float("nan")
    gain = (low * high).sum(axis=0) / np.maximum((low * low).sum(axis=0), 1e-12)
    fitted = srgb_encode(np.clip(low * gain, 0, 1)) * 255
    rmse = float(np.sqrt(np.mean((fitted - srgb_encode(high) * 255) ** 2)))
    return tuple(float(g) for g in gain), rmse


def _grey_u8(green: np.ndarray) -> np.ndarray:
    """sRGB-encoded green as uint8: the flow's input (perceptual steps, least aliasing)."""
    return np.clip(srgb_encode(green) * 255 + 0.5, 0, 255).astype(np.uint8)


def _smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """A wide Gaussian blur, computed at 1/8 of the size (the result is smooth anyway)."""
    h, w = image.shape[:2]
    f = max(1, min(8, int(sigma / 2)))
    small = cv2.resize(image, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / f)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _match_shading(low: np.ndarray, high: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """L times the smooth ratio of local means: exposure, illumination and vignetting differ
    between the two shots, and brightness constancy is what optical flow assumes."""
    sigma = max(high.shape[:2]) / 24
    v = valid.astype(np.float32)
    weight = _smooth(v, sigma) + 1e-6
    if low.ndim == 3:
        weight = weight[..., None]
        v = v[..., None]
    mean_l = _smooth(low * v, sigma) / weight
    mean_h = _smooth(high * v, sigma) / weight
    return np.clip(low * (mean_h / np.maximum(mean_l, 1e-3)), 0, 1)


def flow_length(vectors: np.ndarray) -> np.ndarray:
    """|v| of an (h, w, 2) float32 field (OpenCV's: a fifth of numpy's norm's time)."""
    return cv2.magnitude(*cv2.split(vectors))


@dataclasses.dataclass(frozen=True)
class Flow:
    """Dense flow from the aligned pair's H grid to its L: H(x) ~ L(x + flow(x))."""

    flow: np.ndarray  # (h, w, 2) grid pixels
    good: np.ndarray  # bool: textured, inside L, forward-backward consistent


def flow_field(
    pair: AlignedPair, texture: float = 1e-4, fb_tolerance: float = 0.5, quick_check: bool = False
) -> Flow:
    """`quick_check`: the backward flow of the forward-backward check by DIS's fast preset (a
    fifth of the time), for flows that only feed a fit. Not for a pair's error evidence: a
    rougher backward flow fails the check where the residual is large, and hides it (on a
    smooth 8X pair with a 3 px true error its local term fell from 1.9 to 1.0 px)."""
    a = _grey_u8(pair.high)
    b = _grey_u8(_match_shading(pair.low, pair.high, pair.valid))
    forward = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(a, b, None)
    check = cv2.DISOPTICAL_FLOW_PRESET_FAST if quick_check else cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
    backward = cv2.DISOpticalFlow_create(check).calc(b, a, None)
    h, w = a.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    back_at = cv2.remap(backward, gx + forward[..., 0], gy + forward[..., 1], cv2.INTER_LINEAR)
    loop = flow_length(forward + back_at)
    magnitude = flow_length(forward)
    consistent = loop < fb_tolerance + 0.05 * magnitude
    textured = cv2.cornerMinEigenVal(a.astype(np.float32) / 255.0, 5) > texture
    return Flow(forward, pair.valid & consistent & textured)


def flow_matches(
    pair: AlignedPair,
    flow: Flow,
    h_to_l: Callable[[np.ndarray], np.ndarray],
    max_points: int = 3000,
) -> tuple[np.ndarray, np.ndarray]:
    """Point correspondences (JPEG-H px, JPEG-L px) that the flow measured, spread evenly over
    the good pixels (at most `max_points`)."""
    ys, xs = np.nonzero(flow.good)
    if len(xs) == 0:
        return np.zeros((0, 2)), np.zeros((0, 2))
    step = max(1, int(math.sqrt(len(xs) / max_points)))
    keep = (ys % step == 0) & (xs % step == 0)
    ys, xs = ys[keep], xs[keep]
    grid = np.stack([xs, ys], axis=-1).astype(np.float64)
    moved = grid + flow.flow[ys, xs].astype(np.float64)
    m = pair.grid_to_h
    points_h = grid @ m[:2, :2].T + m[:2, 2]
    return points_h, h_to_l(moved @ m[:2, :2].T + m[:2, 2])


def residual_of(pair: AlignedPair, flow: Flow) -> Residual:
    magnitude = flow_length(flow.flow)
    good = flow.good
    to_h = math.sqrt(abs(np.linalg.det(pair.grid_to_h[:2, :2])))
    if good.sum() >= 50:
        median = float(np.median(magnitude[good])) * to_h
        p95 = float(np.percentile(magnitude[good], 95)) * to_h
    else:
        median = p95 = float("nan")
    return Residual(median, p95, float(good.mean()))


def correlation(pair: AlignedPair) -> float:
    """Zero-mean normalised correlation of the aligned pair's green (ECC's rho), where valid."""
    a = pair.high[pair.valid]
    if a.size < 16:
        return float("nan")
    return centred_correlation(a, pair.low[pair.valid])


def centred_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Zero-mean normalised correlation of two float32 sample vectors; NaN where one is flat.
    Centres `a` and `b` in place: pass copies (a boolean index makes one)."""
    # float32 products, float64 means: rho good to ~1e-6, a fifth of the float64 copies' time
    a -= np.float32(a.mean(dtype=np.float64))
    b -= np.float32(b.mean(dtype=np.float64))
    denom = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / denom if denom > 0 else float("nan")
