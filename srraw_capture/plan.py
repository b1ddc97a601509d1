"""The capture plan as pure functions: exposure settings, widget values, focal and EXIF checks."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from srraw.exif import Exif
from srraw.rig import Rig

EXPOSURE_TOLERANCE = 0.04  # relative: EXIF rationals and body steps (1/3 stop is 26%)
RAW_EXTENSIONS = frozenset(
    (".ARW", ".DNG", ".NEF", ".NRW", ".CR2", ".CR3", ".RW2", ".ORF", ".RAF", ".PEF", ".SRW")
)
JPEG_EXTENSIONS = frozenset((".JPG", ".JPEG"))


@dataclass(frozen=True)
class Setting:
    """One exposure setting of the rig's policy and the libgphoto2 widgets that may hold it."""

    key: str  # program | aperture | shutter | iso | quality
    label: str  # what the photographer calls it
    widgets: tuple[str, ...]  # libgphoto2 config names, most common first


# Config names from libgphoto2's camlibs/ptp2/config.c: generic PTP and Sony use f-number,
# Canon EOS aperture; Canon EOS autoexposuremode, others expprogram; Canon EOS imageformat.
SETTINGS = (
    Setting("program", "exposure mode", ("expprogram", "autoexposuremode", "autoexposuremodedial")),
    Setting("aperture", "aperture", ("f-number", "aperture")),
    Setting("shutter", "shutter speed", ("shutterspeed", "shutterspeed2")),
    Setting("iso", "ISO", ("iso", "isospeed")),
    Setting("quality", "image quality", ("imagequality", "imageformat")),
)
SETTING = {s.key: s for s in SETTINGS}

# libgphoto2 picks its vendor code paths from DeviceInfo (library.c fixup_cached_deviceinfo):
# the manufacturer names them for the photographer.
VENDORS = {"sony": "Sony", "canon": "Canon", "nikon": "Nikon"}
# Bodies whose libgphoto2 path sets exposure by stepping through the values (Sony SDIO mode 2).
STEPPING_VENDORS = frozenset({"sony"})


def vendor_of(manufacturer: str | None) -> str | None:
    """'sony', 'canon', 'nikon' or None (generic PTP) from DeviceInfo's manufacturer."""
    text = (manufacturer or "").lower()
    return next((key for key in VENDORS if key in text), None)


VENDOR_PATHS = {
    "sony": "Sony SDIO (0x9201 handshake, 0x9209 property dumps, files from the camera's memory)",
    "nikon": "Nikon (vendor properties, GetEvent 0x90C7 polling, capture to SDRAM or card)",
    "canon": "Canon EOS (GetEvent 0x9116 records, RemoteRelease)",
    None: "generic PTP (no vendor extension)",
}


def vendor_path(manufacturer: str | None, widgets: set[str]) -> str:
    """libgphoto2's vendor code path, told by what it built: the merged Sony SDIO controls
    (raw widget d2c1) exist only after the SDIO handshake, 'eosremoterelease' only on the EOS
    path, Nikon's 'capturetarget' and vendor properties only with the Nikon extension."""
    vendor = vendor_of(manufacturer)
    if "d2c1" in widgets:
        key = "sony"
    elif "eosremoterelease" in widgets:
        key = "canon"
    elif vendor == "nikon" and "capturetarget" in widgets:
        key = "nikon"
    else:
        key = None
    text = VENDOR_PATHS[key]
    if vendor is not None and key != vendor:
        text += f" although the body says it is a {VENDORS[vendor]}"
    return text


def where_text(target: str) -> str:
    """What a capture target means for the frames, in words."""
    text = target.lower()
    if "card" in text and "ram" in text:
        return "a copy stays on the card"
    if "card" in text:
        return "each frame is written to the card first"
    return "frames only in the camera's memory"


def card_target(choices: tuple[str, ...]) -> str | None:
    """The `capturetarget` choice that keeps a copy on the card and still gives the computer
    the files: Sony 'card+sdram' (its 'card' alone never reaches the computer), Nikon and
    Canon 'Memory card'. None when the body offers none."""
    lowered = [c.lower() for c in choices]
    for i, text in enumerate(lowered):
        if "card" in text and "ram" in text:
            return choices[i]
    if any("sdram" in text for text in lowered):
        return None  # a Sony list without card+sdram: 'card' alone would not download
    return next((choices[i] for i, text in enumerate(lowered) if "card" in text), None)


# ---- reading widget values --------------------------------------------------------------


def _number(text: str) -> float | None:
    match = re.search(r"\d+(?:[.,]\d+)?", text)
    return float(match[0].replace(",", ".")) if match else None


def parse_f_number(value: object) -> float | None:
    """'f/16', 'F16', '16', 1600 (1/100 units of a raw property) -> 16.0."""
    number = _number(str(value))
    if number is None or number <= 0:
        return None
    return number / 100 if number >= 100 else number


def parse_shutter(value: object) -> float | None:
    """Seconds from '1/30', '0.0333s', '30"', '2.5', '1/30s'; None for bulb/time/auto."""
    text = str(value).strip().lower().rstrip("s").rstrip('"').strip()
    if not text or any(w in text for w in ("bulb", "time", "auto", "x ")):
        return None
    try:
        seconds = float(Fraction(text.replace(",", ".")))
    except (ValueError, ZeroDivisionError):
        number = _number(text)
        if number is None:
            return None
        seconds = number
    return seconds if seconds > 0 else None


def parse_iso(value: object) -> int | None:
    text = str(value).lower()
    if "auto" in text:
        return None
    number = _number(text)
    return round(number) if number else None


def parse_percent(value: object) -> int | None:
    """A battery level as libgphoto2 shows it ('40%', '40'); None when it is not a number."""
    number = _number(str(value).replace("%", " "))
    return None if number is None or not 0 <= number <= 100 else round(number)


def battery_low(value: object) -> bool:
    """Canon EOS reports its battery in steps (config.c _get_Canon_EOS_BatteryLevel: '100%',
    '75%', '50%', '25%', 'Low'): 'Low' is the last step, with no number."""
    return str(value).strip().lower() == "low"


def is_manual(value: object) -> bool:
    return str(value).strip().lower() in ("m", "manual", "manual exposure", "1")


_RAW_WORDS = ("raw", "nef", "arw", "cr2", "cr3", "rw2", "orf", "raf", "dng", "pef")


def quality_kind(value: object) -> str | None:
    """'raw+jpeg', 'raw', 'jpeg' or None from an image-quality widget value.

    Generic PTP (no vendor names in libgphoto2) shows the raw CompressionSetting code:
    'Unknown value 0007' is what the simulated body calls RAW+JPEG.
    """
    text = str(value).strip().lower()
    generic = re.fullmatch(r"unknown value 0*([0-9a-f]+)", text)
    if generic:
        return {"7": "raw+jpeg", "4": "raw", "2": "jpeg"}.get(generic[1])
    raw = any(word in text for word in _RAW_WORDS)
    jpeg = any(w in text for w in ("jpeg", "jpg", "fine", "normal", "basic", "standard"))
    if raw and (jpeg or "+" in text):
        return "raw+jpeg"
    if raw:
        return "raw"
    return "jpeg" if jpeg or text else None


# ---- what the plan wants ----------------------------------------------------------------


def wanted_quality(rig: Rig) -> str:
    return "raw+jpeg" if rig.exposure.raw_plus_jpeg else "raw"


def expected_files(rig: Rig) -> int:
    return 2 if rig.exposure.raw_plus_jpeg else 1


def fmt_shutter(seconds: float) -> str:
    if seconds < 1:
        return f"1/{round(1 / seconds):d} s"
    return f"{seconds:g} s"


def describe_plan(rig: Rig, key: str) -> str:
    """The rig's value for a setting, as the photographer dials it."""
    exposure = rig.exposure
    return {
        "program": "M (manual exposure)",
        "aperture": f"f/{exposure.f_number:g}",
        "shutter": fmt_shutter(exposure.exposure_time_s),
        "iso": f"ISO {exposure.iso}",
        "quality": "RAW+JPEG" if exposure.raw_plus_jpeg else "RAW",
    }[key]


def _close(a: float, b: float, tolerance: float = EXPOSURE_TOLERANCE) -> bool:
    return abs(a - b) <= tolerance * b


def value_matches(rig: Rig, key: str, value: object) -> bool:
    """Does a widget value satisfy the rig's policy for this setting?"""
    exposure = rig.exposure
    if key == "program":
        return is_manual(value)
    if key == "aperture":
        number = parse_f_number(value)
        return number is not None and _close(number, exposure.f_number)
    if key == "shutter":
        seconds = parse_shutter(value)
        return seconds is not None and _close(seconds, exposure.exposure_time_s)
    if key == "iso":
        iso = parse_iso(value)
        return iso is not None and exposure.iso_min <= iso <= exposure.iso_max
    if key == "quality":
        return quality_kind(value) == wanted_quality(rig)
    raise KeyError(key)


def choose_value(rig: Rig, key: str, choices: tuple[str, ...]) -> str | None:
    """The widget choice that carries out the plan, or None if the body offers none."""
    exposure = rig.exposure
    if key == "program":
        return next((c for c in choices if is_manual(c)), None)
    if key == "quality":
        fitting = [c for c in choices if quality_kind(c) == wanted_quality(rig)]
        # The JPEG is SR-RAW's target image: take the finest on offer.
        return max(fitting, key=_jpeg_rank) if fitting else None
    if key == "iso":
        exact = [c for c in choices if parse_iso(c) == exposure.iso]
        return exact[0] if exact else None
    parse, target = (
        (parse_f_number, exposure.f_number)
        if key == "aperture"
        else (parse_shutter, exposure.exposure_time_s)
    )
    scored = [(abs(math.log(v / target)), c) for c in choices if (v := parse(c))]
    if not scored:
        return None
    best = min(scored)
    return best[1] if best[0] <= math.log1p(EXPOSURE_TOLERANCE) else None


def _jpeg_rank(choice: str) -> int:
    """Higher for a finer JPEG: basic/light < normal/standard < fine < extra fine."""
    text = choice.lower()
    if any(w in text for w in ("x.fine", "extra", "fine*")):
        return 4
    if "fine" in text:
        return 3
    if any(w in text for w in ("normal", "std", "standard")):
        return 2
    return 1 if any(w in text for w in ("basic", "light")) else 0


def describe_value(key: str, value: object) -> str:
    """A widget value in the photographer's words ('0.0333s' -> '1/30 s')."""
    if key == "shutter" and (seconds := parse_shutter(value)):
        return fmt_shutter(seconds)
    if key == "aperture" and (number := parse_f_number(value)):
        return f"f/{number:g}"
    if key == "iso" and (iso := parse_iso(value)):
        return str(iso)
    if key == "quality":
        kind = quality_kind(value)
        return {"raw+jpeg": "RAW+JPEG", "raw": "RAW", "jpeg": "JPEG"}.get(kind or "", str(value))
    return str(value)


# ---- checks on what was captured --------------------------------------------------------


@dataclass(frozen=True)
class Shot:
    """What a frame's files say (EXIF of the RAW, gaps filled from the JPEG)."""

    focal_mm: float | None
    exposure_time_s: float | None
    f_number: float | None
    iso: int | None
    serial: str | None = None

    @classmethod
    def from_exif(cls, exif: Exif) -> Shot:
        return cls(exif.focal_length_mm, exif.exposure_time_s, exif.f_number, exif.iso, exif.serial)

    def exposure(self) -> tuple[float | None, float | None, int | None]:
        return (self.exposure_time_s, self.f_number, self.iso)


def focal_problem(rig: Rig, asked_mm: float, focal_mm: float | None, source: str) -> str | None:
    """Why a focal length is off the plan (None when within the rig's tolerance)."""
    if focal_mm is None:
        return f"no focal length in the {source}"
    if rig.within_tolerance(asked_mm, focal_mm):
        return None
    return (
        f"{source} focal length {focal_mm:g} mm is off the plan {asked_mm:g} mm "
        f"(tolerance {rig.focal_tolerance_pct:g}%)"
    )


def exposure_problems(rig: Rig, shot: Shot, reference: Shot | None = None) -> list[str]:
    """How the EXIF exposure differs from the rig's policy and from the sequence's first frame."""
    exposure = rig.exposure
    problems = []
    if shot.exposure_time_s is None or not _close(shot.exposure_time_s, exposure.exposure_time_s):
        got = fmt_shutter(shot.exposure_time_s) if shot.exposure_time_s else "none"
        problems.append(
            f"exposure time {got} in EXIF, plan {fmt_shutter(exposure.exposure_time_s)}"
        )
    if shot.f_number is None or not _close(shot.f_number, exposure.f_number):
        problems.append(f"aperture f/{shot.f_number or 0:g} in EXIF, plan f/{exposure.f_number:g}")
    if shot.iso is None or not exposure.iso_min <= shot.iso <= exposure.iso_max:
        problems.append(f"ISO {shot.iso} in EXIF, plan ISO {exposure.iso_min}-{exposure.iso_max}")
    elif reference is not None and reference.iso is not None and shot.iso != reference.iso:
        problems.append(f"ISO {shot.iso} in EXIF, the sequence so far is ISO {reference.iso}")
    return problems


def file_kind(name: str) -> str | None:
    """'raw' or 'jpeg' from a camera file name, None for anything else."""
    suffix = "." + name.rsplit(".", 1)[-1].upper() if "." in name else ""
    if suffix in RAW_EXTENSIONS:
        return "raw"
    if suffix in JPEG_EXTENSIONS:
        return "jpeg"
    return None


def frame_file_name(frame: int, camera_name: str) -> str:
    """SR-RAW name of a frame's file: 00003.DNG from SIM_0042.dng (the camera's extension)."""
    return f"{frame:05d}.{camera_name.rsplit('.', 1)[-1].upper()}"


def sequence_name(number: int) -> str:
    return f"{number:05d}"


def zoom_direction(asked_mm: float, now_mm: float) -> str:
    return "longer (tele)" if now_mm < asked_mm else "shorter (wide)"
