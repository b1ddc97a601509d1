"""srraw_prep.lensfit: the joint fit's covariance says how far its maps scatter with the noise."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from srraw.lens import Distortion, Normalisation
from srraw_prep.lensfit import (
    POINT_SIGMA_PX,
    FrameModel,
    Matches,
    fit_sequence,
    jpeg_h_to_jpeg_l,
    jpeg_h_to_raw_l,
    map_sigma,
)

SIZE = (960, 640)


def _frames() -> dict[int, FrameModel]:
    def frame(index: int, pose: np.ndarray, terms: tuple[float, ...]) -> FrameModel:
        return FrameModel(
            index=index,
            raw_size=SIZE,
            jpeg_size=SIZE,
            norm=Normalisation.lensfun(*SIZE),
            distortion=Distortion("ptlens", terms),
            prior=Distortion("ptlens", terms),
            pose=pose,
        )

    c = np.array([(SIZE[0] - 1) / 2, (SIZE[1] - 1) / 2])
    zoom = np.diag([2.0, 2.0, 1.0])
    zoom[:2, 2] = c - 2 * c + (3.0, -2.0)
    return {1: frame(1, np.eye(3), (0.01, -0.03, 0.02)), 2: frame(2, zoom, (0.0, 0.01, -0.01))}


def _points(x1: float, y1: float, n: int = 30) -> np.ndarray:
    xs, ys = np.meshgrid(np.linspace(0, x1, n), np.linspace(0, y1, n))
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def _scatter(points_h: np.ndarray, draws: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(spread of the fitted map over noise draws, mean predicted 1-sigma), per probe point:
    the far corners and the centre of H, in RAW-L pixels."""
    truth = _frames()
    probes = np.array([[0.0, 0.0], [SIZE[0] - 1.0, SIZE[1] - 1.0], [SIZE[0] / 2, SIZE[1] / 2]])
    exact = jpeg_h_to_jpeg_l(truth[1], truth[2], points_h)
    rng = np.random.default_rng(1)
    mapped, predicted = [], []
    for _ in range(draws):
        frames = copy.deepcopy(truth)
        # Noise of POINT_SIGMA_PX in H's ideal pixels: in L it is half that (H is 2x L).
        noisy = exact + rng.normal(0, POINT_SIGMA_PX / 2, exact.shape)
        report = fit_sequence(
            frames, [Matches(1, 2, points_h, noisy)], reference=1, covariance=True
        )
        mapped.append(jpeg_h_to_raw_l(frames[1], frames[2], probes))
        predicted.append(map_sigma(frames, report, 1, 2, probes))
    mapped = np.array(mapped)
    spread = np.sqrt(mapped.var(axis=0).sum(axis=-1))
    return spread, np.mean(predicted, axis=0)


@pytest.mark.parametrize("extent", [(SIZE[0] - 1, SIZE[1] - 1), (300, 200)])
def test_the_covariance_predicts_how_far_the_map_scatters(extent):
    spread, predicted = _scatter(_points(*extent))
    assert np.all(predicted > 0)
    # 40 draws: a sample spread within about 25% of the truth; the fit is nearly linear here.
    np.testing.assert_allclose(predicted, spread, rtol=0.35)


def test_matches_in_one_corner_leave_the_far_corner_uncertain():
    _, spread_out = _scatter(_points(SIZE[0] - 1, SIZE[1] - 1), draws=2)
    _, corner = _scatter(_points(300, 200), draws=2)
    assert corner[1] > 2 * spread_out[1]  # the corner far from the matches
    assert corner[1] > 2 * corner[0]  # ... against the corner they lie in


def test_no_covariance_gives_no_sigma():
    frames = _frames()
    report = fit_sequence(frames, [], reference=1, covariance=True)
    assert np.isnan(map_sigma(frames, report, 1, 2, np.zeros((3, 2)))).all()
