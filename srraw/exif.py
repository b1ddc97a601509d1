"""EXIF fields the pipeline needs, read with exifread from a RAW or JPEG file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from fractions import Fraction
from pathlib import Path

import exifread

from srraw.errors import SrrawError

# exifread logs "File format not recognized." and the like through Python's last-resort
# handler onto stderr; read_exif's callers report what is wrong in their own one line.
logging.getLogger("exifread").addHandler(logging.NullHandler())


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


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


# A JPEG may be cropped or downscaled from the sensor, never larger than it (beyond edge pixels).
_SIZE_MARGIN = 1.02
_TIME_TOLERANCE = dt.timedelta(seconds=1)
_FOCAL_TOLERANCE = 0.01


def shot_mismatches(
    raw: Exif,
    jpeg: Exif,
    raw_size: tuple[int, int] | None = None,
    jpeg_size: tuple[int, int] | None = None,
) -> list[str]:
    """Why a RAW and a JPEG cannot be the same shot: what both record and disagree on.

    A field one of them lacks is not compared. Sizes are (width, height) as stored; the JPEG
    may be turned by 90 degrees.
    """
    problems = []
    for name in ("make", "model", "serial"):
        a, b = getattr(raw, name), getattr(jpeg, name)
        if a and b and not _same_text(a, b):
            problems.append(f"{name} {a!r} vs {b!r}")
    times = (raw.capture_time, jpeg.capture_time)
    if all(times) and abs(times[0] - times[1]) > _TIME_TOLERANCE:
        problems.append(f"capture time {times[0]} vs {times[1]}")
    focals = (raw.focal_length_mm, jpeg.focal_length_mm)
    if all(focals) and abs(focals[0] / focals[1] - 1) > _FOCAL_TOLERANCE:
        problems.append(f"focal length {raw.focal_length_mm:g} mm vs {jpeg.focal_length_mm:g} mm")
    if raw_size and jpeg_size:
        rw, rh = raw_size
        if not any(
            jw <= rw * _SIZE_MARGIN and jh <= rh * _SIZE_MARGIN
            for jw, jh in (jpeg_size, jpeg_size[::-1])
        ):
            problems.append(
                f"JPEG {jpeg_size[0]}x{jpeg_size[1]} is larger than the RAW's "
                f"{raw_size[0]}x{raw_size[1]} sensor area"
            )
    return problems
