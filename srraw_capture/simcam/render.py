"""What the sensor sees: one capture rendered by srraw's synthetic renderer, as DNG + JPEG bytes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from srraw.rig import Rig
from srraw.synth.sequence import (
    Settings,
    frame_size,
    lens_setup,
    plan_frame,
    render_frame,
    scene_for,
    sensor_for,
)
from srraw.tiffwrite import encode_dng


@dataclass(frozen=True)
class Shot:
    """The body's state at the moment the shutter fires."""

    index: int  # 1-based capture counter
    focal_asked_mm: float  # where the photographer (or the power zoom) aimed the ring
    focal_ring_mm: float  # where the ring is
    f_number: float
    exposure_time_s: float
    iso: int
    when: dt.datetime


@dataclass(frozen=True)
class Capture:
    dng: bytes
    jpeg: bytes
    width: int
    height: int
    focal_exif_mm: float


class Renderer:
    """One scene in front of the camera; `scene(seed)` points the camera somewhere else."""

    def __init__(self, rig: Rig, seed: int, size: tuple[int, int] | None = None) -> None:
        self.rig = rig
        self.body_seed = seed  # the body's serial number in EXIF is SIM{seed:08d}
        self.size = size or frame_size(rig, None)
        self.scene_seed = seed
        self._scene = scene_for(rig, seed, self.size[0])
        self._sensor = sensor_for(rig, seed)
        # The rig's lens (its lensfun profile, this body's copy of it): frames distort as a
        # real zoom lens does, differently at every focal length.
        self._lens = lens_setup(rig, None, seed)
        self._focus = self._lens.focus_factors(seed)

    def point_at(self, seed: int) -> None:
        """A new scene (and white balance), as when the photographer moves the tripod."""
        self._scene = scene_for(self.rig, seed, self.size[0])
        self._sensor = sensor_for(self.rig, seed)
        self._focus = self._lens.focus_factors(seed)
        self.scene_seed = seed

    def render(self, shot: Shot) -> Capture:
        """Render one capture; hand motion, illumination and blur come from the frame plan."""
        rng = np.random.default_rng([self.scene_seed, 5, shot.index])
        plan = plan_frame(
            self.rig, shot.index, shot.focal_asked_mm, shot.focal_ring_mm, rng, shot.when
        )
        settings = Settings(shot.f_number, shot.exposure_time_s, shot.iso)
        frame = render_frame(
            self.rig,
            self._scene,
            self._sensor,
            plan,
            self.size,
            # render_frame writes SIM{seed:08d} as the serial and draws noise per frame index.
            self.body_seed,
            settings=settings,
            lens=self._lens,
            focus=self._focus,
        )
        return Capture(
            dng=encode_dng(frame.mosaic, frame.dng_meta),
            jpeg=frame.jpeg,
            width=self.size[0],
            height=self.size[1],
            focal_exif_mm=plan.focal_exif_mm,
        )
