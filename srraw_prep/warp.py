"""Resampling an image through a dense point map, touching only what the map reaches.

A 12 MP frame is large: decoding it to linear light whole, or blurring it whole, per pair, is
what made prep slow. Here the map is evaluated exactly on a lattice and bilinearly between
(lens and pose maps are smooth), the source is cropped to the map's reach, decoded there, and
box-averaged first where the map samples it sparsely (no aliasing, and less to resample).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from srraw.isp import srgb_decode_u8

LATTICE_STEP = 8  # grid pixels between exact evaluations; must divide 32 (remap's weights)


def dense_map(
    fn: Callable[[np.ndarray], np.ndarray],
    size: tuple[int, int],
    grid_to_src: np.ndarray,
    step: int = LATTICE_STEP,
) -> np.ndarray:
    """(h, w, 2) float32: `fn` (source points (..., 2) -> image points) at every pixel of a grid
    of `size` (w, h) whose pixels sit at grid_to_src in the source, exact every `step` pixels.

    Between lattice nodes the map is read bilinearly: for the maps prep warps through (a
    similarity, lens distortion a few % at the corners) that is within 1e-3 px at step 8.
    """
    w, h = size
    nx, ny = -(-(w - 1) // step) + 1, -(-(h - 1) // step) + 1
    ys, xs = np.mgrid[0:ny, 0:nx].astype(np.float64) * step
    nodes = np.stack([xs, ys], axis=-1) @ grid_to_src[:2, :2].T + grid_to_src[:2, 2]
    at = np.asarray(fn(nodes), dtype=np.float32)
    if step == 1:
        return np.ascontiguousarray(at[:h, :w])
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32) / np.float32(step)
    # remap's linear weights are exact at multiples of 1/32: every x / step here.
    return cv2.remap(at, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def sampling_step(at: np.ndarray) -> float:
    """Source pixels between neighbouring grid pixels at the grid's centre."""
    h, w = at.shape[:2]
    y, x = h // 2, min(w // 2, w - 2)
    if w < 2:
        return 1.0
    return float(np.linalg.norm(at[y, x + 1] - at[y, x]))


def sample(
    image: np.ndarray,
    at: np.ndarray,
    *,
    linear: bool = False,
    interpolation: int = cv2.INTER_CUBIC,
    border: float = -1.0,
) -> np.ndarray:
    """`image` read at the source points `at` ((h, w, 2) float32), outside it `border`.

    Only the bounding box of `at` is read (decoded from uint8 sRGB to float32 linear light when
    `linear`); where neighbouring grid pixels lie 2 or more source pixels apart the crop is
    box-averaged by that integer factor first.
    """
    ih, iw = image.shape[:2]
    finite = at[np.isfinite(at).all(axis=-1)]
    factor = int(sampling_step(at))
    factor = factor if factor >= 2 else 1
    margin = 4 * factor  # cubic reads 2 pixels either side
    if len(finite) == 0:
        x0 = y0 = 0
        x1, y1 = min(iw, 1), min(ih, 1)
    else:
        lo = np.floor(finite.min(axis=0)).astype(int) - margin
        hi = np.ceil(finite.max(axis=0)).astype(int) + margin
        x0, y0 = max(0, min(iw - 1, lo[0])), max(0, min(ih - 1, lo[1]))
        x1, y1 = max(x0 + 1, min(iw, hi[0])), max(y0 + 1, min(ih, hi[1]))
    w, h = (x1 - x0) // factor * factor, (y1 - y0) // factor * factor
    if w == 0 or h == 0:
        factor, w, h = 1, x1 - x0, y1 - y0
    crop = image[y0 : y0 + h, x0 : x0 + w]
    crop = srgb_decode_u8(np.ascontiguousarray(crop)) if linear else crop
    if crop.dtype == np.float64:
        crop = crop.astype(np.float32)
    if factor > 1:
        crop = cv2.resize(crop, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    # Crop pixel x holds source pixels [x0 + f x, x0 + f x + f): its centre x0 + f x + (f-1)/2.
    shift = np.array([x0 + (factor - 1) / 2, y0 + (factor - 1) / 2], dtype=np.float32)
    local = (at - shift) / np.float32(factor)
    value: float | tuple = border if crop.ndim == 2 else (border,) * crop.shape[2]
    return cv2.remap(
        crop,
        np.ascontiguousarray(local[..., 0]),
        np.ascontiguousarray(local[..., 1]),
        interpolation,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=value,
    )


def shrink_linear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A uint8 sRGB image area-averaged in linear light to `size` (w, h): float32 [0, 1]."""
    return cv2.resize(srgb_decode_u8(image), size, interpolation=cv2.INTER_AREA)
