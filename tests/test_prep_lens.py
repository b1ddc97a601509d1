"""srraw prep on distorting lenses: measured JPEG geometry, lens terms and their source in
frames.parquet, non-rigid pair maps in pairs.parquet, all checked against synth's truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from srraw.manifest import read_manifest_df
from srraw.pairmap import PairMap, fit_similarity
from srraw.synth.cli import synthesize
from srraw.synth.truth import frame_record, jpeg_h_to_raw_l, jpeg_size, load_truth
from srraw_prep.config import PrepConfig
from srraw_prep.run import prep
from tests.conftest import make_rig_text

FE = "Sony FE 24-240mm f/3.5-6.3 OSS"
SIZE = (768, 512)


def _rig(tmp: Path) -> Path:
    rig = tmp / "rig.toml"
    rig.write_text(
        make_rig_text(
            "RGGB",
            width=SIZE[0],
            height=SIZE[1],
            **{"max_focal_mm = 240\n": f'max_focal_mm = 240\nlensfun = "{FE}"\n'},
        )
    )
    return rig


def _dense_errors(data: Path, pairs) -> list[tuple[float, float]]:
    """(manifest map, best similarity to the truth) mean dense error per pair, target px."""
    out = []
    for row in pairs.itertuples():
        truth = load_truth(data / row.sequence)
        size = jpeg_size(frame_record(truth, int(row.frame_h)))
        xs, ys = np.meshgrid(np.linspace(0, size[0] - 1, 32), np.linspace(0, size[1] - 1, 24))
        pts = np.stack([xs, ys], axis=-1).reshape(-1, 2)
        true = jpeg_h_to_raw_l(truth, int(row.frame_l), int(row.frame_h), pts)
        floor = fit_similarity(pts, true)
        l_per_h = np.sqrt(abs(np.linalg.det(floor[:2, :2])))
        pmap = PairMap.from_columns(row.h_to_l, size, row.h_to_l_grid, row.h_to_l_grid_shape)
        est = np.linalg.norm(pmap(pts) - true, axis=1).mean() / l_per_h
        sim = np.linalg.norm(PairMap(floor, size)(pts) - true, axis=1).mean() / l_per_h
        out.append((float(est), float(sim)))
    return out


@pytest.fixture(scope="module")
def lens_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lens")
    rig = _rig(root)
    # One sequence per case: EXIF names a lens lensfun does not know (the rig's 'Test 24-240mm'),
    # and the body corrects its JPEGs.
    synthesize(str(rig), root / "unknown", 1, 5, None, progress=False)
    synthesize(str(rig), root / "corrected", 1, 6, None, progress=False, jpeg_geometry="corrected")
    return root


def test_unknown_lens_is_measured_and_the_grid_beats_any_similarity(lens_data, tmp_path):
    data = lens_data / "unknown"
    summary = prep(data, tmp_path / "m", PrepConfig(zooms=(4,)), progress=False)
    assert not summary.failed
    frames = read_manifest_df(tmp_path / "m" / "frames.parquet", "frames")
    assert set(frames.distortion_source) == {"measured"}
    assert frames.lens_lensfun.isna().all()
    assert set(frames.jpeg_geometry) == {"raw"}
    assert np.allclose(frames.jpeg_scale, 1.0, atol=1e-3)
    pairs = read_manifest_df(tmp_path / "m" / "pairs.parquet", "pairs")
    assert (pairs.map_model == "lens").all()
    for row in pairs.itertuples():
        ny, nx = row.h_to_l_grid_shape
        assert len(row.h_to_l_grid) == ny * nx * 2 and ny >= 2 and nx >= 2
    errors = _dense_errors(data, pairs)
    # Distortion alone puts the best similarity pixels off; the lens-aware map is not.
    assert all(est < 0.6 for est, _ in errors), errors
    assert np.mean([est for est, _ in errors]) < 0.5 * np.mean([sim for _, sim in errors])


def test_lensfun_prior_by_name_and_a_wrong_lens_in_exif(lens_data, tmp_path):
    data = lens_data / "unknown"
    out = tmp_path / "named"
    prep(data, out, PrepConfig(zooms=(4,), lens=FE), progress=False)
    frames = read_manifest_df(out / "frames.parquet", "frames")
    assert set(frames.lens_lensfun) == {FE}
    assert set(frames.distortion_source) == {"lensfun+measured"}
    # EXIF (here: the override) names a real lens that cannot be this one: 16-35 mm for frames
    # shot at 24-240 mm. Its terms are not used as a prior where the focal length is outside.
    wrong = tmp_path / "wrong"
    prep(data, wrong, PrepConfig(zooms=(4,), lens="Sony FE 16-35mm f/4 ZA OSS"), progress=False)
    frames = read_manifest_df(wrong / "frames.parquet", "frames")
    outside = frames[frames.focal_length_mm > 36]
    assert len(outside) >= 4 and set(outside.distortion_source) == {"measured"}
    pairs = read_manifest_df(wrong / "pairs.parquet", "pairs")
    assert all(est < 0.8 for est, _ in _dense_errors(data, pairs))


def test_corrected_jpegs_are_detected_and_measured(lens_data, tmp_path):
    data = lens_data / "corrected"
    prep(data, tmp_path / "m", PrepConfig(zooms=(4,)), progress=False)
    frames = read_manifest_df(tmp_path / "m" / "frames.parquet", "frames")
    truth = load_truth(data / "00001")
    assert set(frames.jpeg_geometry) == {"corrected"}
    for row in frames.itertuples():
        record = frame_record(truth, int(row.frame))
        assert row.jpeg_scale == pytest.approx(record["jpeg_crop_scale"], rel=2e-3)
    pairs = read_manifest_df(tmp_path / "m" / "pairs.parquet", "pairs")
    errors = _dense_errors(data, pairs)
    assert all(est < 0.6 for est, _ in errors), errors


# The body trims 10 px on the left, 6 on top, 4 on the right, 8 at the bottom: its JPEG's
# centre sits 3 px left and 1 px below the RAW's, as real bodies crop theirs from the sensor.
CROP = (10, 6, 4, 8)


def test_a_jpeg_cropped_off_the_raws_centre_is_measured(tmp_path):
    rig = _rig(tmp_path)
    data = tmp_path / "cropped"
    synthesize(str(rig), data, 1, 8, None, progress=False, jpeg_crop=CROP)
    prep(data, tmp_path / "m", PrepConfig(zooms=(4,)), progress=False)
    frames = read_manifest_df(tmp_path / "m" / "frames.parquet", "frames")
    assert (frames.status == "ok").all()
    assert set(frames.jpeg_width) == {SIZE[0] - CROP[0] - CROP[2]}
    assert set(frames.jpeg_geometry) == {"raw"}
    # q = c_jpeg + s (p - c_raw) + o: a crop is s = 1, o = ((right - left) / 2, (bottom - top) / 2)
    assert np.allclose(frames.jpeg_scale, 1.0, atol=1e-3)
    assert np.allclose(frames.jpeg_offset_x, (CROP[2] - CROP[0]) / 2, atol=0.05)
    assert np.allclose(frames.jpeg_offset_y, (CROP[3] - CROP[1]) / 2, atol=0.05)
    pairs = read_manifest_df(tmp_path / "m" / "pairs.parquet", "pairs")
    errors = _dense_errors(data, pairs)
    assert errors and all(est < 0.6 for est, _ in errors), errors
