"""The exact geometry a synthetic sequence was rendered with, read back from its truth.json.

    JPEG-H pixel q -> RAW-L mosaic pixel p:
        q'  = q + (left, top) of H's jpeg_crop       (the developed frame's pixel)
        u_H = (q' - c_H) / jpeg_crop_scale_H + c_H    if H's JPEG is 'corrected'
            = undistort_H(q')                         if it is 'raw' (the RAW's own grid)
        u_L = scene_to_frame[L] @ inv(scene_to_frame[H]) @ u_H     (ideal pixel coordinates)
        p   = distort_L(u_L)
with c = ((W - 1) / 2, (H - 1) / 2) and distort/undistort lensfun's model (srraw/lens.py).

That is the background's map. In a 'depth' scene (truth["scene_kind"]) the pixels that show the
foreground layer move differently: `true_h_to_l` maps each pixel by the layer it shows in H,
`foreground_mask` says which pixels show the layer.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from srraw.lens import Distortion, LensGeometry, Normalisation
from srraw.synth.scene import convex_contains


def load_truth(folder: Path) -> dict:
    return json.loads((Path(folder) / "truth.json").read_text())


def frame_record(truth: dict, frame: int) -> dict:
    return next(f for f in truth["frames"] if f["index"] == frame)


def frame_lens(record: dict) -> LensGeometry | None:
    """The frame's true distortion, or None for an ideal frame."""
    dist = record.get("distortion") or {"model": "none"}
    if dist["model"] == "none":
        return None
    norm = Normalisation(record["width"], record["height"], dist["norm_scale"])
    return LensGeometry(Distortion(dist["model"], tuple(dist["terms"])), norm)


def jpeg_size(record: dict) -> tuple[int, int]:
    """(width, height) of the frame's JPEG: the RAW's, less what the body cropped."""
    return record.get("jpeg_width", record["width"]), record.get("jpeg_height", record["height"])


def jpeg_to_ideal(record: dict, points: np.ndarray) -> np.ndarray:
    lens = frame_lens(record)
    left, top = record.get("jpeg_crop", (0, 0))[:2]
    pts = np.asarray(points, dtype=np.float64) + np.array([left, top], dtype=np.float64)
    if lens is None:
        return pts
    if record.get("jpeg_geometry") == "corrected":
        c = np.array(lens.norm.centre)
        return (pts - c) / record["jpeg_crop_scale"] + c
    return lens.undistort(pts)


def ideal_to_raw(record: dict, points: np.ndarray) -> np.ndarray:
    lens = frame_lens(record)
    return np.asarray(points, dtype=np.float64).copy() if lens is None else lens.distort(points)


def _apply(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ m[:2, :2].T + m[:2, 2]


def _layer_pose(record: dict) -> np.ndarray:
    pose = record.get("foreground_to_scene")
    return np.eye(3) if pose is None else np.reshape(pose, (3, 3))


def jpeg_h_to_raw_l(truth: dict, frame_l: int, frame_h: int, points_h: np.ndarray) -> np.ndarray:
    """The true RAW-L mosaic pixel of each RGB-H pixel (..., 2), for the background (every
    pixel of a scene without a foreground layer)."""
    rec_l, rec_h = frame_record(truth, frame_l), frame_record(truth, frame_h)
    s_l = np.reshape(rec_l["scene_to_frame"], (3, 3))
    s_h = np.reshape(rec_h["scene_to_frame"], (3, 3))
    u_h = jpeg_to_ideal(rec_h, points_h)
    return ideal_to_raw(rec_l, _apply(s_l @ np.linalg.inv(s_h), u_h))


def foreground_mask(truth: dict, frame: int, points_jpeg: np.ndarray) -> np.ndarray:
    """Which JPEG pixels (..., 2) of `frame` show the foreground layer (all False without one)."""
    points = np.asarray(points_jpeg, dtype=np.float64)
    fg = truth.get("foreground")
    if not fg:
        return np.zeros(points.shape[:-1], dtype=bool)
    rec = frame_record(truth, frame)
    to_frame = np.reshape(rec["scene_to_frame"], (3, 3)) @ _layer_pose(rec)
    layer = _apply(np.linalg.inv(to_frame), jpeg_to_ideal(rec, points))
    return convex_contains(np.asarray(fg["silhouette"], dtype=np.float64), layer)


def true_h_to_l(truth: dict, frame_l: int, frame_h: int, points_h: np.ndarray) -> np.ndarray:
    """The true RAW-L mosaic pixel of each RGB-H pixel (..., 2), by the layer the pixel shows
    in H: the background's map, or for foreground pixels of a depth scene the layer's own.
    (A background pixel that the layer hides in L has a position there but shows nothing.)"""
    out = jpeg_h_to_raw_l(truth, frame_l, frame_h, points_h)
    mask = foreground_mask(truth, frame_h, points_h)
    if not mask.any():
        return out
    rec_l, rec_h = frame_record(truth, frame_l), frame_record(truth, frame_h)
    to_l = np.reshape(rec_l["scene_to_frame"], (3, 3)) @ _layer_pose(rec_l)
    to_h = np.reshape(rec_h["scene_to_frame"], (3, 3)) @ _layer_pose(rec_h)
    u_h = jpeg_to_ideal(rec_h, np.asarray(points_h, dtype=np.float64)[mask])
    out[mask] = ideal_to_raw(rec_l, _apply(to_l @ np.linalg.inv(to_h), u_h))
    return out


def raw_l_to_jpeg_h(
    truth: dict, frame_l: int, frame_h: int, points_l: np.ndarray, start: np.ndarray
) -> np.ndarray:
    """The exact inverse of `jpeg_h_to_raw_l` (the background's map): the RGB-H pixel (..., 2) imaging each RAW-L
    mosaic pixel, by Newton's method from `start` (e.g. a similarity's guess) with a central
    finite-difference Jacobian, to 1e-9 px."""
    target = np.asarray(points_l, dtype=np.float64)
    q = np.array(start, dtype=np.float64)

    def f(p: np.ndarray) -> np.ndarray:
        return jpeg_h_to_raw_l(truth, frame_l, frame_h, p) - target

    eps = 1e-4
    dx, dy = np.array([eps, 0.0]), np.array([0.0, eps])
    for _ in range(30):
        r = f(q)
        jx = (f(q + dx) - f(q - dx)) / (2 * eps)
        jy = (f(q + dy) - f(q - dy)) / (2 * eps)
        det = jx[..., 0] * jy[..., 1] - jy[..., 0] * jx[..., 1]
        step_x = (jy[..., 1] * r[..., 0] - jy[..., 0] * r[..., 1]) / det
        step_y = (jx[..., 0] * r[..., 1] - jx[..., 1] * r[..., 0]) / det
        q[..., 0] -= step_x
        q[..., 1] -= step_y
        if max(np.abs(step_x).max(), np.abs(step_y).max()) < 1e-9:
            break
    return q
