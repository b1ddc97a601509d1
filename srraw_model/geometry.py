"""Output-grid geometry: where each output pixel lies in the L mosaic and in the H JPEG.

The output grid has Z pixels per L mosaic pixel (2Z per packed pixel). Output pixel (u, v) of a
grid anchored at mosaic pixel (x0, y0) has its centre at mosaic coordinate
((u + 0.5) / Z - 0.5 + x0, (v + 0.5) / Z - 0.5 + y0); origin at the centre of the top-left pixel.
Mapping that back through the pair's map (srraw.pairmap.PairMap: its grid when the pair has one,
else inv(h_to_l)) lands in the H JPEG; the map applies the scale offset by itself.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from srraw.jpegmap import JpegMap
from srraw.pairmap import PairMap


def output_to_mosaic(zoom: int, x0: float, y0: float) -> np.ndarray:
    """3x3 affine: output pixel coords of a grid anchored at mosaic (x0, y0) -> mosaic coords."""
    s = 1.0 / zoom
    return np.array([[s, 0.0, 0.5 * s - 0.5 + x0], [0.0, s, 0.5 * s - 0.5 + y0], [0.0, 0.0, 1.0]])


def output_to_h(h_to_l: np.ndarray, zoom: int, x0: float, y0: float) -> np.ndarray:
    """3x3: output pixel coords -> H JPEG pixel coords."""
    return np.linalg.inv(h_to_l) @ output_to_mosaic(zoom, x0, y0)


def antialias_sigma(shrink: float) -> float:
    """Gaussian prefilter (in source px) before shrinking by `shrink` source px per output px.

    skimage's anti-aliasing rule, (s - 1) / 2: zero when not shrinking.
    """
    return max(0.0, (shrink - 1.0) / 2.0)


def prefiltered(image: np.ndarray, shrink: float) -> np.ndarray:
    """`image` as float32, Gaussian-prefiltered for shrinking by `shrink` source px per output px."""
    src = image.astype(np.float32)
    sigma = antialias_sigma(shrink)
    if sigma > 0.05:
        src = cv2.GaussianBlur(src, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return src


def warp(
    image: np.ndarray,
    dst_to_src: np.ndarray,
    size: tuple[int, int],
    *,
    interpolation: int = cv2.INTER_CUBIC,
    border_value: float = 0.0,
) -> np.ndarray:
    """Resample `image` (H, W[, C]) on a grid of `size` = (width, height) through dst_to_src.

    Shrinking maps get an area-like Gaussian prefilter; affine maps use warpAffine, others remap.
    """
    src = prefiltered(image, float(np.sqrt(abs(np.linalg.det(dst_to_src[:2, :2])))))
    flags = interpolation | cv2.WARP_INVERSE_MAP
    if np.allclose(dst_to_src[2], (0.0, 0.0, 1.0)):
        return cv2.warpAffine(
            src,
            dst_to_src[:2].astype(np.float64),
            size,
            flags=flags,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border_value,
        )
    xs, ys = np.meshgrid(np.arange(size[0]), np.arange(size[1]))
    pts = np.stack([xs, ys, np.ones_like(xs)], axis=-1) @ dst_to_src.T
    return _remap(src, pts[..., :2] / pts[..., 2:], interpolation, border_value)


def _remap(src: np.ndarray, points: np.ndarray, interpolation: int, border_value: float):
    """cv2.remap of a (prefiltered, float32) image at (h, w, 2) float64 source positions."""
    # Positions are computed in float64; float32 maps keep ~1e-4 px at a 12 MP frame's far side.
    map_x = np.ascontiguousarray(points[..., 0], dtype=np.float32)
    map_y = np.ascontiguousarray(points[..., 1], dtype=np.float32)
    return cv2.remap(
        src, map_x, map_y, interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=border_value
    )


def output_mosaic_points(zoom: int, box: tuple[int, int, int, int], rows: slice = slice(None)):
    """(h, w, 2) float64 L mosaic coordinates of the output pixels of a box (rows: a band)."""
    x0, y0, x1, y1 = box
    v = np.arange(zoom * (y1 - y0), dtype=np.float64)[rows]
    u = np.arange(zoom * (x1 - x0), dtype=np.float64)
    xs, ys = np.meshgrid((u + 0.5) / zoom - 0.5 + x0, (v + 0.5) / zoom - 0.5 + y0)
    return np.stack([xs, ys], axis=-1)


# Output pixels per band when sampling through a grid: bounds the float64 temporaries.
_BAND_PX = 1 << 20


def h_lattice(pair_map: PairMap, box: tuple[int, int, int, int]) -> np.ndarray:
    """(y1 - y0 + 2, x1 - x0 + 2, 2) JPEG-H positions of the L mosaic pixels x0 - 1 .. x1,
    y0 - 1 .. y1: the pair map's exact inverse, one point per mosaic pixel (the box and one more
    all round, so that every output pixel of the box lies strictly inside)."""
    x0, y0, x1, y1 = box
    xs, ys = np.meshgrid(np.arange(x0 - 1, x1 + 1.0), np.arange(y0 - 1, y1 + 1.0))
    return pair_map.inverse(np.stack([xs, ys], axis=-1))


def _lattice_weights(n_out: int, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    # Output pixel u lies at lattice coordinate (u + 0.5) / Z + 0.5 (the lattice starts one
    # mosaic pixel before the box): the cell on its left and the fraction across it.
    t = (np.arange(n_out, dtype=np.float64) + 0.5) / zoom + 0.5
    cell = np.floor(t).astype(np.int64)
    return cell, t - cell


def lattice_points(
    lattice: np.ndarray, zoom: int, box: tuple[int, int, int, int], rows: slice = slice(None)
) -> np.ndarray:
    """(h, w, 2) JPEG-H positions of a box's output pixels, bilinear in `h_lattice`.

    Reading the lattice rather than inverting at every output pixel costs Z^2 times fewer
    inversions; the inverse of a lens map is so smooth at one-mosaic-pixel spacing that the
    reading stays within 0.01 H px of the exact inverse of the grid (its cell edges are kinks;
    ~0.002 px at 12 MP, ~0.005 at 0.3 MP; tests/test_model_grid.py measures it)."""
    x0, y0, x1, y1 = box
    cx, fx = _lattice_weights(zoom * (x1 - x0), zoom)
    cy, fy = _lattice_weights(zoom * (y1 - y0), zoom)
    cy, fy = cy[rows], fy[rows, None, None]
    band = lattice[cy[0] : cy[-1] + 2]  # the lattice rows these output rows read
    cy = cy - cy[0]
    fx = fx[None, :, None]
    across = band[:, cx] * (1 - fx) + band[:, cx + 1] * fx
    return across[cy] * (1 - fy) + across[cy + 1] * fy


def target_points(
    pair_map: PairMap, zoom: int, box: tuple[int, int, int, int], rows: slice = slice(None)
) -> np.ndarray:
    """(h, w, 2) float64 JPEG-H coordinates each output pixel of the box is sampled at.

    Output pixel -> L mosaic coordinate -> the pair map's inverse: through a grid, read from
    `h_lattice` (exact inverse at every mosaic pixel); through h_to_l alone, inv(h_to_l)."""
    if not pair_map.has_grid:
        return pair_map.inverse(output_mosaic_points(zoom, box, rows))
    return lattice_points(h_lattice(pair_map, box), zoom, box, rows)


def target_on_grid(
    jpeg_h: np.ndarray, pair_map: PairMap, zoom: int, box: tuple[int, int, int, int]
) -> np.ndarray:
    """The H JPEG resampled on the output grid of an L mosaic box: (Z*h, Z*w, 3) uint8.

    Through h_to_l alone (no grid): one affine warp, as before grids existed. Through a grid: the
    same Gaussian prefilter and bicubic interpolation at the positions of `target_points`."""
    x0, y0, x1, y1 = box
    size = (zoom * (x1 - x0), zoom * (y1 - y0))
    if not pair_map.has_grid:
        out = warp(jpeg_h, output_to_h(pair_map.h_to_l, zoom, x0, y0), size)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    # The prefilter follows the similarity's scale: the grid departs from it by a few percent.
    shrink = 1.0 / (zoom * math.sqrt(abs(np.linalg.det(pair_map.h_to_l[:2, :2]))))
    src = prefiltered(jpeg_h, shrink)
    lattice = h_lattice(pair_map, box)
    out = np.empty((size[1], size[0], jpeg_h.shape[2]), dtype=np.uint8)
    band = max(1, _BAND_PX // max(size[0], 1))
    for top in range(0, size[1], band):
        rows = slice(top, min(top + band, size[1]))
        pts = lattice_points(lattice, zoom, box, rows)
        out[rows] = np.clip(np.rint(_remap(src, pts, cv2.INTER_CUBIC, 0.0)), 0, 255)
    return out


def jpeg_on_mosaic(
    jpeg: np.ndarray, jpeg_map: JpegMap | None, box: tuple[int, int, int, int]
) -> np.ndarray:
    """A frame's JPEG on its own RAW mosaic grid over `box`: (h, w, 3) uint8.

    A plain slice when the JPEG shares the RAW's grid (no stated geometry, or an identity one);
    otherwise bicubic at the JPEG position of each mosaic pixel (an undistorted, cropped JPEG
    such as Sony's 'Distortion Comp.: Auto' puts the RAW's pixels elsewhere)."""
    x0, y0, x1, y1 = box
    if jpeg_map is None or jpeg_map.is_identity:
        return np.ascontiguousarray(jpeg[y0:y1, x0:x1])
    xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    points = jpeg_map(np.stack([xs, ys], axis=-1))
    out = _remap(prefiltered(jpeg, jpeg_map.scale), points, cv2.INTER_CUBIC, 0.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def mosaic_on_grid(
    image: np.ndarray, zoom: int, x0: float, y0: float, size: tuple[int, int]
) -> np.ndarray:
    """Bicubic upsampling of an image on L's mosaic grid onto the output grid (the baseline)."""
    return warp(image, output_to_mosaic(zoom, x0, y0), size, interpolation=cv2.INTER_CUBIC)
