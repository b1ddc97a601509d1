"""Align the long-focal JPEG (RGB-H) onto the short-focal one (RGB-L).

EXIF focal lengths are whole millimetres and zoom rings miss, so the similarity (scale,
rotation, translation) is measured from the images: FOV matching by the EXIF ratio as the
start, SIFT + RANSAC for a robust coarse estimate, ECC (affine) to measure the scale, then
Euclidean ECC on the scale-corrected images, as the paper. Everything is done at RGB-L's pixel
scale, with H resampled by exact isotropic maps (no rounded resize factors).
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from srraw.isp import srgb_decode_u8
from srraw_prep.geometry import affine3, centre_zoom, nearest_similarity, scaling, translation

MODELS = ("euclidean", "affine")


class AlignError(Exception):
    """The alignment did not converge or found nothing to hold on to."""


@dataclasses.dataclass(frozen=True)
class Alignment:
    h_to_l: np.ndarray  # 3x3: JPEG-H pixel -> JPEG-L pixel
    rho: float  # enhanced correlation coefficient of the final refinement
    coarse: str  # how the start was found: 'features', 'phase' or 'nominal'
    inliers: int


def to_grey(image: np.ndarray) -> np.ndarray:
    """The image the alignment works on: float32 linear-light green in [0, 1].

    Linear, because the sensor integrates light linearly: shrinking a gamma-encoded RGB-H
    moves every high-contrast edge and biases the scale. Green, because it is sampled twice
    as densely as red and blue, so it carries the least demosaicing aliasing.
    """
    green = image[..., 1] if image.ndim == 3 else image
    return srgb_decode_u8(green)


def resample(image: np.ndarray, src_to_dst: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample onto a grid of `size` through an exact similarity, low-passed when shrinking."""
    scale = math.sqrt(abs(np.linalg.det(affine3(src_to_dst)[:2, :2])))
    if scale < 1:
        # A Gaussian of 0.45 destination pixels stops aliasing without a visible blur.
        image = cv2.GaussianBlur(image, (0, 0), 0.45 / scale)
    return cv2.warpAffine(
        image,
        affine3(src_to_dst)[:2],
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )


def _template(img_h: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """H scaled by `scale` about its centre onto its own grid: (image, map H -> grid)."""
    h, w = img_h.shape
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    h_to_grid = centre_zoom((w, h), size, 1 / scale)
    return resample(img_h, h_to_grid, size), h_to_grid


def _u8(image: np.ndarray) -> np.ndarray:
    return np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)


def _coarse_features(
    template: np.ndarray, img_l: np.ndarray, guess: np.ndarray, search: float, max_pixels: int
) -> tuple[np.ndarray, int] | None:
    """Similarity template -> L from SIFT matches + RANSAC, searched around `guess`."""
    th, tw = template.shape
    lh, lw = img_l.shape
    c = guess @ np.array([(tw - 1) / 2, (th - 1) / 2, 1.0])
    half_w, half_h = tw * (0.5 + search), th * (0.5 + search)
    x0, x1 = max(0, int(c[0] - half_w)), min(lw, int(c[0] + half_w) + 1)
    y0, y1 = max(0, int(c[1] - half_h)), min(lh, int(c[1] + half_h) + 1)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    region = img_l[y0:y1, x0:x1]
    # Work on at most max_pixels per image: SIFT time grows with area.
    shrink = min(1.0, math.sqrt(max_pixels / max(region.size, template.size)))
    t_small = cv2.resize(template, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    r_small = cv2.resize(region, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    sift = cv2.SIFT_create(nfeatures=4000)
    kt, dt = sift.detectAndCompute(_u8(t_small), None)
    kr, dr = sift.detectAndCompute(_u8(r_small), None)
    if dt is None or dr is None or len(kt) < 8 or len(kr) < 8:
        return None
    matches = cv2.BFMatcher(cv2.NORM_L2).knnMatch(dt, dr, k=2)
    good = [m for m, n in (p for p in matches if len(p) == 2) if m.distance < 0.8 * n.distance]
    if len(good) < 8:
        return None
    src = np.float32([kt[m.queryIdx].pt for m in good])
    dst = np.float32([kr[m.trainIdx].pt for m in good])
    cv2.setRNGSeed(0)  # RANSAC's sampling: the same input gives the same manifest
    m, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=2.0, maxIters=5000, confidence=0.999
    )
    count = int(inliers.sum()) if inliers is not None else 0
    if m is None or count < 8:
        return None
    # Keypoints are in resized images: undo the shrink (pixel-centre exact) and the region offset.
    unshrink_t = translation(-0.5, -0.5) @ scaling(shrink) @ translation(0.5, 0.5)
    shrink_r = np.linalg.inv(unshrink_t)
    return translation(x0, y0) @ shrink_r @ affine3(m) @ unshrink_t, count


def _coarse_phase(template: np.ndarray, img_l: np.ndarray, guess: np.ndarray) -> np.ndarray | None:
    """Translation-only correction of `guess` by phase correlation (when features fail)."""
    th, tw = template.shape
    crop = cv2.warpAffine(
        img_l, affine3(guess)[:2], (tw, th), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    )
    window = cv2.createHanningWindow((tw, th), cv2.CV_32F)
    (dx, dy), response = cv2.phaseCorrelate(template, crop, window)
    if response < 0.05:
        return None
    return guess @ translation(dx, dy)


def _ecc(
    template: np.ndarray, image: np.ndarray, init: np.ndarray, motion: int
) -> tuple[float, np.ndarray]:
    warp = affine3(init)[:2].astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 200, 1e-7)
    try:
        rho, warp = cv2.findTransformECC(template, image, warp, motion, criteria, None, 3)
    except cv2.error as exc:
        raise AlignError(f"ECC did not converge ({str(exc).strip().splitlines()[-1]})") from exc
    return float(rho), affine3(warp.astype(np.float64))


def align(
    img_l: np.ndarray,
    img_h: np.ndarray,
    ratio: float,
    *,
    model: str = "euclidean",
    search: float = 0.3,
    feature_pixels: int = 600_000,
) -> Alignment:
    """Measure the map from RGB-H pixels to RGB-L pixels; `ratio` is the EXIF f_H / f_L.

    Images are float32 grey (see `to_grey`). Raises AlignError when it cannot converge.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {MODELS}")
    lh, lw = img_l.shape
    template, h_to_t = _template(img_h, 1 / ratio)
    th, tw = template.shape
    # FOV matching: the template's centre onto L's centre, at the EXIF ratio.
    guess = centre_zoom((tw, th), (lw, lh), 1.0)
    coarse, inliers = "nominal", 0
    found = _coarse_features(template, img_l, guess, search, feature_pixels)
    if found is not None:
        start, inliers = found
        start, coarse = nearest_similarity(start), "features"
    elif (phase := _coarse_phase(template, img_l, guess)) is not None:
        start, coarse = phase, "phase"
    else:
        start = guess
    rho, t_to_l = _ecc(template, img_l, start, cv2.MOTION_AFFINE)
    h_to_l = t_to_l @ h_to_t
    if model == "euclidean":
        # Scale-correct H by the measured scale, then let ECC find rotation and translation only.
        similarity = nearest_similarity(h_to_l)
        scale = math.sqrt(abs(np.linalg.det(similarity[:2, :2])))
        template, h_to_t = _template(img_h, scale)
        init = similarity @ np.linalg.inv(h_to_t)
        init[:2, :2] /= math.sqrt(abs(np.linalg.det(init[:2, :2])))  # a pure rotation
        rho, t_to_l = _ecc(template, img_l, init, cv2.MOTION_EUCLIDEAN)
        h_to_l = t_to_l @ h_to_t
    return Alignment(h_to_l=h_to_l, rho=rho, coarse=coarse, inliers=inliers)
