"""A frame's JPEG measured against its own RAW (srraw_prep/jpeggeom.py), on frames made here
with a known offset between the two grids."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from srraw.exif import Exif
from srraw.isp import srgb_encode
from srraw.lens import Normalisation
from srraw.raw import RawFrame
from srraw_prep.jpeggeom import measure_jpeg_geometry, raw_green

SIZE = (1200, 800)  # (w, h) of the mosaic and of the JPEG


def _texture(seed: int) -> np.ndarray:
    """Linear light at full resolution: noise blurred at two scales (texture everywhere)."""
    rng = np.random.default_rng(seed)
    w, h = SIZE
    fine = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 1.5)
    coarse = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 8)
    mix = 0.5 * (fine - fine.mean()) / fine.std() + 0.5 * (coarse - coarse.mean()) / coarse.std()
    return np.clip(0.25 + 0.08 * mix, 0.01, 1.0)


def _frame(offset: tuple[float, float], seed: int):
    """(JPEG green as uint8 sRGB, RAW green at half resolution, normalisation): JPEG pixel q
    shows mosaic point q - offset."""
    linear = _texture(seed)
    w, h = SIZE
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    jpeg_linear = cv2.remap(
        linear, xs - offset[0], ys - offset[1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
    )
    jpeg = np.clip(srgb_encode(jpeg_linear) * 255 + 0.5, 0, 255).astype(np.uint8)
    # Half-resolution green: pixel g averages mosaic [2 g, 2 g + 2), centred on 2 g + 0.5.
    green = cv2.resize(linear, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return jpeg, green, Normalisation.lensfun(w, h)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_jpeg_pixels_off_its_raw_is_measured_where_it_is(seed):
    # Whole and half pixels, as a body's crop of its sensor gives; one flow pass alone read
    # these 0.03-0.09 px long.
    jpeg, green, norm = _frame((2.0, -1.5), seed)
    g = measure_jpeg_geometry(jpeg, green, norm, None, max_pixels=60_000)
    assert g.kind == "raw"
    assert g.offset == pytest.approx((2.0, -1.5), abs=0.025)
    assert g.scale == pytest.approx(1.0, abs=2e-4)


def test_a_jpeg_cropped_from_its_raw_is_measured_at_scale_one():
    # The body keeps the sensor's pixels [12, w - 4) x [6, h - 10): a JPEG 16 px narrower and
    # off the RAW's centre by (-4, +2). The flow's patches at the JPEG's edge read the zero
    # beyond it: the scale came out 1.7e-4 low (0.12 px at the corners) before EDGE_MARGIN.
    jpeg, green, norm = _frame((0.0, 0.0), 1)
    left, top, right, bottom = 12, 6, 4, 10
    cropped = np.ascontiguousarray(jpeg[top : SIZE[1] - bottom, left : SIZE[0] - right])
    g = measure_jpeg_geometry(cropped, green, norm, None, max_pixels=60_000)
    assert g.kind == "raw"
    assert g.scale == pytest.approx(1.0, abs=3e-5)
    assert g.offset == pytest.approx(((right - left) / 2, (bottom - top) / 2), abs=0.03)


def test_a_jpeg_on_its_raw_grid_is_measured_at_zero():
    jpeg, green, norm = _frame((0.0, 0.0), 0)
    g = measure_jpeg_geometry(jpeg, green, norm, None, max_pixels=60_000)
    assert g.kind == "raw" and g.residual_px is not None
    assert g.offset == pytest.approx((0.0, 0.0), abs=0.02)


@pytest.mark.parametrize("cfa", ["RGGB", "GBRG", "BGGR", "GRBG"])
def test_raw_green_averages_the_two_green_sites_of_each_cell(cfa):
    rng = np.random.default_rng(4)
    mosaic = rng.integers(0, 16384, (9, 12), dtype=np.uint16)  # an odd row count: dropped
    black = (512.0, 500.0, 520.0, 508.0)  # R, G1, B, G2: each green its own level
    raw = RawFrame(Path("x.dng"), mosaic, 12, 9, cfa, black, 16383, (1, 1, 1), None, Exif())
    green = raw_green(raw)
    assert green.shape == (4, 6) and green.dtype == np.float32
    # the green sites of the 2x2 cell at (2 y, 2 x), each scaled by its own levels: G1 is the
    # green in the red row, G2 the one in the blue row
    red_row = cfa.index("R") // 2
    sites = sorted(
        ((r, c) for r in (0, 1) for c in (0, 1) if cfa[2 * r + c] == "G"),
        key=lambda site: site[0] != red_row,
    )
    g1, g2 = (mosaic[r:8:2, c::2].astype(np.float64) for r, c in sites)
    expect = 0.5 * (g1 - 500.0) / (16383 - 500.0) + 0.5 * (g2 - 508.0) / (16383 - 508.0)
    np.testing.assert_allclose(green, np.clip(expect, 0, 1), rtol=0, atol=1e-6)
