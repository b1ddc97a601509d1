"""A frame's map from its RAW mosaic pixels to its own JPEG's pixels (frames.parquet 1.1).

The columns (manifests/README.md, frames): `jpeg_geometry` 'raw' (the JPEG shares the RAW's
distorted grid) or 'corrected' (the body undistorted it), `jpeg_scale`, `jpeg_offset_x/_y`, and
the RAW's distortion (`distortion_model`, `distortion_terms`, `distortion_norm_scale`):

    q = c_jpeg + jpeg_scale (x - c) + offset,   x = p ('raw') or undistort(p) ('corrected')

with p the RAW mosaic pixel, c = ((W - 1) / 2, (H - 1) / 2) the RAW's centre and c_jpeg the
JPEG's. A frame without these columns (frames/1.0) or without a measured geometry has none:
its JPEG is taken to share the RAW's grid, pixel for pixel, as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from srraw.lens import Distortion, LensGeometry, Normalisation


@dataclasses.dataclass(frozen=True)
class JpegMap:
    """RAW mosaic px -> the same frame's JPEG px."""

    geometry: str  # 'raw' or 'corrected'
    scale: float
    offset: tuple[float, float]
    size_raw: tuple[int, int]  # (W, H)
    size_jpeg: tuple[int, int]
    lens: LensGeometry | None  # the RAW's distortion; None: none

    @classmethod
    def from_frame(cls, row: Mapping[str, Any]) -> JpegMap | None:
        """From a frames.parquet row (a dict); None when it states no JPEG geometry."""
        geometry = row.get("jpeg_geometry")
        if geometry is None or row.get("jpeg_scale") is None:
            return None
        if geometry not in ("raw", "corrected"):
            raise ValueError(f"jpeg_geometry {geometry!r} is neither 'raw' nor 'corrected'")
        size_raw = (int(row["width"]), int(row["height"]))
        lens = None
        model = row.get("distortion_model")
        if model not in (None, "none"):
            norm = Normalisation(*size_raw, float(row["distortion_norm_scale"]))
            terms = tuple(float(v) for v in row["distortion_terms"])
            lens = LensGeometry(Distortion(model, terms), norm)
        offset = (float(row.get("jpeg_offset_x") or 0.0), float(row.get("jpeg_offset_y") or 0.0))
        size_jpeg = (int(row["jpeg_width"]), int(row["jpeg_height"]))
        return cls(geometry, float(row["jpeg_scale"]), offset, size_raw, size_jpeg, lens)

    @property
    def is_identity(self) -> bool:
        """The JPEG is the RAW's grid pixel for pixel (then a box is a plain slice)."""
        undistorts = self.geometry == "corrected" and self.lens is not None
        return (
            not undistorts
            and self.scale == 1.0
            and self.offset == (0.0, 0.0)
            and self.size_raw == self.size_jpeg
        )

    def __call__(self, points_raw: np.ndarray) -> np.ndarray:
        """RAW mosaic pixel coordinates (..., 2) -> JPEG pixel coordinates (..., 2)."""
        pts = np.asarray(points_raw, dtype=np.float64)
        if self.geometry == "corrected" and self.lens is not None:
            pts = self.lens.undistort(pts)
        c = (np.asarray(self.size_raw, dtype=np.float64) - 1) / 2
        c_jpeg = (np.asarray(self.size_jpeg, dtype=np.float64) - 1) / 2
        return c_jpeg + self.scale * (pts - c) + np.asarray(self.offset)
