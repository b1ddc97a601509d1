"""Crops of a cached pair: input window of the L mosaic and the matching target, pure slicing.

A packed crop of size c at box mosaic offset (x0, y0) (even) covers mosaic [x0, x0 + 2c); its
output grid is the box target's [Z x0, Z (x0 + 2c)). The target may carry a margin of m output
pixels on each side, for the misalignment CoBi tolerates.

Flips keep the CFA honest: flipping a mosaic window moves the Bayer phase, so a flipped crop
takes the window one mosaic pixel further, [x0 + 1, x0 + 2c + 1), whose mirror image has the
same layout as the frame. Its target is the box target's [Z (x0 + 1), Z (x0 + 2c + 1)), mirrored
(output pixel u sits at mosaic x0 + 2c - ((u + 0.5) / Z - 0.5), which is exactly that).
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Crop:
    """Where a crop lies in the box (mosaic px, even) and how it is flipped."""

    x0: int
    y0: int
    size: int  # packed px
    flip_x: bool = False
    flip_y: bool = False


def crop_bounds(box_w: int, box_h: int, size: int, margin_px: int, zoom: int) -> tuple[int, int]:
    """Largest even (x0, y0) allowed, so any flip of the crop and its margin stays in the box.

    Returns (-1, -1) when the crop does not fit.
    """
    low = lowest_offset(margin_px, zoom)
    hi_x = box_w - 2 * size - 1 - low
    hi_y = box_h - 2 * size - 1 - low
    hi_x -= hi_x % 2
    hi_y -= hi_y % 2
    if hi_x < low or hi_y < low:
        return -1, -1
    return hi_x, hi_y


def lowest_offset(margin_px: int, zoom: int) -> int:
    """Smallest even mosaic offset whose target margin stays in the box."""
    low = -(-margin_px // zoom)
    return low + low % 2


def random_crop(
    rng: np.random.Generator,
    box_w: int,
    box_h: int,
    size: int,
    margin_px: int,
    zoom: int,
    flips: bool,
) -> Crop:
    low = lowest_offset(margin_px, zoom)
    hi_x, hi_y = crop_bounds(box_w, box_h, size, margin_px, zoom)
    if hi_x < 0:
        raise ValueError(f"a {size} px packed crop (margin {margin_px}) does not fit the box")
    x0 = low + 2 * int(rng.integers(0, (hi_x - low) // 2 + 1))
    y0 = low + 2 * int(rng.integers(0, (hi_y - low) // 2 + 1))
    flip_x = bool(flips and rng.integers(0, 2))
    flip_y = bool(flips and rng.integers(0, 2))
    return Crop(x0, y0, size, flip_x, flip_y)


def _window(start: int, length: int, flip: bool) -> slice:
    return slice(start + 1, start + 1 + length) if flip else slice(start, start + length)


def mosaic_window(image: np.ndarray, crop: Crop) -> np.ndarray:
    """The crop's 2c x 2c window of a mosaic-grid image (mosaic or RGB-L), flipped; a copy."""
    n = 2 * crop.size
    out = image[_window(crop.y0, n, crop.flip_y), _window(crop.x0, n, crop.flip_x)]
    if crop.flip_y:
        out = out[::-1]
    if crop.flip_x:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def target_window(target: np.ndarray, crop: Crop, zoom: int, margin_px: int = 0) -> np.ndarray:
    """The crop's target: (2Zc + 2m) square from the box target, flipped like the input; a copy."""
    n = 2 * zoom * crop.size + 2 * margin_px

    def axis(start: int, flip: bool) -> slice:
        first = zoom * (start + 1 if flip else start) - margin_px
        return slice(first, first + n)

    out = target[axis(crop.y0, crop.flip_y), axis(crop.x0, crop.flip_x)]
    if crop.flip_y:
        out = out[::-1]
    if crop.flip_x:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)
