"""The body's device properties: their PTP encodings, allowed values, and user-facing names.

Encodings follow what libgphoto2's generic PTP driver expects (else it silently leaves the
property out of the config tree): FNumber UINT16 in 1/100, ExposureTime UINT32 in 1/10000 s
(enumeration), ExposureIndex UINT16, FocalLength UINT32 in 1/100 mm.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from srraw_capture.simcam import codes
from srraw_capture.simcam.datasets import (
    GET,
    GET_SET,
    UINT8,
    UINT16,
    UINT32,
    Enumeration,
    PropDesc,
    Range,
)

F_NUMBERS = (3.5, 4.0, 4.5, 5.0, 5.6, 6.3, 7.1, 8.0, 9.0, 10, 11, 13, 14, 16, 18, 20, 22)
# Third stops, slowest first; each is exact here, PTP carries it rounded to 1/10000 s.
SHUTTER_SPEEDS = tuple(
    Fraction(s)
    for s in [
        "30",
        "25",
        "20",
        "15",
        "13",
        "10",
        "8",
        "6",
        "5",
        "4",
        "16/5",
        "5/2",
        "2",
        "8/5",
        "13/10",
        "1",
        "4/5",
        "3/5",
        "1/2",
        "2/5",
        "3/10",
        "1/4",
        "1/5",
        "1/6",
        "1/8",
        "1/10",
        "1/13",
        "1/15",
        "1/20",
        "1/25",
        "1/30",
        "1/40",
        "1/50",
        "1/60",
        "1/80",
        "1/100",
        "1/125",
        "1/160",
        "1/200",
        "1/250",
        "1/320",
        "1/400",
        "1/500",
        "1/640",
        "1/800",
        "1/1000",
        "1/1250",
        "1/1600",
        "1/2000",
        "1/2500",
        "1/3200",
        "1/4000",
    ]
)
ISO_SPEEDS = (100, 125, 160, 200, 250, 320, 400, 500, 640, 800, 1000, 1250, 1600, 2000, 2500)
ISO_SPEEDS += (3200, 4000, 5000, 6400, 8000, 10000, 12800, 16000, 20000, 25600)
PROGRAMS = {1: "M", 2: "P", 3: "A", 4: "S"}
# CompressionSetting values (Nikon's numbering; libgphoto2 has no generic names for them).
IMAGE_FORMATS = {0x02: "JPEG", 0x04: "RAW", 0x07: "RAW+JPEG"}
RAW_PLUS_JPEG = 0x07


def fnumber_units(f_number: float) -> int:
    return round(f_number * 100)


def shutter_units(seconds: float | Fraction) -> int:
    """ExposureTime in 1/10000 s; Python's round keeps 1/4000 (2.5) apart from 1/3200 (3.125)."""
    return max(1, round(float(seconds) * 10000))


SHUTTER_BY_UNITS = {shutter_units(s): s for s in SHUTTER_SPEEDS}
assert len(SHUTTER_BY_UNITS) == len(SHUTTER_SPEEDS), "shutter speeds collide at 1/10000 s"

# Names a person or a test uses for properties (libgphoto2 widget names first).
PROPERTY_NAMES = {
    "f-number": codes.F_NUMBER,
    "fnumber": codes.F_NUMBER,
    "aperture": codes.F_NUMBER,
    "shutterspeed": codes.EXPOSURE_TIME,
    "shutter": codes.EXPOSURE_TIME,
    "exposuretime": codes.EXPOSURE_TIME,
    "iso": codes.EXPOSURE_INDEX,
    "focallength": codes.FOCAL_LENGTH,
    "focal": codes.FOCAL_LENGTH,
    "expprogram": codes.EXPOSURE_PROGRAM_MODE,
    "program": codes.EXPOSURE_PROGRAM_MODE,
    "imagequality": codes.COMPRESSION_SETTING,
    "quality": codes.COMPRESSION_SETTING,
    "batterylevel": codes.BATTERY_LEVEL,
    "battery": codes.BATTERY_LEVEL,
}
WIDGET_NAMES = {
    codes.F_NUMBER: "f-number",
    codes.EXPOSURE_TIME: "shutterspeed",
    codes.EXPOSURE_INDEX: "iso",
    codes.FOCAL_LENGTH: "focallength",
    codes.EXPOSURE_PROGRAM_MODE: "expprogram",
    codes.COMPRESSION_SETTING: "imagequality",
    codes.BATTERY_LEVEL: "batterylevel",
}


def property_code(name: str) -> int:
    """A property by widget name, alias or hex code (0x5007); KeyError if unknown."""
    key = name.strip().lower()
    if key in PROPERTY_NAMES:
        return PROPERTY_NAMES[key]
    try:
        code = int(key, 16)
    except ValueError:
        raise KeyError(name) from None
    if code not in WIDGET_NAMES:
        raise KeyError(name)
    return code


@dataclass
class Prop:
    """One device property: its current value and what it may take."""

    code: int
    datatype: int
    value: int
    form: Range | Enumeration
    writable: bool

    def desc(self) -> PropDesc:
        getset = GET_SET if self.writable else GET
        return PropDesc(self.code, self.datatype, getset, self.value, self.value, self.form)


def nearest(values: tuple[int, ...], target: float) -> int:
    return min(values, key=lambda v: abs(v - target))


def make_props(
    f_number: float,
    exposure_time_s: float,
    iso: int,
    focal_mm: float,
    focal_range_mm: tuple[float, float],
    power_zoom: bool,
) -> dict[int, Prop]:
    """The body's properties at the given settings (snapped to the nearest allowed value)."""
    f_values = tuple(fnumber_units(f) for f in F_NUMBERS)
    t_values = tuple(SHUTTER_BY_UNITS)
    low, high = focal_range_mm
    return {
        p.code: p
        for p in (
            Prop(
                codes.F_NUMBER,
                UINT16,
                nearest(f_values, fnumber_units(f_number)),
                Enumeration(f_values),
                True,
            ),
            Prop(
                codes.EXPOSURE_TIME,
                UINT32,
                nearest(t_values, shutter_units(exposure_time_s)),
                Enumeration(t_values),
                True,
            ),
            Prop(
                codes.EXPOSURE_INDEX,
                UINT16,
                nearest(ISO_SPEEDS, iso),
                Enumeration(ISO_SPEEDS),
                True,
            ),
            Prop(
                codes.FOCAL_LENGTH,
                UINT32,
                round(focal_mm * 100),
                Range(round(low * 100), round(high * 100), 1),
                power_zoom,
            ),
            Prop(codes.EXPOSURE_PROGRAM_MODE, UINT16, 1, Enumeration(tuple(PROGRAMS)), True),
            Prop(
                codes.COMPRESSION_SETTING,
                UINT8,
                RAW_PLUS_JPEG,
                Enumeration(tuple(IMAGE_FORMATS)),
                True,
            ),
            Prop(codes.BATTERY_LEVEL, UINT8, 100, Range(0, 100, 1), False),
        )
    }


def parse_body_value(code: int, text: str) -> int:
    """A value as a person types it on the body (`8`, `f/8`, `1/125`, `400`, `M`, `raw+jpeg`)
    into the property's PTP encoding; ValueError naming what is allowed."""
    text = text.strip()
    if code == codes.F_NUMBER:
        return fnumber_units(float(text.lower().removeprefix("f/")))
    if code == codes.EXPOSURE_TIME:
        return shutter_units(Fraction(text.removesuffix("s")))
    if code in (codes.EXPOSURE_INDEX, codes.BATTERY_LEVEL):
        return int(text)
    if code == codes.FOCAL_LENGTH:
        return round(float(text.lower().removesuffix("mm")) * 100)
    if code == codes.EXPOSURE_PROGRAM_MODE:
        by_name = {v: k for k, v in PROGRAMS.items()}
        return by_name[text.upper()] if text.upper() in by_name else int(text, 0)
    if code == codes.COMPRESSION_SETTING:
        by_name = {v: k for k, v in IMAGE_FORMATS.items()}
        return by_name[text.upper()] if text.upper() in by_name else int(text, 0)
    raise ValueError(f"no body control for property 0x{code:04x}")


def describe_value(code: int, value: int) -> str:
    """A property value as a person reads it (f/8, 1/125, 400, 69.23mm, M, RAW+JPEG, 100%)."""
    if code == codes.F_NUMBER:
        return f"f/{value / 100:g}"
    if code == codes.EXPOSURE_TIME:
        return str(SHUTTER_BY_UNITS.get(value, Fraction(value, 10000)))
    if code == codes.FOCAL_LENGTH:
        return f"{value / 100:.2f}mm"
    if code == codes.EXPOSURE_PROGRAM_MODE:
        return PROGRAMS.get(value, str(value))
    if code == codes.COMPRESSION_SETTING:
        return IMAGE_FORMATS.get(value, f"0x{value:02x}")
    if code == codes.BATTERY_LEVEL:
        return f"{value}%"
    return str(value)
