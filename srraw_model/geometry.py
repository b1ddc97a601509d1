"""Output-grid geometry: where each output pixel lies in the L mosaic and in the H JPEG.

The output grid has Z pixels per L mosaic pixel (2Z per packed pixel). Output pixel (u, v) of a
grid anchored at mosaic pixel (x0, y0) has its centre at mosaic coordinate
((u + 0.5) / Z - 0.5 + x0, (v + 0.5) / Z - 0.5 + y0); origin at the centre of the top-left pixel.
Mapping that through inv(h_to_l) lands in the H JPEG, which applies the scale offset by itself.
"""

from __future__ import annotations

import cv2
import numpy as np


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
    linear = dst_to_src[:2, :2]
    shrink = float(np.sqrt(abs(np.linalg.det(linear))))
    src = image.astype(np.float32)
    sigma = antialias_sigma(shrink)
    if sigma > 0.05:
        src = cv2.GaussianBlur(src, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
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
    pts = np.stack([xs, ys, np.ones_like(xs)], axis=-1).reshape(-1, 3) @ dst_to_src.T
    map_x = (pts[:, 0] / pts[:, 2]).reshape(size[1], size[0]).astype(np.float32)
    map_y = (pts[:, 1] / pts[:, 2]).reshape(size[1], size[0]).astype(np.float32)
    return cv2.remap(
        src, map_x, map_y, interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=border_value
    )


def target_on_grid(
    jpeg_h: np.ndarray, h_to_l: np.ndarray, zoom: int, box: tuple[int, int, int, int]
) -> np.ndarray:
    """The H JPEG resampled on the output grid of an L mosaic box: (Z*h, Z*w, 3) uint8."""
    x0, y0, x1, y1 = box
    size = (zoom * (x1 - x0), zoom * (y1 - y0))
    out = warp(jpeg_h, output_to_h(h_to_l, zoom, x0, y0), size)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def mosaic_on_grid(
    image: np.ndarray, zoom: int, x0: float, y0: float, size: tuple[int, int]
) -> np.ndarray:
    """Bicubic upsampling of an image on L's mosaic grid onto the output grid (the baseline)."""
    return warp(image, output_to_mosaic(zoom, x0, y0), size, interpolation=cv2.INTER_CUBIC)
