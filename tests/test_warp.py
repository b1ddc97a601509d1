"""Resampling through point maps (srraw_prep/warp.py): geometry exact, low-pass as asked."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from srraw.isp import srgb_decode_u8
from srraw.lens import Distortion, LensGeometry, Normalisation
from srraw_prep.geometry import scaling, translation
from srraw_prep.warp import HALF_BAND_ROWS, Pyramid, dense_map, sample, shrink_area


@pytest.mark.parametrize("thin", [False, True])
@pytest.mark.parametrize("sigma", [0.0, 1.5, 4.3, 6.0, 9.7])
def test_sample_reads_a_ramp_at_the_asked_points(sigma, thin):
    ys, xs = np.mgrid[0:400, 0:600].astype(np.float32)
    # A grid of 1/8 the size, its pixel centres mapped exactly onto the source.
    grid_to_src = translation(-0.5, -0.5) @ scaling(8.0) @ translation(0.5, 0.5)
    at = dense_map(lambda p: p + np.array([3.25, -2.5]), (60, 40), grid_to_src)
    inner = (slice(6, -6), slice(6, -6))  # the blur reads reflected pixels at the borders
    for axis, ramp in enumerate((xs, ys)):  # a ramp's value is the position: a centre error shows
        got = sample(ramp, at, sigma=sigma, interpolation=cv2.INTER_LINEAR, thin=thin)
        np.testing.assert_allclose(got[inner], at[..., axis][inner], atol=0.01)


def test_thinned_box_low_passes_like_the_full_one():
    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.random((800, 1200), dtype=np.float32), (0, 0), 3.0)
    grid_to_src = translation(-0.5, -0.5) @ scaling(10.0) @ translation(0.5, 0.5)
    at = dense_map(lambda p: p, (120, 80), grid_to_src)
    full = sample(texture, at, sigma=4.5)
    thin = sample(texture, at, sigma=4.5, thin=True)
    inner = (slice(4, -4), slice(4, -4))
    spread = full[inner].std()
    assert np.abs(thin[inner] - full[inner]).mean() < 0.1 * spread


@pytest.mark.parametrize("height", [2 * HALF_BAND_ROWS * 3, 2 * HALF_BAND_ROWS * 3 + 7])
def test_pyramid_level_one_is_the_whole_frame_decoded_then_halved(height):
    # Built in bands of rows: the same values as decoding the frame whole, odd edges dropped.
    rgb = np.random.default_rng(8).integers(0, 256, (height, 301, 3), dtype=np.uint8)
    whole = srgb_decode_u8(np.ascontiguousarray(rgb[..., 1]))
    h, w = height // 2, 150
    expected = cv2.resize(whole[: 2 * h, : 2 * w], (w, h), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(Pyramid(rgb[..., 1]).level(1), expected)
    np.testing.assert_array_equal(Pyramid(rgb, channel=1).level(1), expected)


def test_shrink_area_is_the_area_average():
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (2832, 4240, 3), dtype=np.uint8)
    image = cv2.GaussianBlur(image, (0, 0), 2.0)
    direct = cv2.resize(image, (320, 214), interpolation=cv2.INTER_AREA)
    two_step = shrink_area(image, (320, 214))
    assert two_step.shape == direct.shape
    assert np.abs(two_step.astype(int) - direct).mean() < 0.5


def test_dense_map_is_the_map_within_a_hundredth_between_lattice_nodes():
    lens = LensGeometry(Distortion("ptlens", (0.01, -0.04, 0.02)), Normalisation.lensfun(997, 661))

    def fn(p: np.ndarray) -> np.ndarray:
        return lens.undistort(p) * 1.01 + np.array([2.5, -1.0])

    grid_to_src = translation(-0.5, -0.5) @ scaling(1.5) @ translation(0.5, 0.5)
    size = (665, 441)  # not a multiple of the lattice step: the last nodes lie outside
    exact = dense_map(fn, size, grid_to_src, step=1)
    lattice = dense_map(fn, size, grid_to_src)
    assert lattice.shape == exact.shape == (441, 665, 2)
    # this lens moves the corners 26 px; the lattice is off by 0.0067 px at most
    assert np.abs(lattice - exact).max() < 0.01
    # ... and is bilinear reading of the lattice at x / 8, as remap through a full map gives
    nodes = dense_map(fn, (-(-664 // 8) * 8 + 1, -(-440 // 8) * 8 + 1), grid_to_src, step=1)
    nodes = np.ascontiguousarray(nodes[::8, ::8])
    gy, gx = np.mgrid[0:441, 0:665].astype(np.float32) / np.float32(8)
    remapped = cv2.remap(nodes, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    np.testing.assert_array_equal(lattice, remapped)
