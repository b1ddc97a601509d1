"""A frame's JPEG against its own RAW: the coarse check, and one raw model pooled over frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from srraw.isp import srgb_encode
from srraw.lens import Normalisation
from srraw_prep.jpeggeom import JpegGeometry, measure_jpeg_geometry, pooled_raw_geometry

SIZE = (1200, 800)  # (w, h) of the mosaic and the JPEG


def _texture(seed: int) -> np.ndarray:
    """Linear light, full resolution: noise blurred at two scales (texture everywhere)."""
    rng = np.random.default_rng(seed)
    w, h = SIZE
    fine = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 1.5)
    coarse = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 8)
    mix = 0.5 * (fine - fine.mean()) / fine.std() + 0.5 * (coarse - coarse.mean()) / coarse.std()
    return np.clip(0.25 + 0.08 * mix, 0.01, 1.0)


def _frame(offset: tuple[float, float], seed: int = 0, swirl: float = 0.0):
    """(JPEG green uint8 sRGB, RAW green at half resolution, normalisation): the JPEG is the
    RAW's grid moved by `offset` JPEG px (and radially warped by `swirl`)."""
    linear = _texture(seed)
    w, h = SIZE
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    r2 = ((xs - w / 2) ** 2 + (ys - h / 2) ** 2) / (w / 2) ** 2
    # JPEG pixel q shows mosaic point p = q - offset (radially scaled by the swirl).
    px = (xs - w / 2) * (1 + swirl * r2) + w / 2 - offset[0]
    py = (ys - h / 2) * (1 + swirl * r2) + h / 2 - offset[1]
    jpeg_linear = cv2.remap(linear, px, py, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    jpeg = np.clip(srgb_encode(jpeg_linear) * 255 + 0.5, 0, 255).astype(np.uint8)
    # Half-resolution green: pixel g averages mosaic [2g, 2g + 2), centred on 2 g + 0.5.
    green = cv2.resize(linear, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return jpeg, green, Normalisation.lensfun(w, h)


def test_the_coarse_check_finds_the_raw_grid_and_pooling_gives_every_frame_the_mean():
    full = []
    for seed in range(3):
        jpeg, green, norm = _frame((0.3, -0.2), seed)
        full.append(measure_jpeg_geometry(jpeg, green, norm, None, max_pixels=60_000))
    jpeg, green, norm = _frame((0.3, -0.2), seed=7)
    check = measure_jpeg_geometry(jpeg, green, norm, None, max_pixels=60_000, check_pixels=12_000)
    assert check.kind == "raw" and check.coarse and not any(g.coarse for g in full)
    for g in [*full, check]:
        assert g.offset == pytest.approx((0.3, -0.2), abs=0.15)
    pooled = pooled_raw_geometry([(g, norm, SIZE) for g in [*full, check]])
    mean = np.average([g.offset for g in full], axis=0, weights=[g.matches for g in full])
    for g in pooled:
        assert g.offset == pytest.approx(tuple(mean), abs=1e-9)
        assert g.residual_px is not None and g.residual_px < 0.3
    # The pooled offset is at least as close to the truth as the check's own.
    truth = np.array([0.3, -0.2])
    assert np.abs(mean - truth).max() <= np.abs(np.subtract(check.offset, truth)).max() + 0.02


def test_a_jpeg_the_raw_model_cannot_explain_is_measured_in_full():
    jpeg, green, norm = _frame((0.0, 0.0), swirl=0.02)  # ~12 px at the corners
    g = measure_jpeg_geometry(jpeg, green, norm, None, max_pixels=60_000, check_pixels=12_000)
    assert not g.coarse


def _geometry(offset, scale=1.0, coarse=False, matches=100) -> JpegGeometry:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, SIZE[0], (matches, 2))
    q = p + np.asarray(offset)  # the frame's own matches: exactly its own offset
    return JpegGeometry("raw", scale, offset, None, 0.0, matches, (p, q), coarse)


def test_a_frame_that_disagrees_keeps_its_own_model():
    norm = Normalisation.lensfun(*SIZE)
    frames = [_geometry((0.1, 0.0)), _geometry((0.12, 0.0)), _geometry((2.0, 1.0))]
    frames += [_geometry((0.15, 0.05), coarse=True), _geometry((-1.0, 0.0), coarse=True)]
    corrected = JpegGeometry("corrected", 1.02, (0.0, 0.0), None, 0.1, 50)
    out = pooled_raw_geometry([(g, norm, SIZE) for g in [*frames, corrected]])
    assert out[0].offset == out[1].offset == out[3].offset == pytest.approx((0.11, 0.0))
    # each agreeing frame's residual is its own matches' against the pooled model
    assert out[3].residual_px == pytest.approx(np.hypot(0.04, 0.05))
    assert out[2] == frames[2] and out[4] == frames[4] and out[5] == corrected


def test_frames_of_other_sizes_pool_apart():
    a, b = Normalisation.lensfun(*SIZE), Normalisation.lensfun(600, 400)
    frames = [(_geometry((0.1, 0.0)), a, SIZE), (_geometry((0.3, 0.0)), b, (600, 400))]
    out = pooled_raw_geometry(frames)
    assert [g.offset for g in out] == [(0.1, 0.0), (0.3, 0.0)]
