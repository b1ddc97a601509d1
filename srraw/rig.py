"""Rig profiles (rigs/*.toml): body, lens, focal-length sequence, exposure policy, zoom drive."""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import tomllib
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from srraw.cfa import LAYOUTS
from srraw.errors import SrrawError

RIGS_DIR = Path(__file__).resolve().parents[1] / "rigs"


@dataclasses.dataclass(frozen=True)
class Body:
    make: str
    model: str
    cfa: str = "RGGB"
    sensor_width_px: int = 4240
    sensor_height_px: int = 2832
    sensor_width_mm: float = 35.6
    black_level: int = 512
    white_level: int = 16383


@dataclasses.dataclass(frozen=True)
class Lens:
    model: str
    min_focal_mm: float
    max_focal_mm: float
    # The lensfun database's name for this lens, when EXIF names it differently (or for the
    # simulated camera, whose synthetic lens copies a real one); None: looked up by EXIF.
    lensfun: str | None = None
    min_f_number: float | None = None  # widest aperture at the short end (default: the model's)
    min_f_number_long: float | None = None  # ... and at the long end (variable-aperture zooms)

    def widest_f_number(self, focal_mm: float) -> float | None:
        """The widest aperture the lens opens to at `focal_mm` (linear between its ends: no
        real zoom is wider than that, so the check never refuses what the lens can do)."""
        ends = self.apertures()
        if ends is None:
            return None
        short, long = ends
        span = self.max_focal_mm - self.min_focal_mm
        where = 0.0 if span <= 0 else (focal_mm - self.min_focal_mm) / span
        return short + (long - short) * min(max(where, 0.0), 1.0)

    def apertures(self) -> tuple[float, float] | None:
        """(short end, long end) widest f-numbers: the profile's, else read from the model
        name ('F3.5-6.3', 'f/2.8', '1:4-5.6'); None when neither says."""
        if self.min_f_number is not None:
            return self.min_f_number, self.min_f_number_long or self.min_f_number
        match = _APERTURE.search(self.model)
        if match is None:
            return None
        short = float(match[1])
        return short, float(match[2]) if match[2] else short


# 'F3.5-6.3', 'f/4G', '1:2.8', 'XF18-55mmF2.8-4': an F after "mm" or not inside a word
_APERTURE = re.compile(
    r"(?:(?<=mm)|(?<![A-Za-z0-9]))(?:F|f/|1:)\s?(\d+(?:\.\d+)?)(?:\s?-\s?(\d+(?:\.\d+)?))?(?![\d.])"
)


@dataclasses.dataclass(frozen=True)
class Exposure:
    mode: str
    f_number: float
    exposure_time_s: float
    iso: int
    iso_min: int
    iso_max: int
    raw_plus_jpeg: bool = True


@dataclasses.dataclass(frozen=True)
class Zoom:
    drive: str  # "manual": the photographer turns the ring, guided; "power": a widget drives it
    widget: str = ""  # libgphoto2 config widget that sets the zoom (power drive)
    focal_widget: str = ""  # libgphoto2 config widget that reads the focal length, if not PTP's


@dataclasses.dataclass(frozen=True)
class Rig:
    name: str
    description: str
    body: Body
    lens: Lens
    focal_lengths_mm: tuple[float, ...]  # capture order: frame 00001 first
    focal_tolerance_pct: float
    exposure: Exposure
    zoom: Zoom
    path: Path | None = None

    def within_tolerance(self, asked_mm: float, actual_mm: float) -> bool:
        return abs(actual_mm - asked_mm) <= asked_mm * self.focal_tolerance_pct / 100.0


class _Invalid(ValueError):
    pass


def _positive(value: float) -> float:
    if value <= 0:
        raise _Invalid(f"must be positive, got {value}")
    return value


def _shutter(value: Any) -> float:
    """Exposure time as a number of seconds or a fraction string such as '1/30'."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Invalid(f"expected seconds as a number or a fraction like '1/30', got {value!r}")
    try:
        seconds = float(Fraction(value)) if isinstance(value, str) else float(value)
    except (ValueError, ZeroDivisionError) as exc:
        raise _Invalid(f"expected a fraction like '1/30', got {value!r}") from exc
    return _positive(seconds)


def _choice(*options: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in options:
            raise _Invalid(f"expected one of {', '.join(options)}, got {value!r}")
        return value

    return check


def _focal_list(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise _Invalid("expected a list of at least two focal lengths in mm")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float) or item <= 0:
            raise _Invalid(f"expected positive numbers in mm, got {item!r}")
    if len(set(value)) != len(value):
        raise _Invalid("focal lengths must be distinct")
    return tuple(float(v) for v in value)


_NUMBER = (int, float)
# section -> key -> (accepted TOML types, required, converter)
_SPEC: dict[str, dict[str, tuple[tuple[type, ...], bool, Callable[[Any], Any] | None]]] = {
    "": {
        "name": ((str,), True, None),
        "description": ((str,), False, None),
    },
    "body": {
        "make": ((str,), True, None),
        "model": ((str,), True, None),
        "cfa": ((str,), False, _choice(*LAYOUTS)),
        "sensor_width_px": ((int,), False, _positive),
        "sensor_height_px": ((int,), False, _positive),
        "sensor_width_mm": (_NUMBER, False, _positive),
        "black_level": ((int,), False, None),
        "white_level": ((int,), False, _positive),
    },
    "lens": {
        "model": ((str,), True, None),
        "min_focal_mm": (_NUMBER, True, _positive),
        "max_focal_mm": (_NUMBER, True, _positive),
        "lensfun": ((str,), False, None),
        "min_f_number": (_NUMBER, False, _positive),
        "min_f_number_long": (_NUMBER, False, _positive),
    },
    "sequence": {
        "focal_lengths_mm": ((list,), True, _focal_list),
        "focal_tolerance_pct": (_NUMBER, True, _positive),
    },
    "exposure": {
        "mode": ((str,), True, _choice("manual")),
        "f_number": (_NUMBER, True, _positive),
        "exposure_time_s": ((str, int, float), True, _shutter),
        "iso": ((int,), True, _positive),
        "iso_min": ((int,), False, _positive),
        "iso_max": ((int,), False, _positive),
        "raw_plus_jpeg": ((bool,), False, None),
    },
    "zoom": {
        "drive": ((str,), True, _choice("manual", "power")),
        "widget": ((str,), False, None),
        "focal_widget": ((str,), False, None),
    },
}


def _where(section: str, key: str) -> str:
    return f"[{section}] {key}" if section else key


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(known)})"


def _check_section(path: Path, section: str, table: dict) -> dict[str, Any]:
    spec = _SPEC[section]
    out: dict[str, Any] = {}
    for key, value in table.items():
        if section == "" and key in _SPEC:
            continue
        if key not in spec:
            known = list(spec) + ([s for s in _SPEC if s] if section == "" else [])
            raise SrrawError(f"{_where(section, key)}: unknown key{_suggest(key, known)}", path)
        types, _, convert = spec[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            expected = " or ".join(t.__name__.replace("str", "string") for t in types)
            raise SrrawError(f"{_where(section, key)}: expected {expected}, got {value!r}", path)
        try:
            out[key] = convert(value) if convert else value
        except _Invalid as exc:
            raise SrrawError(f"{_where(section, key)}: {exc}", path) from None
    for key, (_, required, _) in spec.items():
        if required and key not in out:
            raise SrrawError(f"{_where(section, key)}: missing (required)", path)
    return out


def _check_aperture(lens: Lens, focals: tuple[float, ...], f_number: float, path: Path) -> None:
    """f/1.4 on an F3.5 lens cannot be set: refuse it here, not on the body mid-shoot."""
    for focal in sorted(focals, reverse=True):
        widest = lens.widest_f_number(focal)
        if widest is not None and f_number < widest - 0.05:
            raise SrrawError(
                f"[exposure] f_number: f/{f_number:g} is wider than the lens opens at "
                f"{focal:g} mm (f/{widest:.1f} there; {lens.model}); use a larger f-number",
                path,
            )


def parse_rig(data: dict, path: Path) -> Rig:
    """Validate a parsed TOML document; errors name the file, the key and the problem."""
    for section, value in data.items():
        if section in _SPEC and section and not isinstance(value, dict):
            raise SrrawError(f"{section}: expected a [{section}] table", path)
    if unknown := [k for k, v in data.items() if isinstance(v, dict) and k not in _SPEC]:
        key = unknown[0]
        raise SrrawError(f"[{key}]: unknown section{_suggest(key, [s for s in _SPEC if s])}", path)
    top = _check_section(path, "", data)
    sections = {s: _check_section(path, s, data.get(s, {})) for s in _SPEC if s}
    lens = Lens(**sections["lens"])
    if lens.min_focal_mm > lens.max_focal_mm:
        raise SrrawError("[lens] min_focal_mm: larger than max_focal_mm", path)
    seq = sections["sequence"]
    for focal in seq["focal_lengths_mm"]:
        if not lens.min_focal_mm <= focal <= lens.max_focal_mm:
            raise SrrawError(
                f"[sequence] focal_lengths_mm: {focal:g} mm is outside the lens range "
                f"{lens.min_focal_mm:g}-{lens.max_focal_mm:g} mm",
                path,
            )
    if seq["focal_tolerance_pct"] >= 50:
        raise SrrawError("[sequence] focal_tolerance_pct: must be below 50", path)
    exposure = sections["exposure"]
    exposure.setdefault("iso_min", exposure["iso"])
    exposure.setdefault("iso_max", exposure["iso"])
    if not exposure["iso_min"] <= exposure["iso"] <= exposure["iso_max"]:
        raise SrrawError(
            f"[exposure] iso: {exposure['iso']} is outside iso_min..iso_max "
            f"({exposure['iso_min']}..{exposure['iso_max']})",
            path,
        )
    _check_aperture(lens, seq["focal_lengths_mm"], exposure["f_number"], path)
    zoom = Zoom(**sections["zoom"])
    if zoom.drive == "power" and not zoom.widget:
        raise SrrawError("[zoom] widget: required when drive = 'power'", path)
    body = Body(**sections["body"])
    if not 0 <= body.black_level < body.white_level:
        raise SrrawError("[body] black_level: must be at least 0 and below white_level", path)
    if body.sensor_width_px % 2 or body.sensor_height_px % 2:
        raise SrrawError("[body] sensor_width_px: sensor size must be even (2x2 CFA)", path)
    return Rig(
        name=top["name"],
        description=top.get("description", ""),
        body=body,
        lens=lens,
        focal_lengths_mm=seq["focal_lengths_mm"],
        focal_tolerance_pct=seq["focal_tolerance_pct"],
        exposure=Exposure(**exposure),
        zoom=zoom,
        path=path,
    )


def _profile_name(path: Path) -> str | None:
    try:
        name = tomllib.loads(path.read_text(encoding="utf-8")).get("name")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return name if isinstance(name, str) else None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def rig_toml(rig: Rig) -> str:
    """The profile as srraw reads it, defaults filled in, as TOML that loads back the same;
    unset optional keys are left out."""
    shutter = Fraction(rig.exposure.exposure_time_s).limit_denominator(100000)
    sections: dict[str, dict[str, Any]] = {
        "": {"name": rig.name, "description": rig.description},
        "body": dataclasses.asdict(rig.body),
        "lens": dataclasses.asdict(rig.lens),
        "sequence": {
            "focal_lengths_mm": list(rig.focal_lengths_mm),
            "focal_tolerance_pct": rig.focal_tolerance_pct,
        },
        "exposure": {**dataclasses.asdict(rig.exposure), "exposure_time_s": str(shutter)},
        "zoom": dataclasses.asdict(rig.zoom),
    }
    lines = [f"# {rig.path}"] if rig.path else []
    for section, values in sections.items():
        if section:
            lines += ["", f"[{section}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in values.items() if v not in (None, "")]
    return "\n".join(lines) + "\n"


def resolve_rig_path(spec: str | os.PathLike[str], search: tuple[Path, ...] = ()) -> Path:
    """A rig file path, or a profile's name: the file stem or the `name` inside, among the
    shipped profiles ('simulated' -> rigs/simulated.toml) and then the `search` folders (a
    dataset keeps the profiles it was shot with)."""
    path = Path(spec)
    if path.is_file():
        return path
    stem = path.name.removesuffix(".toml")
    folders = (RIGS_DIR, *search)
    for folder in folders:
        if (folder / f"{stem}.toml").is_file():
            return folder / f"{stem}.toml"
    for folder in folders:
        for candidate in sorted(folder.glob("*.toml")):
            if _profile_name(candidate) == stem:
                return candidate
    names = ", ".join(sorted(p.stem for p in RIGS_DIR.glob("*.toml")))
    raise SrrawError(f"no such rig profile (shipped profiles: {names})", path)


def load_rig(spec: str | os.PathLike[str], search: tuple[Path, ...] = ()) -> Rig:
    """Load and validate a rig profile by path or name (see resolve_rig_path)."""
    path = resolve_rig_path(spec, search)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SrrawError(f"not valid TOML: {exc}", path) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SrrawError(f"cannot read rig profile: {exc}", path) from exc
    return parse_rig(data, path)


def shipped_rigs() -> list[Path]:
    return sorted(RIGS_DIR.glob("*.toml"))
