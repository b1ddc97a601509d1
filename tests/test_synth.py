"""Synthetic sequences: real DNGs that decode as written, and exact ground-truth geometry."""

import datetime as dt
import json
import math
import os

import cv2
import exifread
import numpy as np
import pytest
import rawpy

from srraw.cfa import LAYOUTS
from srraw.raw import read_raw
from srraw.rig import load_rig
from srraw.synth.cli import synthesize
from srraw.synth.render import SensorModel, expose
from srraw.synth.sequence import (
    TRUTH_NAME,
    frame_size,
    is_complete,
    plan_sequence,
    render_frame,
    scene_for,
    sensor_for,
    write_frame,
)


def _one_frame(rig_path, tmp_path, index=4, seed=5):
    rig = load_rig(rig_path)
    size = (rig.body.sensor_width_px, rig.body.sensor_height_px)
    plans = plan_sequence(rig, seed, dt.datetime(2026, 3, 1, 9, 30))
    frame = render_frame(
        rig, scene_for(rig, seed, size[0]), sensor_for(rig, seed), plans[index - 1], size, seed
    )
    return rig, frame, write_frame(frame, tmp_path)


@pytest.mark.parametrize("cfa", LAYOUTS)
def test_dng_decodes_with_what_was_written(rig_file, tmp_path, cfa):
    _, frame, (raw_path, jpeg_path) = _one_frame(rig_file(cfa, width=96, height=64), tmp_path)
    with rawpy.imread(str(raw_path)) as raw:
        assert "".join(raw.color_desc.decode()[i] for i in raw.raw_pattern.ravel()) == cfa
        assert list(raw.black_level_per_channel) == [512] * 4
        assert raw.white_level == 16383
        np.testing.assert_array_equal(raw.raw_image_visible, frame.mosaic)
        wb = np.array(raw.camera_whitebalance[:3])
        np.testing.assert_allclose(
            wb / wb[1], 1 / np.array(frame.dng_meta.as_shot_neutral), rtol=1e-5
        )
        assert raw.postprocess(half_size=True).shape == (32, 48, 3)
    with raw_path.open("rb") as fh:
        tags = exifread.process_file(fh, details=False)
    assert str(tags["Image Make"]) == "srraw" and str(tags["Image Model"]) == "TestCam"
    assert str(tags["EXIF FocalLength"]) == f"{frame.plan.focal_exif_mm:g}"
    assert str(tags["EXIF ExposureTime"]) == "1/30"
    assert str(tags["EXIF ISOSpeedRatings"]) == "200"
    assert str(tags["EXIF FNumber"]) == "16"
    assert str(tags["EXIF DateTimeOriginal"]) == "2026:03:01 09:30:18"
    # srraw's own reader agrees, and so does the JPEG's EXIF.
    record = read_raw(raw_path)
    assert record.cfa == cfa and record.exif.lens_model == "Test 24-240mm"
    assert record.exif.focal_length_mm == frame.plan.focal_exif_mm
    image = cv2.imdecode(np.frombuffer(jpeg_path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (64, 96, 3)
    assert read_raw(raw_path).exif == read_raw(raw_path, jpeg_path).exif


def test_frames_are_deterministic(rig_file, tmp_path):
    _, a, _ = _one_frame(rig_file(width=96, height=64), tmp_path / "a")
    _, b, _ = _one_frame(rig_file(width=96, height=64), tmp_path / "b")
    np.testing.assert_array_equal(a.mosaic, b.mosaic)
    assert a.jpeg == b.jpeg


def test_truth_covers_the_plan_within_the_realism_bounds(small_sequence):
    truth = json.loads((small_sequence / TRUTH_NAME).read_text())
    frames = truth["frames"]
    assert [f["raw"] for f in frames] == [f"{i:05d}.DNG" for i in range(1, 8)]
    nominal = [f["focal_nominal_mm"] for f in frames]
    assert nominal == sorted(nominal, reverse=True)  # SR-RAW order: longest first
    for f in frames:
        assert abs(f["focal_ring_mm"] / f["focal_nominal_mm"] - 1) <= 0.03 + 1e-9
        assert f["focal_exif_mm"] == round(f["focal_ring_mm"])
        assert abs(f["rotation_deg"]) <= 1.5
        assert abs(f["tx_px"]) <= 0.02 * 480 and abs(f["ty_px"]) <= 0.02 * 480
        assert abs(f["gain"] - 1) <= 0.15
    exif = [read_raw(small_sequence / f["raw"], pixels=False).exif.focal_length_mm for f in frames]
    assert exif == [f["focal_exif_mm"] for f in frames]


def _ncc(a, b, mask):
    a, b = a[mask] - a[mask].mean(), b[mask] - b[mask].mean()
    return float((a * b).sum() / math.sqrt((a * a).sum() * (b * b).sum()))


@pytest.mark.parametrize(("low", "high"), [(7, 5), (6, 3), (4, 1)])
def test_ground_truth_maps_one_frame_onto_another(small_sequence, low, high):
    truth = json.loads((small_sequence / TRUTH_NAME).read_text())
    fl, fh = truth["frames"][low - 1], truth["frames"][high - 1]
    s_l = np.reshape(fl["scene_to_frame"], (3, 3))
    s_h = np.reshape(fh["scene_to_frame"], (3, 3))
    h_to_l = s_l @ np.linalg.inv(s_h)

    def grey(name):
        data = np.frombuffer((small_sequence / name).read_bytes(), np.uint8)
        return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE).astype(np.float32)

    img_l, img_h = grey(fl["jpeg"]), grey(fh["jpeg"])
    size = (img_h.shape[1], img_h.shape[0])

    def l_in_h_grid(matrix):
        return cv2.warpAffine(
            img_l, matrix[:2], size, flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderValue=-1
        )

    # Bring H down to L's bandwidth before comparing.
    scale = float(np.sqrt(abs(np.linalg.det(h_to_l[:2, :2]))))
    soft_h = cv2.GaussianBlur(img_h, (0, 0), 0.6 / scale)
    warped = l_in_h_grid(h_to_l)
    mask = warped >= 0
    mask[:8], mask[-8:], mask[:, :8], mask[:, -8:] = False, False, False, False
    assert mask.mean() > 0.9
    exact = _ncc(warped, soft_h, mask)
    assert exact > 0.9
    # One L pixel of error must show: the truth is exact, not roughly right.
    shifted = h_to_l.copy()
    shifted[0, 2] += 1.0
    assert _ncc(l_in_h_grid(shifted), soft_h, mask) < exact - 0.02


def test_noise_is_poisson_gaussian():
    sensor = SensorModel("RGGB", 512, 16383, (1.0, 1.0, 1.0), iso=400)
    rng = np.random.default_rng(1)
    stats = []
    for level in (0.05, 0.2, 0.6):
        radiance = np.full((200, 200, 3), level, np.float32)
        mosaic = expose(radiance, sensor, 1.0, rng)[0::2, 1::2].astype(float)  # one green plane
        stats.append((mosaic.mean() - 512, mosaic.var()))
    dn_per_e = (16383 - 512) / sensor.full_well_e * 4
    read_var = (sensor.read_noise_dn * 2) ** 2
    for mean, var in stats:
        assert var == pytest.approx(mean * dn_per_e + read_var + 1 / 12, rel=0.08)
    assert stats[2][1] > 5 * stats[0][1]


def test_quantisation_is_14_bit_with_black_512():
    sensor = SensorModel("RGGB", 512, 16383, (2.0, 1.0, 1.5), iso=100)
    mosaic = expose(np.full((8, 8, 3), 5.0, np.float32), sensor, 1.0, np.random.default_rng(0))
    assert mosaic.max() == 16383
    dark = expose(np.zeros((64, 64, 3), np.float32), sensor, 1.0, np.random.default_rng(0))
    assert abs(dark.mean() - 512) < 1 and dark.dtype == np.uint16


def test_megapixels_gives_sr_raw_sized_frames():
    width, height = frame_size(load_rig("sony-a7s2-fe24-240"), 12)
    assert width % 2 == 0 and height % 2 == 0
    assert abs(width * height / 12e6 - 1) < 0.002
    assert abs(width / height - 4240 / 2832) < 0.002


def test_synth_resumes_after_an_interruption(rig_file, tmp_path):
    rig = str(rig_file(width=96, height=64))
    out = tmp_path / "data"
    first, second = synthesize(rig, out, 2, 3, None, progress=False)
    assert is_complete(first) and is_complete(second)
    lost = first / "00003.JPG"
    original = lost.read_bytes()
    lost.unlink()  # as if killed before the file landed
    untouched = os.stat(second / "00001.DNG").st_mtime_ns
    assert not is_complete(first)
    synthesize(rig, out, 2, 3, None, progress=False)
    assert lost.read_bytes() == original
    assert os.stat(second / "00001.DNG").st_mtime_ns == untouched
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no temporaries


def test_a_sequence_made_with_another_jpeg_crop_is_rewritten(rig_file, tmp_path):
    rig = str(rig_file(width=96, height=64))
    out = tmp_path / "data"
    (folder,) = synthesize(rig, out, 1, 3, None, progress=False)
    assert is_complete(folder, "normal", (0, 0, 0, 0))
    assert not is_complete(folder, "normal", (4, 2, 0, 2))
    synthesize(rig, out, 1, 3, None, progress=False, jpeg_crop=(4, 2, 0, 2))
    assert is_complete(folder, "normal", (4, 2, 0, 2))
    jpeg = cv2.imread(str(folder / "00001.JPG"))
    assert jpeg.shape[:2] == (64 - 4, 96 - 4)
    with pytest.raises(ValueError, match="pixel counts"):
        synthesize(rig, out, 1, 3, None, progress=False, jpeg_crop=(1, -1, 0, 0))


def test_text_sits_at_one_place_in_scene_units_at_every_frame_scale():
    """Each frame draws text at its own resolution; the glyphs must land where the geometry
    says (OpenCV lays a string out slightly differently at each font size, which moved text
    by several target pixels between the frames of a pair)."""
    from srraw.synth.scene import Text, draw_text

    prim = Text((10.0, 30.0), 12.0, "PARKING 12345 EXIT", (1.0, 1.0, 1.0))
    centres = []
    for scale in (0.5, 1.0, 1.7, 3.0, 8.0):
        w, h = int(260 * scale), int(40 * scale)
        canvas = np.zeros((h, w, 3), np.float32)
        draw_text(prim, canvas, scale, (0.0, 0.0), (0.0, 0.0, 260.0, 40.0))
        cover = canvas[..., 0]
        ys, xs = np.mgrid[0:h, 0:w]
        centres.append(
            [(xs * cover).sum() / cover.sum() / scale, (ys * cover).sum() / cover.sum() / scale]
        )
    spread = np.ptp(np.array(centres), axis=0)
    assert spread.max() < 0.15  # scene units: 1.2 target px at the largest scale; was 0.6
