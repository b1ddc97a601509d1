"""The exact geometry a synthetic sequence was rendered with, read back from its truth.json.

    JPEG-H pixel q -> RAW-L mosaic pixel p:
        u_H = (q - c_H) / jpeg_crop_scale_H + c_H     if H's JPEG is 'corrected'
            = undistort_H(q)                          if it is 'raw' (the RAW's own grid)
        u_L = scene_to_frame[L] @ inv(scene_to_frame[H]) @ u_H     (ideal pixel coordinates)
        p   = distort_L(u_L)
with c = ((W - 1) / 2, (H - 1) / 2) and distort/undistort lensfun's model (srraw/lens.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from srraw.lens import Distortion, LensGeometry, Normalisation


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


def jpeg_to_ideal(record: dict, points: np.ndarray) -> np.ndarray:
    lens = frame_lens(record)
    pts = np.asarray(points, dtype=np.float64)
    if lens is None:
        return pts.copy()
    if record.get("jpeg_geometry") == "corrected":
        c = np.array(lens.norm.centre)
        return (pts - c) / record["jpeg_crop_scale"] + c
    return lens.undistort(pts)


def ideal_to_raw(record: dict, points: np.ndarray) -> np.ndarray:
    lens = frame_lens(record)
    return np.asarray(points, dtype=np.float64).copy() if lens is None else lens.distort(points)


def jpeg_h_to_raw_l(truth: dict, frame_l: int, frame_h: int, points_h: np.ndarray) -> np.ndarray:
    """The true RAW-L mosaic pixel of each RGB-H pixel (..., 2)."""
    rec_l, rec_h = frame_record(truth, frame_l), frame_record(truth, frame_h)
    s_l = np.reshape(rec_l["scene_to_frame"], (3, 3))
    s_h = np.reshape(rec_h["scene_to_frame"], (3, 3))
    m = s_l @ np.linalg.inv(s_h)
    u_h = jpeg_to_ideal(rec_h, points_h)
    u_l = u_h @ m[:2, :2].T + m[:2, 2]
    return ideal_to_raw(rec_l, u_l)
