"""Render a scene through a zoom lens onto a Bayer sensor: geometry, optics, sensor noise."""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from srraw.cfa import mosaic_from_rgb
from srraw.lens import LensGeometry
from srraw.raw import camera_to_srgb
from srraw.synth.scene import Scene, draw

# XYZ (D65) -> camera, the DNG ColorMatrix1 of a real Canon body: a realistic, non-trivial
# colour response for the synthetic sensor.
CAM_FROM_XYZ = np.array(
    [
        [0.6018, -0.0617, -0.0965],
        [-0.8645, 1.5881, 0.2975],
        [-0.1530, 0.1719, 0.7642],
    ]
)


@dataclasses.dataclass(frozen=True)
class FrameGeometry:
    """Where a frame's pixel grid lies in the scene: p = k R(theta) X + c + t.

    Pixel coordinates have their origin at the centre of the top-left pixel, x right, y down;
    c is the frame centre ((W - 1) / 2, (H - 1) / 2).
    """

    width: int
    height: int
    magnification: float  # frame pixels per scene unit (f_effective / f_reference)
    rotation_rad: float
    tx: float  # frame pixels
    ty: float

    def scene_to_frame(self) -> np.ndarray:
        """3x3 matrix taking scene coordinates to this frame's pixel coordinates."""
        k, th = self.magnification, self.rotation_rad
        cx, cy = (self.width - 1) / 2, (self.height - 1) / 2
        return np.array(
            [
                [k * math.cos(th), -k * math.sin(th), cx + self.tx],
                [k * math.sin(th), k * math.cos(th), cy + self.ty],
                [0.0, 0.0, 1.0],
            ]
        )


@dataclasses.dataclass(frozen=True)
class SensorModel:
    cfa: str
    black_level: int
    white_level: int
    wb: tuple[float, float, float]  # as-shot multipliers R, G, B (G = 1)
    iso: int
    full_well_e: float = 20000.0  # electrons at base ISO 100
    read_noise_dn: float = 1.5  # at ISO 100
    exposure: float = 0.8  # fraction of the range a white (reflectance 1) patch reaches
    cam_from_xyz: tuple[float, ...] = tuple(CAM_FROM_XYZ.ravel())

    @property
    def color_matrix(self) -> np.ndarray:
        """White-balanced camera RGB -> linear sRGB, as a reader of the DNG derives it."""
        return camera_to_srgb(np.reshape(self.cam_from_xyz, (3, 3)))


def _affine(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([matrix[:2], [0.0, 0.0, 1.0]])


def _dense_map(
    coarse: np.ndarray, step: int, size: tuple[int, int], offset: tuple[int, int]
) -> np.ndarray:
    """Bilinear upsampling of a (ny, nx, 2) map sampled every `step` pixels from `offset`
    onto a (h, w, 2) float32 grid (exact float weights; cv2.remap quantises them to 1/32)."""
    w, h = size
    xs = (np.arange(w) - offset[0]) / step
    j = np.clip(np.floor(xs).astype(np.int64), 0, coarse.shape[1] - 2)
    fx = (xs - j)[None, :, None]
    rows = coarse[:, j] * (1 - fx) + coarse[:, j + 1] * fx  # (ny, w, 2)
    ys = (np.arange(h) - offset[1]) / step
    i = np.clip(np.floor(ys).astype(np.int64), 0, coarse.shape[0] - 2)
    fy = (ys - i)[:, None, None]
    out_rows = rows[i] * (1 - fy) + rows[i + 1] * fy
    return out_rows.astype(np.float32)


def _lens_map(
    dst_to_frame: np.ndarray, size: tuple[int, int], lens: LensGeometry, step: int = 8
) -> np.ndarray:
    """Ideal frame coordinates (h, w, 2) of each destination pixel of a strip: the real
    (distorted) pixel it stands for, undistorted. Newton runs on a coarse lattice only; the
    distortion field is smooth enough that bilinear reading between nodes `step` supersampled
    pixels apart is exact to ~1e-4 px."""
    w, h = size
    gx = np.arange(-step, w + 2 * step, step, dtype=np.float64)
    gy = np.arange(-step, h + 2 * step, step, dtype=np.float64)
    xx, yy = np.meshgrid(gx, gy)
    real = np.stack([xx, yy], axis=-1) @ dst_to_frame[:2, :2].T + dst_to_frame[:2, 2]
    return _dense_map(lens.undistort(real), step, size, (-step, -step))


def render_radiance(
    scene: Scene,
    geometry: FrameGeometry,
    blur_sigma_px: float,
    supersample: int = 3,
    strip_pixels: int = 6_000_000,
    lens: LensGeometry | None = None,
    foreground_pose: np.ndarray | None = None,
) -> np.ndarray:
    """Scene radiance (linear sRGB, float32 (H, W, 3)) integrated over each pixel.

    Each strip of rows is drawn on a scene-aligned canvas at `supersample` times the frame's
    resolution, warped onto the rotated pixel grid (through the lens's distortion when there is
    one: `geometry` is then the ideal, pinhole frame), blurred by the optics (Gaussian, sigma in
    frame pixels) and box-filtered into pixels. Memory stays bounded by `strip_pixels`.
    `foreground_pose`: where the scene's foreground layer lies in this frame (scene.draw).
    """
    ss = supersample
    width, height = geometry.width, geometry.height
    out = np.empty((height, width, 3), dtype=np.float32)
    sigma_ss = blur_sigma_px * ss
    margin = math.ceil(4 * sigma_ss) + ss
    frame_to_scene = np.linalg.inv(geometry.scene_to_frame())
    canvas_scale = geometry.magnification * ss
    rows = max(8, strip_pixels // ((width * ss + 2 * margin) * ss * ss))
    for r0 in range(0, height, rows):
        r1 = min(height, r0 + rows)
        dst_w = width * ss + 2 * margin
        dst_h = (r1 - r0) * ss + 2 * margin
        # dst index j -> frame pixel coordinate p = (j - margin + 0.5) / ss - 0.5 (+ r0 in y)
        dst_to_frame = np.array(
            [
                [1 / ss, 0, (0.5 - margin) / ss - 0.5],
                [0, 1 / ss, (0.5 - margin) / ss - 0.5 + r0],
                [0, 0, 1],
            ]
        )
        dst_to_scene = frame_to_scene @ dst_to_frame
        if lens is None or lens.distortion.is_identity:
            ideal = None
            corners = np.array([[0, 0, 1], [dst_w, 0, 1], [0, dst_h, 1], [dst_w, dst_h, 1]]).T
            scene_corners = (dst_to_scene @ corners)[:2]
        else:
            ideal = _lens_map(dst_to_frame, (dst_w, dst_h), lens)
            flat = ideal.reshape(-1, 2).astype(np.float64)
            lo, hi = flat.min(axis=0), flat.max(axis=0)
            box = np.array(
                [[lo[0], lo[1], 1], [hi[0], lo[1], 1], [lo[0], hi[1], 1], [hi[0], hi[1], 1]]
            )
            scene_corners = (frame_to_scene @ box.T)[:2]
        pad = 2 / canvas_scale
        x0, y0 = scene_corners.min(axis=1) - pad
        x1, y1 = scene_corners.max(axis=1) + pad
        canvas = np.empty(
            (
                math.ceil((y1 - y0) * canvas_scale) + 1,
                math.ceil((x1 - x0) * canvas_scale) + 1,
                3,
            ),
            dtype=np.float32,
        )
        draw(scene, canvas, canvas_scale, (x0, y0), foreground_pose)
        scene_to_canvas = np.array(
            [
                [canvas_scale, 0, -x0 * canvas_scale],
                [0, canvas_scale, -y0 * canvas_scale],
                [0, 0, 1],
            ]
        )
        if ideal is None:
            dst_to_canvas = scene_to_canvas @ dst_to_scene
            sharp = cv2.warpAffine(
                canvas,
                dst_to_canvas[:2],
                (dst_w, dst_h),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REFLECT,
            )
        else:
            ideal_to_canvas = (scene_to_canvas @ frame_to_scene).astype(np.float32)
            at = ideal @ ideal_to_canvas[:2, :2].T + ideal_to_canvas[:2, 2]
            del ideal
            sharp = cv2.remap(
                canvas, at[..., 0], at[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
            )
            del at
        del canvas
        blurred = cv2.GaussianBlur(sharp, (0, 0), sigma_ss) if sigma_ss > 0 else sharp
        core = blurred[margin : margin + (r1 - r0) * ss, margin : margin + width * ss]
        out[r0:r1] = core.reshape(r1 - r0, ss, width, ss, 3).mean(axis=(1, 3))
    return out


def vignetting(width: int, height: int, strength: float) -> np.ndarray:
    """Radial fall-off 1 - strength * (r / r_corner)^2, float32 (H, W)."""
    y = np.arange(height, dtype=np.float32) - (height - 1) / 2
    x = np.arange(width, dtype=np.float32) - (width - 1) / 2
    r2 = (x[None, :] ** 2 + y[:, None] ** 2) / ((width / 2) ** 2 + (height / 2) ** 2)
    return (1.0 - strength * r2).astype(np.float32)


def expose(
    radiance: np.ndarray, sensor: SensorModel, gain: float, rng: np.random.Generator
) -> np.ndarray:
    """Radiance (linear sRGB) -> uint16 Bayer mosaic with Poisson-Gaussian noise, 14-bit style."""
    cam_from_rgb = np.linalg.inv(sensor.color_matrix).astype(np.float32)
    cam = radiance @ cam_from_rgb.T
    cam /= np.asarray(sensor.wb, dtype=np.float32)
    mosaic = mosaic_from_rgb(cam, sensor.cfa)
    span = sensor.white_level - sensor.black_level
    signal_dn = np.clip(mosaic * (gain * sensor.exposure * span), 0, None)
    dn_per_electron = span / sensor.full_well_e * sensor.iso / 100.0
    electrons = rng.poisson(signal_dn / dn_per_electron)
    read = rng.normal(0.0, sensor.read_noise_dn * math.sqrt(sensor.iso / 100.0), mosaic.shape)
    dn = electrons * dn_per_electron + read + sensor.black_level
    return np.clip(np.rint(dn), 0, sensor.white_level).astype(np.uint16)
