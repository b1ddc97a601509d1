"""Pixel-grid transforms as 3x3 matrices. Pixel coordinates: origin at the centre of the
top-left pixel, x right, y down (OpenCV's warp convention)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from srraw.pairmap import apply_matrix


def translation(tx: float, ty: float) -> np.ndarray:
    return np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def scaling(sx: float, sy: float | None = None) -> np.ndarray:
    return np.diag([sx, sx if sy is None else sy, 1.0])


def resize_map(src_size: tuple[int, int], dst_size: tuple[int, int]) -> np.ndarray:
    """Pixel coordinates in an image of src_size (w, h) -> in the same image resized to dst_size.

    Pixel edges line up: x_dst = (x_src + 0.5) * dst_w / src_w - 0.5, as cv2.resize samples.
    """
    sx = dst_size[0] / src_size[0]
    sy = dst_size[1] / src_size[1]
    return translation(-0.5, -0.5) @ scaling(sx, sy) @ translation(0.5, 0.5)


def centre_zoom(size_from: tuple[int, int], size_to: tuple[int, int], ratio: float) -> np.ndarray:
    """The nominal map from an image of size_from to one of size_to that sees the central
    1/ratio of its field of view (FOV matching by the focal ratio): centre onto centre."""
    cf = ((size_from[0] - 1) / 2, (size_from[1] - 1) / 2)
    ct = ((size_to[0] - 1) / 2, (size_to[1] - 1) / 2)
    return translation(*ct) @ scaling(1 / ratio) @ translation(-cf[0], -cf[1])


def affine3(m: np.ndarray) -> np.ndarray:
    """A 2x3 (or 3x3) matrix as 3x3."""
    m = np.asarray(m, dtype=np.float64)
    return m if m.shape == (3, 3) else np.vstack([m[:2], [0.0, 0.0, 1.0]])


@dataclasses.dataclass(frozen=True)
class Similarity:
    scale: float
    rotation_deg: float
    tx: float
    ty: float

    @classmethod
    def of(cls, m: np.ndarray) -> Similarity:
        """Scale sqrt(|det|), rotation atan2(m10, m00), translation: the parts of a matrix."""
        m = affine3(m)
        return cls(
            scale=math.sqrt(abs(np.linalg.det(m[:2, :2]))),
            rotation_deg=math.degrees(math.atan2(m[1, 0], m[0, 0])),
            tx=float(m[0, 2]),
            ty=float(m[1, 2]),
        )


def nearest_similarity(m: np.ndarray) -> np.ndarray:
    """The similarity closest to an affine map (polar decomposition of its 2x2 part)."""
    m = affine3(m)
    u, sv, vt = np.linalg.svd(m[:2, :2])
    rot = u @ vt
    if np.linalg.det(rot) < 0:  # a reflection is never a camera motion
        u[:, -1] *= -1
        rot = u @ vt
    out = np.eye(3)
    out[:2, :2] = rot * sv.mean()
    out[:2, 2] = m[:2, 2]
    return out


PointMap = np.ndarray | Callable[[np.ndarray], np.ndarray]  # a 3x3 matrix or a function of points


def point_map(h_to_l: PointMap) -> Callable[[np.ndarray], np.ndarray]:
    """A map as a function of (..., 2) points (an affine 3x3 matrix wrapped)."""
    if callable(h_to_l):
        return h_to_l
    matrix = affine3(h_to_l)
    return lambda pts: pts @ matrix[:2, :2].T + matrix[:2, 2]


def centre_scale(h_to_l: Callable[[np.ndarray], np.ndarray], size: tuple[int, int]) -> float:
    """Destination pixels per source pixel of a point map, at the centre of a (w, h) source."""
    c = np.array(
        [[(size[0] - 1) / 2, (size[1] - 1) / 2], [(size[0] - 1) / 2 + 1, (size[1] - 1) / 2]]
    )
    ends = h_to_l(c)
    return float(np.linalg.norm(ends[1] - ends[0]))


def corners(size: tuple[int, int]) -> np.ndarray:
    w, h = size
    return np.array([[0.0, 0.0], [w - 1.0, 0.0], [w - 1.0, h - 1.0], [0.0, h - 1.0]])


def mean_corner_error(estimate: np.ndarray, truth: np.ndarray, size: tuple[int, int]) -> float:
    """MACE of a map from an image of `size`: its corners sent through `estimate` and brought
    back through the inverse of `truth`, in that image's pixels."""
    c = corners(size)
    back = apply_matrix(np.linalg.inv(affine3(truth)) @ affine3(estimate), c)
    return float(np.linalg.norm(back - c, axis=1).mean())
