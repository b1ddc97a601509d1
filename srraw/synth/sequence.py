"""Plan and write one synthetic SR-RAW sequence: DNG + JPEG per frame and a truth sidecar."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from srraw.errors import SrrawError
from srraw.exif import Exif
from srraw.files import atomic_path, atomic_write_bytes
from srraw.isp import develop
from srraw.lens import Distortion, LensGeometry, crop_scale
from srraw.lensdb import LensEntry, camera_crop_factor, find_lens
from srraw.rig import Rig
from srraw.synth.render import FrameGeometry, SensorModel, expose, render_radiance, vignetting
from srraw.synth.scene import SCENE_KINDS, Scene, make_scene
from srraw.tiffwrite import DngMeta, add_exif_to_jpeg, write_dng

TRUTH_NAME = "truth.json"
TRUTH_VERSION = 2
JPEG_GEOMETRIES = ("raw", "corrected")
# `--scene-kind mixed`: each block of four sequences holds these, in an order drawn from the seed.
MIXED_BLOCK = ("normal", "normal", "smooth", "depth")
RAW_SUFFIX = ".DNG"
JPEG_SUFFIX = ".JPG"


@dataclasses.dataclass(frozen=True)
class Realism:
    """How far a real capture strays from the plan; the defaults follow the issue's figures."""

    ring_miss: float = 0.03  # zoom ring lands within +-3% of the asked focal length
    breathing: float = 0.01  # optical focal length differs from what the lens reports
    rotation_deg: float = 1.5  # hand motion between frames
    translation: float = 0.02  # fraction of the width
    illumination: float = 0.15  # exposure / illumination change between frames
    vignetting: float = 0.3  # fall-off at the corners of the widest frame
    blur_px: tuple[float, float] = (0.6, 1.0)  # optical blur sigma range
    # Real lens copies and focus distances differ from the database profile: each distortion
    # term is scaled by 1 + U(-lens_copy, lens_copy) per dataset and 1 + U(-focus, focus) per
    # sequence.
    lens_copy: float = 0.06
    focus: float = 0.03


def _check_crop(crop: tuple) -> None:
    if len(crop) != 4 or min(crop) < 0:
        raise ValueError("a JPEG crop is 4 pixel counts >= 0: LEFT,TOP,RIGHT,BOTTOM")


def parse_jpeg_crop(text: str) -> tuple[int, int, int, int]:
    """'LEFT,TOP,RIGHT,BOTTOM' -> LensSetup.jpeg_crop; ValueError if it is not 4 counts >= 0."""
    try:
        crop = tuple(int(v) for v in text.split(","))
    except ValueError:
        crop = ()
    _check_crop(crop)
    return crop


@dataclasses.dataclass(frozen=True)
class LensSetup:
    """The lens a synthetic dataset is shot with: a lensfun profile (None: ideal pinhole frames),
    this copy's perturbation of its terms, and what the body does to its JPEGs."""

    entry: LensEntry | None = None
    copy_factors: tuple[float, ...] = (1.0, 1.0, 1.0)
    jpeg_geometry: str = "raw"  # 'raw': JPEG on the RAW's grid; 'corrected': undistorted + crop
    exif_lens: str | None = None  # lens name written to EXIF instead of the rig's
    # Pixels the body trims off the developed frame before it writes the JPEG (left, top,
    # right, bottom): bodies crop their JPEGs from the sensor (a Sony 6048x4024 RAW, a
    # 6000x4000 JPEG), so the JPEG sits a whole or half pixel off the RAW's centre.
    jpeg_crop: tuple[int, int, int, int] = (0, 0, 0, 0)

    def __post_init__(self) -> None:
        if self.jpeg_geometry not in JPEG_GEOMETRIES:
            raise ValueError(f"jpeg geometry must be one of {JPEG_GEOMETRIES}")
        _check_crop(self.jpeg_crop)

    def focus_factors(self, seed: int, realism: Realism = Realism()) -> tuple[float, ...]:
        """Per-sequence scaling of each term (focus distance changes the distortion)."""
        rng = np.random.default_rng([seed, 4])
        return tuple(1 + rng.uniform(-realism.focus, realism.focus, 3))

    def geometry(
        self, rig: Rig, focal_mm: float, size: tuple[int, int], focus: tuple[float, ...]
    ) -> LensGeometry | None:
        """The frame's true distortion at its optical focal length, or None for ideal frames."""
        if self.entry is None:
            return None
        prior = self.entry.distortion_at(focal_mm)
        if prior is None:
            return None
        terms = tuple(
            t * c * f for t, c, f in zip(prior.terms, self.copy_factors, focus, strict=False)
        )
        crop = camera_crop_factor(rig.body.make, rig.body.model)
        return LensGeometry(
            Distortion(prior.model, terms), self.entry.normalisation(size[0], size[1], crop)
        )


def lens_setup(
    rig: Rig,
    lens: str | None,
    seed: int,
    jpeg_geometry: str = "raw",
    exif_lens: str | None = None,
    jpeg_crop: tuple[int, int, int, int] = (0, 0, 0, 0),
    realism: Realism = Realism(),
) -> LensSetup:
    """`lens`: a lensfun lens name, 'none' for ideal frames, None for the rig's default."""
    name = rig.lens.lensfun if lens is None else lens
    if not name or name.casefold() == "none":
        return LensSetup(
            None, jpeg_geometry=jpeg_geometry, exif_lens=exif_lens, jpeg_crop=tuple(jpeg_crop)
        )
    entry = find_lens(name, rig.body.make, rig.body.model)
    if entry is None:
        raise SrrawError(f"lens {name!r} is not in the lensfun database (try 'none')")
    rng = np.random.default_rng([seed, 7])
    copy = tuple(1 + rng.uniform(-realism.lens_copy, realism.lens_copy, 3))
    return LensSetup(entry, copy, jpeg_geometry, exif_lens, tuple(jpeg_crop))


@dataclasses.dataclass(frozen=True)
class FramePlan:
    index: int  # 1-based, capture order
    focal_nominal_mm: float
    focal_ring_mm: float  # where the ring landed (what the lens reports, before rounding)
    focal_effective_mm: float  # the true optical focal length
    focal_exif_mm: float  # whole millimetres, as the body writes it
    rotation_deg: float
    tx_px: float
    ty_px: float
    gain: float
    blur_sigma_px: float
    capture_time: dt.datetime

    @property
    def stem(self) -> str:
        return f"{self.index:05d}"


def frame_size(rig: Rig, megapixels: float | None) -> tuple[int, int]:
    """(width, height): the rig's sensor, or its aspect at the given megapixels, even-aligned."""
    width, height = rig.body.sensor_width_px, rig.body.sensor_height_px
    if megapixels:
        aspect = width / height
        height = round(math.sqrt(megapixels * 1e6 / aspect) / 2) * 2
        return round(height * aspect / 2) * 2, height
    return width, height


def reference_focal(rig: Rig) -> float:
    """Scene units are pixels of a frame at this focal length (the rig's shortest)."""
    return min(rig.focal_lengths_mm)


def scene_for(rig: Rig, seed: int, width: int, kind: str = "normal") -> Scene:
    f_ref = reference_focal(rig)
    return make_scene(seed, width / 2, width / 2 * f_ref / max(rig.focal_lengths_mm), kind=kind)


def scene_kind_for(kind: str, seed: int, index: int) -> str:
    """The kind of sequence `index` (1-based) of a dataset: `kind` itself, or for 'mixed' the
    MIXED_BLOCK fractions (1/2 normal, 1/4 smooth, 1/4 depth), shuffled per block of four
    by the dataset's seed, so any four consecutive sequences from a block start hold each."""
    if kind != "mixed":
        if kind not in SCENE_KINDS:
            raise SrrawError(f"scene kind must be one of {(*SCENE_KINDS, 'mixed')}")
        return kind
    block, slot = divmod(index - 1, len(MIXED_BLOCK))
    order = np.random.default_rng([seed, 13, block]).permutation(len(MIXED_BLOCK))
    return MIXED_BLOCK[int(order[slot])]


def foreground_pose(
    rig: Rig, scene: Scene, plan: FramePlan, width: int, seed: int
) -> np.ndarray | None:
    """Where a depth scene's foreground layer lies in this frame, in background scene
    coordinates (3x3: P = s X + d), or None for a scene without one.

    Zooming moves the entrance pupil forward by p (linear in focal length, 0 at the reference
    focal length) and the hand or tripod shifts the camera sideways by T; against the
    background (whose motion scene_to_frame already holds) a layer at depth Z_f then scales by
    s = (1 - p / Z_b) / (1 - p / Z_f) about the axis and shifts by d = F T (1 / Z_b - s / Z_f),
    F the reference focal length in scene units."""
    fg = scene.foreground
    if fg is None:
        return None
    f_ref, f_max = reference_focal(rig), max(rig.focal_lengths_mm)
    along = (plan.focal_effective_mm - f_ref) / max(f_max - f_ref, 1e-9)
    pupil_m = fg.pupil_travel_mm / 1000 * along
    lateral_m = np.random.default_rng([seed, 10, plan.index]).uniform(-1, 1, 2) * (
        fg.lateral_mm / 1000
    )
    s = (1 - pupil_m / fg.background_depth_m) / (1 - pupil_m / fg.depth_m)
    focal_units = f_ref / rig.body.sensor_width_mm * width
    d = focal_units * lateral_m * (1 / fg.background_depth_m - s / fg.depth_m)
    return np.array([[s, 0.0, d[0]], [0.0, s, d[1]], [0.0, 0.0, 1.0]])


def plan_frame(
    rig: Rig,
    index: int,
    focal_nominal_mm: float,
    focal_ring_mm: float,
    rng: np.random.Generator,
    capture_time: dt.datetime,
    realism: Realism = Realism(),
) -> FramePlan:
    """Everything random about one frame, given the asked focal length and where the ring is."""
    effective = focal_ring_mm * (1 + rng.uniform(-realism.breathing, realism.breathing))
    width = rig.body.sensor_width_px
    return FramePlan(
        index=index,
        focal_nominal_mm=focal_nominal_mm,
        focal_ring_mm=focal_ring_mm,
        focal_effective_mm=effective,
        focal_exif_mm=float(round(focal_ring_mm)),
        rotation_deg=rng.uniform(-realism.rotation_deg, realism.rotation_deg),
        tx_px=rng.uniform(-realism.translation, realism.translation) * width,
        ty_px=rng.uniform(-realism.translation, realism.translation) * width,
        gain=1 + rng.uniform(-realism.illumination, realism.illumination),
        blur_sigma_px=rng.uniform(*realism.blur_px),
        capture_time=capture_time,
    )


def plan_sequence(
    rig: Rig, seed: int, start: dt.datetime, realism: Realism = Realism()
) -> list[FramePlan]:
    rng = np.random.default_rng([seed, 1])
    plans = []
    for index, nominal in enumerate(rig.focal_lengths_mm, start=1):
        ring = nominal * (1 + rng.uniform(-realism.ring_miss, realism.ring_miss))
        ring = min(max(ring, rig.lens.min_focal_mm), rig.lens.max_focal_mm)
        when = start + dt.timedelta(seconds=6 * (index - 1))
        plans.append(plan_frame(rig, index, nominal, ring, rng, when, realism))
    return plans


def sensor_for(rig: Rig, seed: int) -> SensorModel:
    rng = np.random.default_rng([seed, 2])
    wb = (2.1 * rng.uniform(0.9, 1.1), 1.0, 1.6 * rng.uniform(0.9, 1.1))
    return SensorModel(
        cfa=rig.body.cfa,
        black_level=rig.body.black_level,
        white_level=rig.body.white_level,
        wb=wb,
        iso=rig.exposure.iso,
    )


@dataclasses.dataclass(frozen=True)
class Settings:
    """Exposure the body is set to; brightness and noise follow it relative to the rig's plan."""

    f_number: float
    exposure_time_s: float
    iso: int

    @classmethod
    def of(cls, rig: Rig) -> Settings:
        return cls(rig.exposure.f_number, rig.exposure.exposure_time_s, rig.exposure.iso)

    def gain_over(self, planned: Settings) -> float:
        """Exposure relative to the planned one (time x ISO / f-number squared)."""
        return (
            (self.exposure_time_s / planned.exposure_time_s)
            * (self.iso / planned.iso)
            * (planned.f_number / self.f_number) ** 2
        )


@dataclasses.dataclass(frozen=True)
class RenderedFrame:
    plan: FramePlan
    geometry: FrameGeometry
    mosaic: np.ndarray
    jpeg: bytes
    dng_meta: DngMeta
    lens: LensGeometry | None = None
    jpeg_geometry: str = "raw"
    jpeg_crop_scale: float = 1.0
    foreground_to_scene: np.ndarray | None = None  # depth scenes: the layer's pose
    jpeg_crop: tuple[int, int, int, int] = (0, 0, 0, 0)  # LensSetup.jpeg_crop


def frame_geometry(rig: Rig, plan: FramePlan, size: tuple[int, int]) -> FrameGeometry:
    """Where the frame's (ideal) pixel grid lies in the scene."""
    scale_to_size = size[0] / rig.body.sensor_width_px  # plans are in rig-sensor pixels
    return FrameGeometry(
        width=size[0],
        height=size[1],
        magnification=plan.focal_effective_mm / reference_focal(rig),
        rotation_rad=math.radians(plan.rotation_deg),
        tx=plan.tx_px * scale_to_size,
        ty=plan.ty_px * scale_to_size,
    )


def correct_jpeg(rgb: np.ndarray, lens: LensGeometry, scale: float) -> np.ndarray:
    """What a body that corrects distortion does to its JPEG: each JPEG pixel q shows the ideal
    point u = c + (q - c) / scale, read from the developed RAW at the lens's real position."""
    h, w = rgb.shape[:2]
    c = np.array(lens.norm.centre)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    ideal = (np.stack([xs, ys], axis=-1) - c) / scale + c
    real = lens.distort(ideal).astype(np.float32)
    return cv2.remap(
        rgb, real[..., 0], real[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


def render_frame(
    rig: Rig,
    scene: Scene,
    sensor: SensorModel,
    plan: FramePlan,
    size: tuple[int, int],
    seed: int,
    realism: Realism = Realism(),
    supersample: int | None = None,
    settings: Settings | None = None,
    lens: LensSetup = LensSetup(),
    focus: tuple[float, ...] = (1.0, 1.0, 1.0),
) -> RenderedFrame:
    """Render one frame: radiance through the lens, the sensor, the camera's own JPEG.

    `settings` is what the body is set to (default: the rig's exposure plan); `lens` how the
    lens distorts (default: ideal) and `focus` this sequence's perturbation of its terms."""
    settings = settings or Settings.of(rig)
    sensor = dataclasses.replace(sensor, iso=settings.iso)
    width, height = size
    geometry = frame_geometry(rig, plan, size)
    if supersample is None:
        # 2 leaves polygon edges quantised to half a pixel: a 0.1-0.3 px bias in wide frames.
        supersample = 3
    distortion = lens.geometry(rig, plan.focal_effective_mm, size, focus)
    pose = foreground_pose(rig, scene, plan, width, seed)
    radiance = render_radiance(
        scene, geometry, plan.blur_sigma_px, supersample, lens=distortion, foreground_pose=pose
    )
    strength = realism.vignetting * math.sqrt(reference_focal(rig) / plan.focal_effective_mm)
    radiance *= vignetting(width, height, strength)[..., None]
    rng = np.random.default_rng([seed, 3, plan.index])
    mosaic = expose(radiance, sensor, plan.gain * settings.gain_over(Settings.of(rig)), rng)
    rgb = develop(
        mosaic,
        sensor.cfa,
        [sensor.black_level] * 4,
        sensor.white_level,
        sensor.wb,
        sensor.color_matrix,
    )
    jpeg_scale = 1.0
    if lens.jpeg_geometry == "corrected" and distortion is not None:
        jpeg_scale = crop_scale(distortion)
        rgb = correct_jpeg(rgb, distortion, jpeg_scale)
    left, top, right, bottom = lens.jpeg_crop
    if left + right >= width or top + bottom >= height:
        raise SrrawError(f"a JPEG crop of {lens.jpeg_crop} leaves nothing of {width}x{height}")
    rgb = np.ascontiguousarray(rgb[top : height - bottom, left : width - right])
    ok, encoded = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise SrrawError("OpenCV could not encode the JPEG")
    exif = Exif(
        make=rig.body.make,
        model=rig.body.model,
        serial=f"SIM{seed:08d}",
        lens_model=lens.exif_lens or rig.lens.model,
        focal_length_mm=plan.focal_exif_mm,
        exposure_time_s=settings.exposure_time_s,
        f_number=settings.f_number,
        iso=settings.iso,
        orientation=1,
        capture_time=plan.capture_time,
    )
    dng_meta = DngMeta(
        exif=exif,
        cfa=sensor.cfa,
        black_level=(sensor.black_level,) * 4,
        white_level=sensor.white_level,
        as_shot_neutral=tuple(1.0 / m for m in sensor.wb),
        color_matrix1=tuple(float(v) for v in sensor.cam_from_xyz),
    )
    return RenderedFrame(
        plan,
        geometry,
        mosaic,
        add_exif_to_jpeg(encoded.tobytes(), exif),
        dng_meta,
        distortion,
        lens.jpeg_geometry,
        jpeg_scale,
        pose,
        lens.jpeg_crop,
    )


def write_frame(frame: RenderedFrame, folder: Path) -> tuple[Path, Path]:
    """Write the DNG and the JPEG of one frame atomically; returns their paths."""
    raw_path = folder / f"{frame.plan.stem}{RAW_SUFFIX}"
    jpeg_path = folder / f"{frame.plan.stem}{JPEG_SUFFIX}"
    with atomic_path(raw_path) as tmp:
        write_dng(tmp, frame.mosaic, frame.dng_meta)
    atomic_write_bytes(jpeg_path, frame.jpeg)
    return raw_path, jpeg_path


def truth_record(frame: RenderedFrame) -> dict:
    plan = dataclasses.asdict(frame.plan)
    plan["capture_time"] = frame.plan.capture_time.isoformat()
    return {
        **plan,
        "raw": f"{frame.plan.stem}{RAW_SUFFIX}",
        "jpeg": f"{frame.plan.stem}{JPEG_SUFFIX}",
        "width": frame.geometry.width,
        "height": frame.geometry.height,
        # Scene -> the frame's *ideal* (pinhole) pixel coordinates: pixel centres, origin
        # top-left, y down. The RAW sees them through `distortion`; see srraw/synth/truth.py.
        "scene_to_frame": [float(v) for v in frame.geometry.scene_to_frame().ravel()],
        "distortion": _distortion_record(frame.lens),
        "jpeg_geometry": frame.jpeg_geometry if frame.lens is not None else "raw",
        "jpeg_crop_scale": frame.jpeg_crop_scale,
        # JPEG pixel q is pixel q + (left, top) of the developed frame (srraw/synth/truth.py)
        "jpeg_crop": list(frame.jpeg_crop),
        "jpeg_width": frame.geometry.width - frame.jpeg_crop[0] - frame.jpeg_crop[2],
        "jpeg_height": frame.geometry.height - frame.jpeg_crop[1] - frame.jpeg_crop[3],
        # Depth scenes: foreground layer point X -> background scene point (3x3, row-major).
        "foreground_to_scene": (
            None
            if frame.foreground_to_scene is None
            else [float(v) for v in frame.foreground_to_scene.ravel()]
        ),
    }


def _scene_record(scene: Scene) -> dict:
    """What truth.json says about a hard scene beyond the per-frame geometry."""
    if scene.texture_region is not None:
        x, y, r = scene.texture_region
        return {"texture_region": {"center": [x, y], "radius": r, "units": "scene"}}
    fg = scene.foreground
    if fg is None:
        return {}
    return {
        "foreground": {
            "silhouette": [[float(x), float(y)] for x, y in fg.silhouette],
            "depth_m": fg.depth_m,
            "background_depth_m": fg.background_depth_m,
            "pupil_travel_mm": fg.pupil_travel_mm,
            "lateral_mm": fg.lateral_mm,
            "map": (
                "scene_to_frame (+ the lens terms) is the background's map only. The layer "
                "covers the convex 'silhouette' (layer coordinates); frame i sees layer point X "
                "at ideal pixel scene_to_frame[i] @ foreground_to_scene[i] @ X, in front of the "
                "background. A background pixel near the silhouette in one frame may be hidden "
                "in another (no true map there). srraw/synth/truth.py: true_h_to_l, "
                "foreground_mask."
            ),
        }
    }


def _distortion_record(lens: LensGeometry | None) -> dict:
    if lens is None:
        return {"model": "none", "terms": [], "norm_scale": None}
    return {
        "model": lens.distortion.model,
        "terms": list(lens.distortion.terms),
        "norm_scale": lens.norm.scale,  # normalised units per pixel, about the frame centre
    }


def is_complete(
    folder: Path, kind: str | None = None, jpeg_crop: tuple[int, int, int, int] | None = None
) -> bool:
    """A sequence is done when its truth sidecar (written last) and every frame exist (and,
    given `kind`, it holds that kind of scene: sidecars without one hold 'normal'; given
    `jpeg_crop`, its JPEGs were cropped so: sidecars without one were not)."""
    truth = folder / TRUTH_NAME
    if not truth.is_file():
        return False
    try:
        record = json.loads(truth.read_text())
        frames = record["frames"]
    except (ValueError, KeyError, TypeError):
        return False
    if kind is not None and record.get("scene_kind", "normal") != kind:
        return False
    if jpeg_crop is not None and any(
        tuple(f.get("jpeg_crop", (0, 0, 0, 0))) != tuple(jpeg_crop) for f in frames
    ):
        return False
    return all((folder / f["raw"]).is_file() and (folder / f["jpeg"]).is_file() for f in frames)


def write_sequence(
    rig: Rig,
    folder: Path,
    seed: int,
    size: tuple[int, int],
    realism: Realism = Realism(),
    on_frame: Callable[[RenderedFrame], None] | None = None,
    lens: LensSetup = LensSetup(),
    kind: str = "normal",
) -> Path:
    """Render and write every frame of one sequence, then its truth sidecar (last)."""
    folder.mkdir(parents=True, exist_ok=True)
    start = dt.datetime(2026, 1, 1, 12, 0, 0) + dt.timedelta(minutes=seed % 100_000)
    scene = scene_for(rig, seed, size[0], kind)
    sensor = sensor_for(rig, seed)
    records = []
    focus = lens.focus_factors(seed, realism)
    for plan in plan_sequence(rig, seed, start, realism):
        frame = render_frame(rig, scene, sensor, plan, size, seed, realism, lens=lens, focus=focus)
        write_frame(frame, folder)
        records.append(truth_record(frame))
        if on_frame:
            on_frame(frame)
    truth = {
        "version": TRUTH_VERSION,
        "generator": "srraw synth",
        "seed": seed,
        "scene_kind": scene.kind,
        **_scene_record(scene),
        "rig": rig.name,
        "reference_focal_mm": reference_focal(rig),
        "scene_units": "pixels of a frame at reference_focal_mm, origin on the optical axis",
        "lens": None if lens.entry is None else lens.entry.name,
        "lens_copy_factors": list(lens.copy_factors) if lens.entry else None,
        "focus_factors": list(focus) if lens.entry else None,
        "map": (
            "JPEG-H pixel q -> RAW-L mosaic pixel: u_H = (q - c) / jpeg_crop_scale + c if "
            "jpeg_geometry == 'corrected' else undistort_H(q); u_L = scene_to_frame[L] @ "
            "inv(scene_to_frame[H]) @ u_H; p_L = distort_L(u_L); distort is lensfun's model "
            "(srraw/lens.py) about c = ((W-1)/2, (H-1)/2) with r normalised by norm_scale"
        ),
        "cfa": sensor.cfa,
        "black_level": sensor.black_level,
        "white_level": sensor.white_level,
        "wb": list(sensor.wb),
        "color_matrix": [float(v) for v in sensor.color_matrix.ravel()],
        "frames": records,
    }
    atomic_write_bytes(folder / TRUTH_NAME, (json.dumps(truth, indent=2) + "\n").encode())
    return folder / TRUTH_NAME
