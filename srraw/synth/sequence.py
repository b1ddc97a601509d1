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
from srraw.rig import Rig
from srraw.synth.render import FrameGeometry, SensorModel, expose, render_radiance, vignetting
from srraw.synth.scene import Scene, make_scene
from srraw.tiffwrite import DngMeta, add_exif_to_jpeg, write_dng

TRUTH_NAME = "truth.json"
TRUTH_VERSION = 1
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


def scene_for(rig: Rig, seed: int, width: int) -> Scene:
    f_ref = reference_focal(rig)
    return make_scene(seed, width / 2, width / 2 * f_ref / max(rig.focal_lengths_mm))


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
) -> RenderedFrame:
    """Render one frame: radiance through the lens, the sensor, the camera's own JPEG.

    `settings` is what the body is set to (default: the rig's exposure plan)."""
    settings = settings or Settings.of(rig)
    sensor = dataclasses.replace(sensor, iso=settings.iso)
    width, height = size
    scale_to_size = width / rig.body.sensor_width_px  # plans are in rig-sensor pixels
    geometry = FrameGeometry(
        width=width,
        height=height,
        magnification=plan.focal_effective_mm / reference_focal(rig),
        rotation_rad=math.radians(plan.rotation_deg),
        tx=plan.tx_px * scale_to_size,
        ty=plan.ty_px * scale_to_size,
    )
    if supersample is None:
        # 2 leaves polygon edges quantised to half a pixel: a 0.1-0.3 px bias in wide frames.
        supersample = 3
    radiance = render_radiance(scene, geometry, plan.blur_sigma_px, supersample)
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
    ok, encoded = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise SrrawError("OpenCV could not encode the JPEG")
    exif = Exif(
        make=rig.body.make,
        model=rig.body.model,
        serial=f"SIM{seed:08d}",
        lens_model=rig.lens.model,
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
        plan, geometry, mosaic, add_exif_to_jpeg(encoded.tobytes(), exif), dng_meta
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
        # Same grid for the RAW mosaic and the JPEG: pixel centres, origin top-left, y down.
        "scene_to_frame": [float(v) for v in frame.geometry.scene_to_frame().ravel()],
    }


def is_complete(folder: Path) -> bool:
    """A sequence is done when its truth sidecar (written last) and every frame exist."""
    truth = folder / TRUTH_NAME
    if not truth.is_file():
        return False
    try:
        frames = json.loads(truth.read_text())["frames"]
    except (ValueError, KeyError):
        return False
    return all((folder / f["raw"]).is_file() and (folder / f["jpeg"]).is_file() for f in frames)


def write_sequence(
    rig: Rig,
    folder: Path,
    seed: int,
    size: tuple[int, int],
    realism: Realism = Realism(),
    on_frame: Callable[[RenderedFrame], None] | None = None,
) -> Path:
    """Render and write every frame of one sequence, then its truth sidecar (last)."""
    folder.mkdir(parents=True, exist_ok=True)
    start = dt.datetime(2026, 1, 1, 12, 0, 0) + dt.timedelta(minutes=seed % 100_000)
    scene = scene_for(rig, seed, size[0])
    sensor = sensor_for(rig, seed)
    records = []
    for plan in plan_sequence(rig, seed, start, realism):
        frame = render_frame(rig, scene, sensor, plan, size, seed, realism)
        write_frame(frame, folder)
        records.append(truth_record(frame))
        if on_frame:
            on_frame(frame)
    truth = {
        "version": TRUTH_VERSION,
        "generator": "srraw synth",
        "seed": seed,
        "rig": rig.name,
        "reference_focal_mm": reference_focal(rig),
        "scene_units": "pixels of a frame at reference_focal_mm, origin on the optical axis",
        "cfa": sensor.cfa,
        "black_level": sensor.black_level,
        "white_level": sensor.white_level,
        "wb": list(sensor.wb),
        "color_matrix": [float(v) for v in sensor.color_matrix.ravel()],
        "frames": records,
    }
    atomic_write_bytes(folder / TRUTH_NAME, (json.dumps(truth, indent=2) + "\n").encode())
    return folder / TRUTH_NAME
