"""srraw.lens against lensfun itself (lensfunpy), srraw.pairmap's grid reading, and the lens
geometry `srraw synth` renders (truth.json checked against the pixels)."""

from __future__ import annotations

import cv2
import lensfunpy
import numpy as np
import pytest

from srraw.isp import srgb_decode_u8
from srraw.lens import Distortion, LensGeometry, Normalisation, crop_scale
from srraw.lensdb import find_lens
from srraw.pairmap import PairMap, fit_similarity, node_positions, sample_grid
from srraw.synth.cli import synthesize
from srraw.synth.truth import frame_lens, frame_record, jpeg_h_to_raw_l, jpeg_size, load_truth

FE = "Sony FE 24-240mm f/3.5-6.3 OSS"


def _lensfun_points(lens, crop: float, size: tuple[int, int], focal: float, pts: np.ndarray):
    mod = lensfunpy.Modifier(lens, crop, *size)
    mod.initialize(focal, 8.0, 1000.0, scale=1.0, flags=lensfunpy.ModifyFlags.DISTORTION)
    # One call per point: a whole-frame call accumulates float32 steps along each row.
    return np.array([mod.apply_geometry_distortion(float(x), float(y), 1, 1)[0, 0] for x, y in pts])


def _sample_points(size: tuple[int, int], n: int = 40) -> np.ndarray:
    w, h = size
    rng = np.random.default_rng(0)
    corners = [[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1], [w // 2, 0], [0, h // 2]]
    return np.vstack([corners, np.c_[rng.integers(0, w, n), rng.integers(0, h, n)]])


@pytest.mark.parametrize("size", [(4240, 2832), (768, 512)])
def test_ptlens_matches_lensfun_at_every_calibrated_focal(size):
    entry = find_lens(FE)
    assert entry is not None
    pts = _sample_points(size)
    worst = 0.0
    for calib in entry.handle.calib_distortion:
        geometry = LensGeometry(entry.distortion_at(calib.focal), entry.normalisation(*size, 1.0))
        ref = _lensfun_points(entry.handle, 1.0, size, calib.focal, pts)
        worst = max(worst, float(np.abs(geometry.distort(pts.astype(float)) - ref).max()))
    # lensfun computes in float32: ~1e-7 relative of coordinates of a few thousand pixels.
    assert worst < 1e-3 * max(size) / 4240


def test_interpolated_focal_and_other_crop_factor_match_lensfun():
    entry = find_lens(FE)
    size = (960, 640)
    pts = _sample_points(size)
    for focal, crop in ((60.0, 1.0), (130.0, 1.5)):
        norm = entry.normalisation(*size, crop)
        geometry = LensGeometry(entry.distortion_at(focal), norm)
        ref = _lensfun_points(entry.handle, crop, size, focal, pts)
        assert np.abs(geometry.distort(pts.astype(float)) - ref).max() < 5e-4


@pytest.mark.parametrize("model", ["POLY3", "POLY5"])
def test_poly_models_match_lensfun(model):
    db = lensfunpy.Database()
    lens = next(
        item
        for item in db.lenses
        if item.calib_distortion
        and str(item.calib_distortion[0].model).endswith(model)
        and any(abs(t) > 1e-3 for t in item.calib_distortion[0].terms)
    )
    entry = find_lens(f"{lens.maker} {lens.model}")
    assert entry is not None
    focal = float(lens.calib_distortion[0].focal)
    size = (1200, 800)
    pts = _sample_points(size)
    geometry = LensGeometry(entry.distortion_at(focal), entry.normalisation(*size, None))
    assert geometry.distortion.model == model.lower()
    ref = _lensfun_points(lens, lens.crop_factor, size, focal, pts)
    assert np.abs(geometry.distort(pts.astype(float)) - ref).max() < 5e-4


def test_undistort_inverts_distort_and_barrel_pulls_corners_in():
    entry = find_lens(FE)
    geometry = LensGeometry(entry.distortion_at(24.0), entry.normalisation(4240, 2832, 1.0))
    ys, xs = np.mgrid[0:2832:61, 0:4240:53].astype(float)
    real = np.stack([xs, ys], axis=-1)
    assert np.abs(geometry.distort(geometry.undistort(real)) - real).max() < 1e-8
    corner = np.array([[0.0, 0.0]])
    # Barrel at 24 mm: the real image of the ideal corner lies nearer the centre.
    assert (geometry.distort(corner) > corner).all()
    assert geometry.max_displacement() > 50
    assert crop_scale(geometry) < 1.0  # undistorting barrel leaves room to spare
    tele = LensGeometry(entry.distortion_at(240.0), entry.normalisation(4240, 2832, 1.0))
    assert crop_scale(tele) > 1.0  # pincushion: the body must crop


def test_unknown_lens_and_spellings():
    assert find_lens("Nonexistent 17-31mm F9") is None
    assert find_lens(None) is None
    # EXIF spells the aperture 'F3.5', lensfun 'f/3.5'.
    assert find_lens("FE 24-240mm F3.5-6.3 OSS", "SONY", "ILCE-7SM2").name == FE
    assert find_lens("FE 24-240mm F3.5-6.3 OSS").name == FE


def test_identity_models():
    geometry = LensGeometry(Distortion(), Normalisation.lensfun(100, 80))
    pts = np.array([[3.0, 4.0], [99.0, 0.0]])
    assert np.array_equal(geometry.distort(pts), pts)
    with pytest.raises(ValueError, match="takes 3 terms"):
        Distortion("ptlens", (0.1,))


def _worst_lens_map(size):
    """H (240 mm) -> L (100 mm... 24 mm) the way a pair map composes lens terms."""
    entry = find_lens(FE)
    lens_h = LensGeometry(entry.distortion_at(240.0), entry.normalisation(*size, 1.0))
    lens_l = LensGeometry(entry.distortion_at(35.0), entry.normalisation(*size, 1.0))
    c = np.array(lens_h.norm.centre)
    rot = np.deg2rad(1.0)
    m = np.array([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]]) * (35 / 240)

    def h_to_l(points):
        u = lens_h.undistort(points)
        return lens_l.distort((u - c) @ m.T + c + (3.0, -2.0))

    return h_to_l


@pytest.mark.parametrize("size", [(960, 640), (4240, 2832)])
def test_grid_reads_within_002_px_of_the_full_model(size):
    h_to_l = _worst_lens_map(size)
    grid = sample_grid(h_to_l, size)
    nodes = node_positions(grid.shape[:2], size)
    pmap = PairMap(fit_similarity(nodes, grid), size, grid)
    rng = np.random.default_rng(1)
    pts = np.c_[rng.uniform(0, size[0] - 1, 20000), rng.uniform(0, size[1] - 1, 20000)]
    # Error in target pixels: L px divided by L px per H px.
    scale = np.sqrt(abs(np.linalg.det(pmap.h_to_l[:2, :2])))
    err = np.linalg.norm(pmap(pts) - h_to_l(pts), axis=1) / scale
    assert err.max() < 0.02, err.max()
    # The grid reproduces its nodes exactly; the inverse finds the target pixel back.
    assert np.abs(pmap(nodes) - grid).max() < 1e-9
    back = pmap.inverse(pmap(pts))
    assert np.abs(back - pts).max() < 1e-4


def test_grid_columns_round_trip_and_old_manifests():
    size = (96, 64)
    h_to_l = np.array([[0.25, 0.0, 10.0], [0.0, 0.25, 20.0], [0.0, 0.0, 1.0]])
    old = PairMap.from_columns(h_to_l.ravel(), size)
    assert not old.has_grid
    assert np.allclose(old(np.array([[4.0, 8.0]])), [[11.0, 22.0]])
    grid = node_positions((3, 4), size) * 0.25 + (10.0, 20.0)
    new = PairMap.from_columns(h_to_l.ravel(), size, grid.ravel().tolist(), [3, 4])
    assert np.allclose(new(np.array([[4.0, 8.0]])), [[11.0, 22.0]])
    with pytest.raises(ValueError, match="shape"):
        PairMap.from_columns(h_to_l.ravel(), size, [1.0] * 5, [3, 4])


def _raw_to_jpeg(record: dict, points: np.ndarray) -> np.ndarray:
    lens = frame_lens(record)
    left, top = record.get("jpeg_crop", (0, 0))[:2]
    if lens is None or record["jpeg_geometry"] == "raw":
        return points - (left, top)
    c = np.array(lens.norm.centre)
    return (lens.undistort(points) - c) * record["jpeg_crop_scale"] + c - (left, top)


@pytest.mark.parametrize(
    ("geometry", "crop"),
    [("raw", (0, 0, 0, 0)), ("corrected", (0, 0, 0, 0)), ("raw", (7, 2, 3, 6))],
)
def test_synth_truth_matches_the_rendered_pixels(tmp_path, geometry, crop):
    """JPEG-L warped onto JPEG-H through truth.json's exact map leaves no motion (also where
    the body crops its JPEGs off the RAW's centre)."""
    synthesize(
        "simulated", tmp_path, 1, 3, 0.2, progress=False, jpeg_geometry=geometry, jpeg_crop=crop
    )
    folder = tmp_path / "00001"
    truth = load_truth(folder)
    for record in truth["frames"]:
        size = (record["width"] - crop[0] - crop[2], record["height"] - crop[1] - crop[3])
        assert jpeg_size(record) == size
        assert cv2.imread(str(folder / record["jpeg"])).shape[1::-1] == size
    assert truth["lens"] == FE
    records = truth["frames"]
    assert all(r["distortion"]["model"] == "ptlens" for r in records)
    assert {r["jpeg_geometry"] for r in records} == {geometry}
    # The copy of the lens differs from the database profile.
    entry = find_lens(FE)
    prior = entry.distortion_at(records[0]["focal_effective_mm"]).terms
    assert not np.allclose(records[0]["distortion"]["terms"], prior, rtol=1e-3)

    def green(i):
        return srgb_decode_u8(cv2.imread(str(folder / f"{i:05d}.JPG"))[..., 1])

    for low, high in ((7, 4), (6, 2)):
        img_h, img_l = green(high), green(low)
        hh, hw = img_h.shape
        ys, xs = np.mgrid[0:hh, 0:hw].astype(float)
        p_l = jpeg_h_to_raw_l(truth, low, high, np.stack([xs, ys], -1))
        q_l = _raw_to_jpeg(frame_record(truth, low), p_l).astype(np.float32)
        warped = cv2.remap(img_l, q_l[..., 0], q_l[..., 1], cv2.INTER_CUBIC)
        z = float(np.hypot(*(p_l[0, 1] - p_l[0, 0])))
        small = (round(hw * z), round(hh * z))
        a = cv2.resize(
            cv2.GaussianBlur(img_h, (0, 0), 0.4 / z), small, interpolation=cv2.INTER_AREA
        )
        b = cv2.resize(warped, small, interpolation=cv2.INTER_AREA)
        a8 = np.clip(a ** (1 / 2.2) * 255, 0, 255).astype(np.uint8)
        b8 = np.clip((b * a.mean() / b.mean()) ** (1 / 2.2) * 255, 0, 255).astype(np.uint8)
        flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(a8, b8, None)
        textured = cv2.cornerMinEigenVal(a8.astype(np.float32) / 255, 5) > 1e-4
        assert textured.sum() > 100
        mean = flow[textured].mean(axis=0)
        assert np.abs(mean).max() < 0.1, (low, high, mean)  # L px
        # Without the lens terms the same warp is off by a fraction of a target pixel at the
        # corner even at this small size (pixels at 12 MP).
        ideal = jpeg_h_to_raw_l(
            {"frames": [dict(r, distortion={"model": "none"}) for r in records]},
            low,
            high,
            np.array([[0.0, 0.0]]),
        )
        assert np.linalg.norm(ideal - p_l[0, 0]) / z > 0.2


def test_manifest_readme_example_reads_the_grid_as_pairmap_does(tmp_path, monkeypatch):
    """The pandas example in manifests/README.md, run on a manifest-like row."""
    import re

    import pandas as pd

    from srraw.manifest_cli import README_HEAD

    code = re.search(r"```python\n(.*?)```", README_HEAD, re.S).group(1)
    size = (4240, 2832)
    grid = node_positions((7, 9), size) * 0.25 + np.random.default_rng(0).normal(0, 1, (7, 9, 2))
    frame = pd.DataFrame(
        [{"status": "ok", "h_to_l_grid": grid.ravel().tolist(), "h_to_l_grid_shape": [7, 9]}]
    )
    (tmp_path / "manifests").mkdir()
    frame.to_parquet(tmp_path / "manifests" / "pairs.parquet")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(code, scope)
    expected = PairMap(np.eye(3), size, grid)(np.array([[1000.0, 700.0]]))[0]
    assert np.allclose([scope["x_l"], scope["y_l"]], expected)
