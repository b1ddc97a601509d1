"""Small checkerboard overlays of a pair, for the QA report."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from srraw_prep.geometry import PointMap, point_map, scaling, translation
from srraw_prep.warp import dense_map, sample, sampling_step, shrink_area


def checkerboards(
    rgb_l: np.ndarray,
    rgb_h: np.ndarray,
    maps: Sequence[PointMap],
    width: int,
    tiles: int = 8,
) -> list[bytes]:
    """JPEG bytes of RGB-H and RGB-L (warped through each h_to_l: JPEG-H px -> JPEG-L px, a
    3x3 matrix or a function of points) in alternating tiles, one overlay per map."""
    hh, hw = rgb_h.shape[:2]
    height = max(1, round(width * hh / hw))
    thumb_to_h = translation(-0.5, -0.5) @ scaling(hw / width, hh / height) @ translation(0.5, 0.5)
    high = shrink_area(rgb_h, (width, height))
    ys, xs = np.mgrid[0:height, 0:width]
    tile = max(1, width // tiles)
    mask = ((xs // tile + ys // tile) % 2).astype(bool)
    out = []
    for h_to_l in maps:
        at = dense_map(point_map(h_to_l), (width, height), thumb_to_h)
        sigma = 0.4 * max(1.0, sampling_step(at))
        low = sample(rgb_l, at, sigma=sigma, interpolation=cv2.INTER_LINEAR, border=0.0)
        mixed = np.where(mask[..., None], low, high)
        ok, data = cv2.imencode(
            ".jpg", cv2.cvtColor(mixed, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85]
        )
        out.append(data.tobytes() if ok else b"")
    return out
