"""srraw_prep.errorest on exact synthetic matches: each kind of evidence reacts to what it is for."""

from __future__ import annotations

import numpy as np

from srraw.lens import Distortion, Normalisation
from srraw_prep.errorest import error_evidence
from srraw_prep.lensfit import FrameModel, Matches, jpeg_h_to_jpeg_l

SIZE = (960, 640)


def _frames() -> dict[int, FrameModel]:
    def frame(index: int, pose: np.ndarray) -> FrameModel:
        return FrameModel(
            index=index,
            raw_size=SIZE,
            jpeg_size=SIZE,
            norm=Normalisation.lensfun(*SIZE),
            distortion=Distortion("ptlens", (0.01, -0.03, 0.02)),
            prior=None,
            pose=pose,
        )

    c = np.array([(SIZE[0] - 1) / 2, (SIZE[1] - 1) / 2])
    zoom = np.diag([4.0, 4.0, 1.0])
    zoom[:2, 2] = c - 4 * c + (3.0, -2.0)
    return {1: frame(1, np.eye(3)), 2: frame(2, zoom)}


def _matches(frames, points_h: np.ndarray, noise: float = 0.3) -> Matches:
    rng = np.random.default_rng(0)
    points_l = jpeg_h_to_jpeg_l(frames[1], frames[2], points_h)
    # Flow noise: in H pixels, brought to L through the map's scale (1/4).
    points_l = points_l + rng.normal(0, noise / 4, points_l.shape)
    return Matches(1, 2, points_h, points_l)


def _lattice(x0: float, x1: float, y0: float, y1: float, n: int = 60) -> np.ndarray:
    xs, ys = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def test_well_spread_matches_give_a_small_estimate():
    frames = _frames()
    ev = error_evidence(frames, _matches(frames, _lattice(0, SIZE[0] - 1, 0, SIZE[1] - 1)))
    assert ev.estimate_px < 0.3 and ev.coverage == 1.0
    assert ev.cycle_px < 0.1


def test_texture_in_one_corner_raises_the_lever_arm():
    frames = _frames()
    spread = error_evidence(frames, _matches(frames, _lattice(0, SIZE[0] - 1, 0, SIZE[1] - 1)))
    corner = error_evidence(frames, _matches(frames, _lattice(0, 150, 0, 100, 25)))
    assert corner.lever_px > 5 * spread.lever_px
    assert corner.coverage < 0.1


def test_a_region_that_moved_is_seen_by_the_local_residual():
    frames = _frames()
    pts = _lattice(0, SIZE[0] - 1, 0, SIZE[1] - 1)
    m = _matches(frames, pts)
    moved = (pts[:, 0] > 700) & (pts[:, 1] > 450)  # a foreground patch shifted 3 H px
    points_l = m.points_l.copy()
    points_l[moved] += (3.0 / 4, 0.0)
    ev = error_evidence(frames, Matches(1, 2, m.points_h, points_l))
    assert ev.local_px > 2.0 and ev.estimate_px > 2.0
