"""Hard synthetic scenes: smooth ones with texture in one region, and depth ones whose
foreground layer moves against the background; truth.json says which and how."""

import dataclasses
import json

import cv2
import numpy as np
import pytest

from srraw.synth.render import FrameGeometry, render_radiance
from srraw.synth.scene import make_scene
from srraw.synth.sequence import MIXED_BLOCK, is_complete, scene_kind_for
from srraw.synth.truth import foreground_mask, jpeg_h_to_raw_l, true_h_to_l
from tests.conftest import run_srraw


def _texture(grey: np.ndarray) -> np.ndarray:
    """Local contrast: standard deviation in 5x5 windows."""
    mean = cv2.blur(grey, (5, 5))
    return np.sqrt(np.maximum(cv2.blur(grey * grey, (5, 5)) - mean * mean, 0))


def _frame(mag: float, width=240, height=160, rot=0.0, tx=0.0, ty=0.0) -> FrameGeometry:
    return FrameGeometry(width, height, mag, rot, tx, ty)


def _pixels(width: int, height: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.stack([xs, ys], axis=-1)


def test_mixed_is_half_normal_a_quarter_smooth_a_quarter_depth_fixed_by_the_seed():
    for seed in range(5):
        kinds = [scene_kind_for("mixed", seed, i) for i in range(1, 13)]
        for block in range(3):
            assert sorted(kinds[4 * block : 4 * block + 4]) == sorted(MIXED_BLOCK)
        assert kinds == [scene_kind_for("mixed", seed, i) for i in range(1, 13)]
    orders = {tuple(scene_kind_for("mixed", s, i) for i in range(1, 5)) for s in range(8)}
    assert len(orders) > 1  # the seed chooses the order
    assert scene_kind_for("smooth", 3, 7) == "smooth"


def test_smooth_scene_has_texture_in_its_region_only_at_every_zoom():
    half, finest = 120.0, 12.0  # a 10X lens: widest frame 240 px wide
    scene = make_scene(4, half, finest, kind="smooth")
    cx, cy, radius = scene.texture_region
    fractions = []
    for mag in (1.0, 10.0):
        geometry = _frame(mag)
        grey = render_radiance(scene, geometry, 0.5).mean(axis=2)
        texture = _texture(grey)
        # The region in this frame's pixels, with a margin for the blur and the window.
        centre = geometry.scene_to_frame() @ [cx, cy, 1]
        dist = np.linalg.norm(_pixels(240, 160) - centre[:2], axis=-1)
        outside = dist > radius * mag + 4
        assert outside.mean() > 0.05
        assert np.percentile(texture[outside], 99) < 0.004  # smooth: gradients only
        inside = dist < radius * mag
        textured = (texture > 0.01) & inside
        fractions.append(textured.mean())
        assert textured.sum() > 0.3 * inside.sum()
    assert all(0.02 < f < 0.9 for f in fractions), fractions


@pytest.mark.parametrize("seed", [0, 1])
def test_smooth_scenes_are_mostly_smooth_and_normal_ones_are_not(seed):
    for mag in (1.0, 10.0):
        textured = {
            kind: (
                _texture(
                    render_radiance(
                        make_scene(seed, 120.0, 12.0, kind=kind), _frame(mag), 0.5
                    ).mean(axis=2)
                )
                > 0.01
            ).mean()
            for kind in ("normal", "smooth")
        }
        assert textured["smooth"] < 0.4 and textured["normal"] > 2 * textured["smooth"]


def test_depth_truth_marks_the_layer_and_maps_it_where_the_background_map_is_wrong():
    scene = make_scene(8, 120.0, 12.0, kind="depth")
    fg = scene.foreground
    # Two frames of one magnification, the layer moved between them far more than zooming
    # moves it, so the map's error is plain to see.
    geo_h = _frame(3.0, rot=0.01, tx=2.0, ty=-1.0)
    geo_l = _frame(3.0, rot=-0.01, tx=-3.0, ty=2.0)
    pose_h = np.array([[1.0, 0, 0.0], [0, 1.0, 0.0], [0, 0, 1]])
    pose_l = np.array([[1.03, 0, 1.5], [0, 1.03, -1.0], [0, 0, 1]])
    img_h = render_radiance(scene, geo_h, 0.5, foreground_pose=pose_h).mean(axis=2)
    img_l = render_radiance(scene, geo_l, 0.5, foreground_pose=pose_l).mean(axis=2)
    without = render_radiance(dataclasses.replace(scene, foreground=None), geo_h, 0.5)

    def record(index, geometry, pose):
        return {
            "index": index,
            "width": geometry.width,
            "height": geometry.height,
            "scene_to_frame": list(geometry.scene_to_frame().ravel()),
            "foreground_to_scene": list(pose.ravel()),
            "distortion": {"model": "none"},
        }

    truth = {
        "frames": [record(1, geo_h, pose_h), record(2, geo_l, pose_l)],
        "foreground": {"silhouette": fg.silhouette.tolist()},
    }
    points = _pixels(240, 160)
    mask = foreground_mask(truth, 1, points)
    assert 0.1 < mask.mean() < 0.9
    # The mask is where the layer was drawn: drawing it changed those pixels and no others.
    changed = np.abs(without.mean(axis=2) - img_h) > 1e-3
    core = cv2.erode(mask.astype(np.uint8), np.ones((5, 5))).astype(bool)
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5))).astype(bool)
    assert changed[core].mean() > 0.9
    assert not changed[~ring].any()

    def error(mapped, where):
        at = mapped.astype(np.float32)
        seen = cv2.remap(img_l, at[..., 0], at[..., 1], cv2.INTER_LINEAR, borderValue=-1)
        where = where & (seen >= 0)
        return float(np.abs(seen - img_h)[where].mean())

    exact, background = true_h_to_l(truth, 2, 1, points), jpeg_h_to_raw_l(truth, 2, 1, points)
    np.testing.assert_array_equal(exact[~mask], background[~mask])
    assert error(exact, core) < 0.01
    assert error(background, core) > 3 * error(exact, core)


def test_synth_cli_records_each_kind_in_truth_json(rig_file, tmp_path):
    rig = rig_file(width=96, height=64)
    out = tmp_path / "data"
    result = run_srraw(
        "synth", "--out", str(out), "--rig", str(rig), "--scenes", "4", "--scene-kind", "mixed"
    )
    assert result.returncode == 0, result.stderr
    truths = [json.loads((out / f"{i:05d}" / "truth.json").read_text()) for i in range(1, 5)]
    kinds = [t["scene_kind"] for t in truths]
    assert kinds == [scene_kind_for("mixed", 0, i) for i in range(1, 5)]
    for truth in truths:
        poses = [f["foreground_to_scene"] for f in truth["frames"]]
        if truth["scene_kind"] == "depth":
            fg = truth["foreground"]
            assert len(fg["silhouette"]) >= 3 and fg["depth_m"] < fg["background_depth_m"]
            scales = [p[0] for p in poses]
            # The layer grows against the background as the pupil moves forward: longest
            # focal length (frame 1) most, the reference (shortest, last) not at all.
            assert scales[0] > scales[-2] > 1.0 and scales[-1] == pytest.approx(1.0, abs=1e-3)
            assert "scene_to_frame" in fg["map"]
        else:
            assert poses == [None] * 7 and "foreground" not in truth
        assert ("texture_region" in truth) == (truth["scene_kind"] == "smooth")
    # A folder of another kind is not "complete" for this run: it is rewritten.
    smooth = out / f"{kinds.index('smooth') + 1:05d}"
    assert is_complete(smooth, "smooth") and not is_complete(smooth, "normal")
    bad = run_srraw("synth", "--out", str(out), "--rig", str(rig), "--scene-kind", "hilly")
    assert bad.returncode == 2 and "hilly" in bad.stderr and "Traceback" not in bad.stderr
