"""Distortion priors from the lensfun database (through lensfunpy, which ships it in its wheel).

A lens is looked up by the EXIF make, body model and lens model, or by the lensfun name a rig
profile gives (`[lens] lensfun = "Sony FE 24-240mm f/3.5-6.3 OSS"`); its distortion is
interpolated at the frame's focal length by lensfun itself. A lens lensfun does not know is not
an error: the caller measures the distortion from the images.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from srraw.lens import Distortion, Normalisation

_MODEL_NAMES = {"PTLENS": "ptlens", "POLY3": "poly3", "POLY5": "poly5"}


@dataclasses.dataclass(frozen=True)
class LensEntry:
    """A lensfun lens: its name, calibration sensor and distortion calibrations."""

    maker: str
    model: str
    crop_factor: float
    aspect_ratio: float  # of the calibration sensor (lensfun's default 3:2)
    handle: Any = dataclasses.field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"{self.maker} {self.model}"

    @property
    def focal_range_mm(self) -> tuple[float, float]:
        return float(self.handle.min_focal), float(self.handle.max_focal)

    def distortion_at(self, focal_mm: float) -> Distortion | None:
        """lensfun's own interpolation of the distortion at `focal_mm`, or None."""
        if not self.handle.calib_distortion:
            return None
        calib = self.handle.interpolate_distortion(float(focal_mm))
        model = _MODEL_NAMES.get(str(calib.model).rsplit(".", 1)[-1]) if calib else None
        if model is None:
            return None
        n = {"ptlens": 3, "poly3": 1, "poly5": 2}[model]
        return Distortion(model, tuple(float(t) for t in list(calib.terms)[:n]))

    def normalisation(self, width: int, height: int, crop_factor: float | None) -> Normalisation:
        """lensfun's normalised coordinates for an image of this size on a sensor of this crop
        factor (the calibration sensor's when unknown)."""
        return Normalisation.lensfun(
            width,
            height,
            crop_factor=crop_factor or self.crop_factor,
            calib_crop_factor=self.crop_factor,
            calib_aspect=self.aspect_ratio,
        )


@functools.cache
def _database() -> Any:
    import lensfunpy

    return lensfunpy.Database()


def _key(name: str) -> str:
    """Lens names as makers and lensfun spell them differently: 'F3.5' vs 'f/3.5', case."""
    return re.sub(r"[^0-9a-z.\-]", "", name.casefold().replace("f/", "f"))


@functools.cache
def _aspect_ratios() -> dict[tuple[str, str], float]:
    """(maker, model) -> the calibration sensor's aspect ratio, from the XML files lensfunpy
    ships (its Lens objects do not expose lensfun's AspectRatio)."""
    import lensfunpy

    ratios: dict[tuple[str, str], float] = {}
    for path in sorted((Path(lensfunpy.__file__).parent / "db_files").glob("*.xml")):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError:
            continue
        for lens in root.iter("lens"):
            text = lens.findtext("aspect-ratio")
            maker = lens.findtext("maker")
            model = next((m.text for m in lens.findall("model") if not m.get("lang")), None)
            if not (text and maker and model):
                continue
            num, _, den = text.partition(":")
            try:
                ratio = float(num) / float(den) if den else float(num)
            except ValueError:
                continue
            ratios[(maker, model)] = ratio
    return ratios


def _entry(lens: Any) -> LensEntry:
    aspect = _aspect_ratios().get((lens.maker, lens.model), 1.5)
    return LensEntry(lens.maker, lens.model, float(lens.crop_factor), aspect, lens)


@functools.cache
def find_lens(
    lens_model: str | None, make: str | None = None, body: str | None = None
) -> LensEntry | None:
    """The lensfun lens for these names, or None when lensfun does not know it.

    `lens_model` may be the EXIF lens model or lensfun's 'Maker Model'. Exact names first
    (lensfun's own search for this camera), then a spelling-insensitive match.
    """
    if not lens_model:
        return None
    db = _database()
    cameras = db.find_cameras(make, body) if make and body else []
    if cameras:
        found = db.find_lenses(cameras[0], None, lens_model)
        if found and found[0].score >= 50:
            return _entry(found[0])
    wanted = _key(lens_model)
    for lens in db.lenses:
        if wanted in (_key(lens.model), _key(f"{lens.maker} {lens.model}")):
            return _entry(lens)
    return None


@functools.cache
def camera_crop_factor(make: str | None, body: str | None) -> float | None:
    if not (make and body):
        return None
    cameras = _database().find_cameras(make, body)
    return float(cameras[0].crop_factor) if cameras else None
