"""Radial lens distortion about the frame centre, with lensfun's models and normalisation.

Pixel coordinates: origin at the centre of the top-left pixel, x right, y down (as everywhere
in srraw). *Ideal* coordinates are where a pinhole camera of the same focal length would image
a point, in the same pixel units and about the same centre; *real* coordinates are where the
lens images it (the RAW's grid). lensfun's models give the real radius from the ideal one,
r_d = r_u * P(r_u), in its normalised units:

    ptlens  P = a r^3 + b r^2 + c r + (1 - a - b - c)
    poly3   P = 1 - k1 + k1 r^2
    poly5   P = 1 + k1 r^2 + k2 r^4

lensfun's unit radius is half the shorter side measured between pixel centres, times a
correction when the calibration sensor's crop factor or aspect ratio differs from the image's
(lfModifier::lfModifier in lensfun 0.3.4, modifier.cpp). `distort` agrees with lensfunpy's
`Modifier.apply_geometry_distortion(x, y, 1, 1)` (scale=1, flags=DISTORTION) point by point to
within 3e-4 px at 4240x2832 and 6e-5 px at 768x512 for the Sony FE 24-240mm at every
calibrated focal length (lensfun works in float32, this module in float64; tests/test_lens.py).
A whole-frame call of lensfun (width, height > 1) differs by up to 0.4 px at 12 MP: lensfun
steps x by adding NormScale in float32 along each row, and that sum drifts.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

MODELS = ("none", "ptlens", "poly3", "poly5")
N_TERMS = {"none": 0, "ptlens": 3, "poly3": 1, "poly5": 2}


@dataclasses.dataclass(frozen=True)
class Distortion:
    """One lensfun distortion model with its terms (a, b, c / k1 / k1, k2)."""

    model: str = "none"
    terms: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown distortion model {self.model!r}; expected one of {MODELS}")
        if len(self.terms) != N_TERMS[self.model]:
            raise ValueError(
                f"distortion model {self.model} takes {N_TERMS[self.model]} terms, "
                f"got {len(self.terms)}"
            )
        object.__setattr__(self, "terms", tuple(float(t) for t in self.terms))

    @property
    def is_identity(self) -> bool:
        return self.model == "none" or not any(self.terms)

    def factor(self, r: np.ndarray) -> np.ndarray:
        """P(r): real radius / ideal radius at ideal normalised radius r."""
        r = np.asarray(r, dtype=np.float64)
        if self.model == "ptlens":
            a, b, c = self.terms
            return ((a * r + b) * r + c) * r + (1 - a - b - c)
        if self.model == "poly3":
            (k1,) = self.terms
            return 1 - k1 + k1 * r * r
        if self.model == "poly5":
            k1, k2 = self.terms
            r2 = r * r
            return 1 + (k1 + k2 * r2) * r2
        return np.ones_like(r)

    def slope(self, r: np.ndarray) -> np.ndarray:
        """d(r P(r))/dr: for Newton's method and to check the model stays monotonic."""
        r = np.asarray(r, dtype=np.float64)
        if self.model == "ptlens":
            a, b, c = self.terms
            return ((4 * a * r + 3 * b) * r + 2 * c) * r + (1 - a - b - c)
        if self.model == "poly3":
            (k1,) = self.terms
            return 1 - k1 + 3 * k1 * r * r
        if self.model == "poly5":
            k1, k2 = self.terms
            r2 = r * r
            return 1 + (3 * k1 + 5 * k2 * r2) * r2
        return np.ones_like(r)

    def term_gradient(self, r: np.ndarray) -> np.ndarray:
        """dP/d(term) at ideal radius r, one row per term: shape (K, ...)."""
        r = np.asarray(r, dtype=np.float64)
        if self.model == "ptlens":
            return np.stack([r**3 - 1, r**2 - 1, r - 1])
        if self.model == "poly3":
            return (r * r - 1)[None]
        if self.model == "poly5":
            r2 = r * r
            return np.stack([r2, r2 * r2])
        return np.zeros((0, *r.shape))

    def inverse_radius(self, rd: np.ndarray, iterations: int = 8) -> np.ndarray:
        """The ideal radius r_u whose real radius is rd (Newton, from r_u = rd)."""
        rd = np.asarray(rd, dtype=np.float64)
        if self.is_identity:
            return rd.copy()
        # One fixed-point step first (r_u = r_d / P(r_d)): Newton then needs 2-3 steps, not 6-8.
        with np.errstate(divide="ignore", invalid="ignore"):
            ru = np.where(np.abs(self.factor(rd)) > 0.1, rd / self.factor(rd), rd)
        for _ in range(iterations):
            step = (ru * self.factor(ru) - rd) / np.maximum(self.slope(ru), 1e-6)
            ru -= step
            if float(np.max(np.abs(step), initial=0.0)) < 1e-12:
                break
        return ru


@dataclasses.dataclass(frozen=True)
class Normalisation:
    """lensfun's normalised coordinates on one image grid: x_n = (x - cx) * scale."""

    width: int
    height: int
    scale: float  # normalised units per pixel (lensfun's NormScale)

    @classmethod
    def lensfun(
        cls,
        width: int,
        height: int,
        crop_factor: float = 1.0,
        calib_crop_factor: float = 1.0,
        calib_aspect: float = 1.5,
    ) -> Normalisation:
        """As lensfun computes it for an image of this size on a sensor of `crop_factor`, for
        a calibration made on a sensor of `calib_crop_factor` and aspect `calib_aspect`
        (lensfun's default for lens entries without one)."""
        w, h = max(width - 1, 1), max(height - 1, 1)
        size = min(w, h)
        aspect = max(w, h) / size
        correction = (
            calib_crop_factor
            / crop_factor
            * math.sqrt(calib_aspect**2 + 1)
            / math.sqrt(aspect**2 + 1)
        )
        return cls(width, height, 2.0 / size * correction)

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.width - 1) / 2, (self.height - 1) / 2)


@dataclasses.dataclass(frozen=True)
class LensGeometry:
    """A distortion on one image grid: ideal <-> real pixel coordinates, vectorised."""

    distortion: Distortion
    norm: Normalisation

    def distort(self, points: np.ndarray) -> np.ndarray:
        """Ideal pixel coordinates (..., 2) -> real (where the lens images them)."""
        return self._radial(points, inverse=False)

    def undistort(self, points: np.ndarray) -> np.ndarray:
        """Real pixel coordinates (..., 2) -> ideal."""
        return self._radial(points, inverse=True)

    def undistort_with_gradient(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Real pixel coordinates (..., 2) -> (ideal, d ideal / d term of shape (..., 2, K)).

        From r_d = r_u P(r_u; k) held fixed: dr_u/dk = -r_u dP/dk / (d(r_u P)/dr_u); the
        ideal point moves along its radius by that, times (p - c) / r_d in pixels.
        """
        pts = np.asarray(points, dtype=np.float64)
        cx, cy = self.norm.centre
        s = self.norm.scale
        dx, dy = pts[..., 0] - cx, pts[..., 1] - cy
        rd = np.hypot(dx, dy) * s
        d = self.distortion
        ru = d.inverse_radius(rd)
        dru = -ru * d.term_gradient(ru) / np.maximum(d.slope(ru), 1e-6)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(rd > 0, ru / np.where(rd > 0, rd, 1), 1.0)
            per = np.where(rd > 0, dru / np.where(rd > 0, rd, 1), 0.0)
        ideal = np.stack([dx * ratio + cx, dy * ratio + cy], axis=-1)
        gradient = np.stack([dx * per, dy * per], axis=-1)  # (K, ..., 2)
        return ideal, np.moveaxis(gradient, 0, -1)

    def _radial(self, points: np.ndarray, inverse: bool) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64)
        if self.distortion.is_identity:
            return pts.copy()
        cx, cy = self.norm.centre
        s = self.norm.scale
        x = (pts[..., 0] - cx) * s
        y = (pts[..., 1] - cy) * s
        r = np.hypot(x, y)
        if inverse:
            ru = self.distortion.inverse_radius(r)
            with np.errstate(invalid="ignore", divide="ignore"):
                k = np.where(r > 0, ru / np.where(r > 0, r, 1), 1.0)
        else:
            k = self.distortion.factor(r)
        out = np.empty_like(pts)
        out[..., 0] = x * k / s + cx
        out[..., 1] = y * k / s + cy
        return out

    def max_displacement(self) -> float:
        """Largest |real - ideal| over the frame (at its corners), in pixels."""
        corners = np.array([[0.0, 0.0], [self.norm.width - 1.0, self.norm.height - 1.0]])
        return float(np.linalg.norm(self.distort(corners) - corners, axis=1).max())


def crop_scale(geometry: LensGeometry) -> float:
    """The smallest magnification of ideal coordinates about the centre whose undistorted image
    still fills the frame: what a body that corrects its JPEGs crops by (>= 1 for barrel)."""
    w, h = geometry.norm.width, geometry.norm.height
    cx, cy = geometry.norm.centre
    # Along the frame's edges: every ideal edge point must land inside the real frame.
    t = np.linspace(0.0, 1.0, 257)
    edge = np.concatenate(
        [
            np.stack([t * (w - 1), np.zeros_like(t)], axis=1),
            np.stack([t * (w - 1), np.full_like(t, h - 1.0)], axis=1),
            np.stack([np.zeros_like(t), t * (h - 1)], axis=1),
            np.stack([np.full_like(t, w - 1.0), t * (h - 1)], axis=1),
        ]
    )
    lo, hi = 0.5, 2.0
    for _ in range(50):
        mid = (lo + hi) / 2
        ideal = (edge - (cx, cy)) / mid + (cx, cy)
        real = geometry.distort(ideal)
        inside = (
            (real[:, 0] >= -1e-9)
            & (real[:, 0] <= w - 1 + 1e-9)
            & (real[:, 1] >= -1e-9)
            & (real[:, 1] <= h - 1 + 1e-9)
        )
        if inside.all():
            hi = mid
        else:
            lo = mid
    return hi
