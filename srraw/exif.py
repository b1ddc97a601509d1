"""EXIF fields the pipeline needs, read with exifread from a RAW or JPEG file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from fractions import Fraction
from pathlib import Path

import exifread

from srraw.errors import SrrawError


@dataclasses.dataclass(frozen=True)
class Exif:
    """Capture metadata; None where the file does not say."""

    make: str | None = None
    model: str | None = None
    serial: str | None = None
    lens_model: str | None = None
    focal_length_mm: float | None = None
    exposure_time_s: float | None = None
    f_number: float | None = None
    iso: int | None = None
    orientation: int | None = None
    capture_time: dt.datetime | None = None

    def merged(self, fallback: Exif) -> Exif:
        """Fields of self, with the gaps filled from fallback."""
        return Exif(
            **{
                f.name: getattr(self, f.name)
                if getattr(self, f.name) is not None
                else getattr(fallback, f.name)
                for f in dataclasses.fields(self)
            }
        )


_TEXT = {
    "make": ("Image Make",),
    "model": ("Image Model",),
    "serial": ("EXIF BodySerialNumber", "Image CameraSerialNumber", "MakerNote SerialNumber"),
    "lens_model": ("EXIF LensModel", "Image LensModel", "MakerNote LensModel"),
}
_NUMBER = {
    "focal_length_mm": ("EXIF FocalLength", "Image FocalLength"),
    "exposure_time_s": ("EXIF ExposureTime", "Image ExposureTime"),
    "f_number": ("EXIF FNumber", "Image FNumber"),
    "iso": ("EXIF ISOSpeedRatings", "EXIF PhotographicSensitivity", "Image ISOSpeedRatings"),
}
_TIME = ("EXIF DateTimeOriginal", "Image DateTimeOriginal", "Image DateTime")


def _first(tags: dict, keys: tuple[str, ...]):
    for key in keys:
        if key in tags:
            return tags[key]
    return None


def _number(tag) -> float | None:
    """A positive number from an EXIF tag; 0 means 'unknown' in EXIF, so it becomes None."""
    if tag is None or not tag.values:
        return None
    value = tag.values[0]
    try:
        number = float(Fraction(value.num, value.den)) if hasattr(value, "den") else float(value)
    except (ZeroDivisionError, TypeError, ValueError):
        return None
    return number if number > 0 else None


def _text(tag) -> str | None:
    if tag is None:
        return None
    text = str(tag.values if isinstance(tag.values, str) else tag).strip().strip("\x00").strip()
    return text or None


def _time(tag) -> dt.datetime | None:
    text = _text(tag)
    if not text:
        return None
    try:
        return dt.datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def exif_from_tags(tags: dict) -> Exif:
    """Build an Exif record from exifread's tag dictionary."""
    fields: dict = {name: _text(_first(tags, keys)) for name, keys in _TEXT.items()}
    for name, keys in _NUMBER.items():
        fields[name] = _number(_first(tags, keys))
    if fields["iso"] is not None:
        fields["iso"] = round(fields["iso"])
    orientation = _first(tags, ("Image Orientation",))
    fields["orientation"] = (
        int(orientation.values[0]) if orientation and orientation.values else None
    )
    fields["capture_time"] = _time(_first(tags, _TIME))
    return Exif(**fields)


def read_exif(path: str | os.PathLike[str]) -> Exif:
    """EXIF of one RAW or JPEG file. A file exifread cannot parse raises SrrawError."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            tags = exifread.process_file(fh, details=False)
    except OSError as exc:
        raise SrrawError(f"cannot read: {exc.strerror or exc}", path) from exc
    except Exception as exc:  # exifread raises assorted errors on damaged files
        raise SrrawError(f"damaged EXIF ({type(exc).__name__}: {exc})", path) from exc
    return exif_from_tags(tags)
