"""Checks on a downloaded frame: its RAW decodes whole, its EXIF matches the plan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from srraw.errors import SrrawError
from srraw.exif import read_exif
from srraw.raw import read_raw
from srraw.rig import Rig
from srraw_capture.plan import Shot, exposure_problems, focal_problem


@dataclass(frozen=True)
class Verdict:
    shot: Shot | None
    focal: str | None = None  # why the focal length is off the plan
    exposure: tuple[str, ...] = ()  # how the exposure is off the plan
    damaged: str | None = None  # why the files cannot be used at all

    @property
    def ok(self) -> bool:
        return self.damaged is None and self.focal is None and not self.exposure

    def reasons(self) -> list[str]:
        return [r for r in (self.damaged, self.focal, *self.exposure) if r]


def read_shot(raw: Path | None, jpeg: Path | None) -> Shot:
    """EXIF of the frame (RAW first, gaps from the JPEG); the RAW must decode whole."""
    if raw is not None:
        frame = read_raw(raw, jpeg)  # raises SrrawError naming the file when it is damaged
        return Shot.from_exif(frame.exif)
    if jpeg is None:
        raise SrrawError("the capture gave neither a RAW nor a JPEG file")
    return Shot.from_exif(read_exif(jpeg))


def verify_frame(
    rig: Rig, asked_mm: float, raw: Path | None, jpeg: Path | None, reference: Shot | None
) -> Verdict:
    """Is this frame what the plan asked for? (`reference`: the sequence's first frame.)"""
    try:
        shot = read_shot(raw, jpeg)
    except SrrawError as exc:
        detail = exc.reason
        return Verdict(None, damaged=f"damaged file ({detail})")
    return Verdict(
        shot,
        focal=focal_problem(rig, asked_mm, shot.focal_mm, "EXIF"),
        exposure=tuple(exposure_problems(rig, shot, reference)),
    )
