"""Resampling an image through a dense point map, touching only what the map reaches.

A 12 MP frame is large: decoding it to linear light whole, or blurring it whole, per pair, is
what made prep slow. Here the map is evaluated exactly on a lattice and bilinearly between
(lens and pose maps are smooth), the source is cropped to the map's reach, decoded there, and
low-passed at a reduced size where the low-pass is wide.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from srraw.isp import srgb_decode_u8

LATTICE_STEP = 8  # grid pixels between exact evaluations; must divide 32 (remap's weights)
MAX_LEVEL = 5
BAND_ROWS = 128  # output rows per band when a crop is box-averaged
HALF_BAND_ROWS = 32  # Pyramid level 1 is built this many rows at a time (cache-sized bands)


class Pyramid:
    """A uint8 sRGB image and its linear-light copies at 1/2, 1/4, ... (exact 2 x 2 area
    averages), each built when first asked for and kept: a frame sits in several pairs and is
    read at similar scales by each."""

    def __init__(self, image: np.ndarray, channel: int | None = None) -> None:
        """`channel`: the pyramid of that channel of a colour image (read as a view)."""
        self._source = (image, channel)
        self.image = image if channel is None else image[..., channel]  # crops are copied
        self._levels: dict[int, np.ndarray] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        return self.image.shape

    def level(self, n: int) -> np.ndarray:
        """Level n >= 1: float32 linear light, pixel x covering source pixels [2^n x, 2^n x + 2^n)."""
        if n not in self._levels:
            if n == 1:
                self._levels[n] = _decoded_half(*self._source)
            else:
                finer = self.level(n - 1)
                h, w = finer.shape[0] // 2, finer.shape[1] // 2
                self._levels[n] = cv2.resize(
                    finer[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA
                )
        return self._levels[n]

    def shrunk(self, size: tuple[int, int]) -> np.ndarray:
        """Linear light area-averaged to `size` (w, h), from the nearest level above it."""
        n = 0
        while (
            n < MAX_LEVEL
            and (self.shape[1] >> (n + 1)) >= size[0]
            and (self.shape[0] >> (n + 1)) >= size[1]
        ):
            n += 1
        source = srgb_decode_u8(self.image) if n == 0 else self.level(n)
        return cv2.resize(source, size, interpolation=cv2.INTER_AREA)


def _decoded_half(image: np.ndarray, channel: int | None = None) -> np.ndarray:
    """uint8 sRGB (one `channel` of it) decoded to linear light and 2 x 2 area-averaged, a band
    of rows at a time: the same values as decoding it whole first, without a full-size float32
    copy (48 MB of fresh pages a 12 MP frame), in about a third of the time."""
    h, w = image.shape[0] // 2, image.shape[1] // 2
    half = np.empty((h, w), dtype=np.float32)
    for top in range(0, h, HALF_BAND_ROWS):
        rows = min(HALF_BAND_ROWS, h - top)
        band = image[2 * top : 2 * (top + rows), : 2 * w]
        # OpenCV's channel copy: twice numpy's for a 3-byte stride
        band = np.ascontiguousarray(band) if channel is None else cv2.extractChannel(band, channel)
        cv2.resize(
            srgb_decode_u8(band),
            (w, rows),
            dst=half[top : top + rows],
            interpolation=cv2.INTER_AREA,
        )
    return half


def shrink_area(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """cv2.resize INTER_AREA to `size` (w, h), by the largest exact integer factor first where
    one divides both sides (OpenCV's fast path: a 12 MP RGB frame to a thumbnail in 19 ms, not
    44); the same area average, as every source pixel is still counted once."""
    h, w = image.shape[:2]
    k = max(1, min(w // (2 * size[0]), h // (2 * size[1])))
    while k > 1 and (w % k or h % k):
        k -= 1
    if k > 1:
        image = cv2.resize(image, (w // k, h // k), interpolation=cv2.INTER_AREA)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def dense_map(
    fn: Callable[[np.ndarray], np.ndarray],
    size: tuple[int, int],
    grid_to_src: np.ndarray,
    step: int = LATTICE_STEP,
) -> np.ndarray:
    """(h, w, 2) float32: `fn` (source points (..., 2) -> image points) at every pixel of a grid
    of `size` (w, h) whose pixels sit at grid_to_src in the source, exact every `step` pixels.

    Between lattice nodes the map is read bilinearly: for the maps prep warps through (a
    similarity, lens distortion a few % at the corners) that is within 0.01 px at step 8
    (0.0067 px for a lens that moves the corners 26 px: tests/test_warp.py).
    """
    w, h = size
    nx, ny = -(-(w - 1) // step) + 1, -(-(h - 1) // step) + 1
    ys, xs = np.mgrid[0:ny, 0:nx].astype(np.float64) * step
    nodes = np.stack([xs, ys], axis=-1) @ grid_to_src[:2, :2].T + grid_to_src[:2, 2]
    at = np.asarray(fn(nodes), dtype=np.float32)
    if step == 1:
        return np.ascontiguousarray(at[:h, :w])
    # Grid pixel x reads the lattice at x / step: OpenCV's linear weights are exact at
    # multiples of 1/32, every x / step here (the same values as remap through a full map of
    # x / step, without building that map).
    to_lattice = np.array([[1 / step, 0, 0], [0, 1 / step, 0]], dtype=np.float32)
    return cv2.warpAffine(
        at,
        to_lattice,
        (w, h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def sampling_step(at: np.ndarray) -> float:
    """Source pixels between neighbouring grid pixels at the grid's centre."""
    h, w = at.shape[:2]
    if w < 2:
        return 1.0
    y, x = h // 2, min(w // 2, w - 2)
    return float(np.linalg.norm(at[y, x + 1] - at[y, x]))


def sample(
    image: np.ndarray | Pyramid,
    at: np.ndarray,
    *,
    sigma: float = 0.0,
    linear: bool = False,
    interpolation: int = cv2.INTER_CUBIC,
    border: float = -1.0,
    thin: bool = False,
) -> np.ndarray:
    """`image` low-passed by a Gaussian of `sigma` source pixels, read at the source points
    `at` ((h, w, 2) float32); outside the image, `border`.

    Only the bounding box of `at` is read (decoded from uint8 sRGB to float32 linear light when
    `linear`; a Pyramid is always read in linear light, from its coarsest level that the
    low-pass allows). The box is taken from every LATTICE_STEP-th point and the edges (exact
    for a dense_map). A wide low-pass is mostly done by box-averaging by an integer factor (a small
    share of the variance, so the shape stays Gaussian), the rest at the reduced size.

    `thin`: a box of 4 or more pixels averages every other row and column only (a quarter of
    the decoding, the same centre and nearly the same width). For statistics such as the
    colour fit; not for flow, which would see the aliasing.
    """
    if isinstance(image, Pyramid):
        # The coarsest level whose box (variance (4^n - 1) / 12) leaves the Gaussian its share.
        n = 0
        while n < MAX_LEVEL and 2 ** (n + 1) <= 2 * sigma and min(image.shape[:2]) >> (n + 1) >= 16:
            n += 1
        if n == 0:
            image, linear = image.image, True
        else:
            scale = 2.0**n
            at = (at + np.float32(0.5)) / np.float32(scale) - np.float32(0.5)
            sigma = math.sqrt(max(sigma**2 - (scale**2 - 1) / 12, 0.0)) / scale
            image, linear = image.level(n), False
    ih, iw = image.shape[:2]
    finite = at[::LATTICE_STEP, ::LATTICE_STEP].reshape(-1, 2)
    finite = np.concatenate([finite, at[-1, :].reshape(-1, 2), at[:, -1].reshape(-1, 2)])
    finite = finite[np.isfinite(finite).all(axis=-1)]
    factor = int(sigma) if sigma >= 2 else 1
    margin = int(4 * factor + 3 * sigma) + 2  # cubic reads 2 pixels either side; the blur 3 sigma
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
    # Decoded and box-averaged in bands: no full-size float copy of a large crop is ever held.
    # Every `stride`-th source pixel of each box is read: `taps` of them per side.
    stride = 2 if thin and factor >= 4 and factor % 2 == 0 else 1
    taps = factor // stride
    band = h if factor == 1 else BAND_ROWS * factor
    parts = []
    for top in range(0, h, band):
        rows = slice(y0 + top, y0 + min(top + band, h), stride)
        part = image[rows, x0 : x0 + w : stride]  # OpenCV reads a row-strided view as it is
        if stride > 1:
            part = np.ascontiguousarray(part)
        part = srgb_decode_u8(part) if linear else part
        if part.dtype == np.float64:
            part = part.astype(np.float32)
        if taps > 1:
            size = (w // factor, part.shape[0] // taps)
            part = cv2.resize(part, size, interpolation=cv2.INTER_AREA)
        parts.append(part)
    crop = parts[0] if len(parts) == 1 else np.concatenate(parts)
    # A box of n taps `stride` apart has variance stride^2 (n^2 - 1) / 12; the Gaussian adds
    # what is left.
    box_variance = stride**2 * (taps**2 - 1) / 12
    rest = math.sqrt(max(sigma**2 - box_variance, 0.0)) / factor
    if rest > 0.1:
        crop = cv2.GaussianBlur(crop, (0, 0), rest)
    # Crop pixel x averages source pixels x0 + f x + stride k, k < taps: its centre is
    # x0 + f x + stride (taps - 1) / 2 ((f - 1) / 2 for a full box).
    centre = stride * (taps - 1) / 2
    shift = np.array([x0 + centre, y0 + centre], dtype=np.float32)
    local = (at - shift) / np.float32(factor)
    value: float | tuple = border if crop.ndim == 2 else (border,) * crop.shape[2]
    return cv2.remap(  # one two-channel map: the same result as x and y maps, no copies
        crop,
        local,
        None,
        interpolation,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=value,
    )
