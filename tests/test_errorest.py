"""srraw_prep.errorest on exact synthetic matches: each kind of evidence reacts to what it is for."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from srraw.lens import Distortion, Normalisation
from srraw_prep.errorest import LOCAL_CELLS, coherent_local, error_evidence, supported
from srraw_prep.lensfit import FrameModel, Matches, jpeg_h_to_jpeg_l
from srraw_prep.residual import AlignedPair

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


def test_neighbouring_cells_must_agree_on_a_displacement():
    nan = np.full(2, np.nan)
    medians = np.tile(nan, (3, 4, 1))
    medians[1, 1] = (3.0, 0.0)
    assert coherent_local(medians) == 0.0  # one cell alone: no neighbour agrees
    medians[2, 2] = (2.0, 0.0)  # a diagonal neighbour pointing the same way
    assert coherent_local(medians) == pytest.approx(2.0)
    medians[2, 2] = (-2.0, 0.0)  # pointing the other way: no agreement
    assert coherent_local(medians) == 0.0
    medians[1, 2] = (0.0, 2.0)  # at right angles: no agreement either
    assert coherent_local(medians) == pytest.approx(0.0, abs=1e-12)
    medians[0, 1] = (2.0, 2.0)  # 45 degrees from (3, 0): the smaller, times cos 45
    assert coherent_local(medians) == pytest.approx(2.0 * math.sqrt(2) * math.cos(math.pi / 4))


def test_flow_gone_wrong_within_one_cell_is_not_a_misalignment():
    """The largest cell mean (the old local term) read a cell's worth of bad flow as a 2 px
    misalignment; a moved region two cells wide is read in full."""
    frames = _frames()
    pts = _lattice(0, SIZE[0] - 1, 0, SIZE[1] - 1, 120)
    m = _matches(frames, pts)
    cell_w, cell_h = SIZE[0] / LOCAL_CELLS[0], SIZE[1] / LOCAL_CELLS[1]
    inside = (pts[:, 0] >= 5 * cell_w) & (pts[:, 0] < 6 * cell_w)
    blob = inside & (pts[:, 1] >= 4 * cell_h) & (pts[:, 1] < 5 * cell_h)
    wrong = m.points_l.copy()
    wrong[blob] += (8.0 / 4, 0.0)  # 8 H px of bad flow in one cell
    ev = error_evidence(frames, Matches(1, 2, m.points_h, wrong))
    assert ev.local_px < 0.5 and ev.estimate_px < 1.0
    region = (pts[:, 0] >= 5 * cell_w) & (pts[:, 0] < 7 * cell_w) & (pts[:, 1] < 3 * cell_h)
    moved = m.points_l.copy()
    moved[region] += (3.0 / 4, 0.0)
    assert error_evidence(frames, Matches(1, 2, m.points_h, moved)).local_px > 2.5


def test_a_few_matches_far_off_in_every_cell_do_not_count():
    frames = _frames()
    pts = _lattice(0, SIZE[0] - 1, 0, SIZE[1] - 1, 120)
    m = _matches(frames, pts)
    points_l = m.points_l.copy()
    points_l[::8] += (12.0 / 4, 0.0)  # one match in eight, 12 H px off, all one way
    ev = error_evidence(frames, Matches(1, 2, m.points_h, points_l))
    assert ev.local_px < 0.5  # a cell mean would read 1.5 px everywhere


def _texture(shift: tuple[float, float] = (0.0, 0.0), size=(320, 240)) -> np.ndarray:
    """A smooth random texture, its content moved by `shift` pixels (exact: sampled)."""
    rng = np.random.default_rng(4)
    base = cv2.GaussianBlur(rng.random((size[1] + 40, size[0] + 40), dtype=np.float32), (0, 0), 2.0)
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float32) + 20
    return cv2.remap(base, xs - np.float32(shift[0]), ys - np.float32(shift[1]), cv2.INTER_CUBIC)


@pytest.mark.parametrize("scale", [1.0, 2.0])  # H pixels per grid pixel
def test_a_cell_counts_only_where_the_images_support_its_residual(scale):
    size_grid = (320, 240)
    size_h = (round(320 * scale), round(240 * scale))
    grid_to_h = np.array([[scale, 0, (scale - 1) / 2], [0, scale, (scale - 1) / 2], [0, 0, 1]])
    # grid px: H's content sits this far from where the map puts it in L (H(x) ~ L(x + r))
    residual = np.array([2.0, -1.5])
    high = _texture()
    medians = np.zeros((LOCAL_CELLS[1], LOCAL_CELLS[0], 2))
    medians[:] = residual * scale  # every cell claims it, in H px
    medians[0, 0] = np.nan  # a cell without matches stays without
    valid = np.ones(size_grid[::-1], bool)
    moved = AlignedPair(_texture(tuple(residual)), high, valid, grid_to_h)
    kept = supported(medians, moved, size_h)
    assert np.isnan(kept[0, 0]).all()
    assert np.isfinite(kept).all(axis=-1).sum() == medians[..., 0].size - 1
    # The same claim where L is not moved at all: the flow was wrong, no cell counts.
    still = AlignedPair(_texture(), high, valid, grid_to_h)
    assert np.isnan(supported(medians, still, size_h)).all()


def test_the_local_term_ignores_a_residual_the_images_do_not_show():
    frames = _frames()
    m = _matches(frames, _lattice(0, SIZE[0] - 1, 0, SIZE[1] - 1, 80), noise=0.05)
    # The flow read a 3 px shift over a block of cells (a quarter of RGB-H) that is not there.
    block = (m.points_h[:, 0] < SIZE[0] / 2) & (m.points_h[:, 1] < SIZE[1] / 2)
    shifted = m.points_h + np.where(block[:, None], [3.0, 0.0], 0.0)
    wrong = Matches(1, 2, m.points_h, jpeg_h_to_jpeg_l(frames[1], frames[2], shifted))
    assert error_evidence(frames, wrong).local_px > 2.5
    # The pair's images on H's grid agree with the map everywhere: that block does not count.
    texture = _texture(size=SIZE)
    pair = AlignedPair(texture, texture.copy(), np.ones(SIZE[::-1], bool), np.eye(3))
    assert error_evidence(frames, wrong, pair).local_px < 0.5
    # Images that show L's content moved over that block, as the flow said: it counts.
    moved = texture.copy()
    moved[: SIZE[1] // 2, : SIZE[0] // 2] = _texture((3.0, 0.0), size=SIZE)[
        : SIZE[1] // 2, : SIZE[0] // 2
    ]
    pair = AlignedPair(moved, texture, np.ones(SIZE[::-1], bool), np.eye(3))
    assert error_evidence(frames, wrong, pair).local_px > 2.5
