"""`srraw inspect`: what srraw reads from RAW and JPEG files."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from srraw.content import check_jpeg_content
from srraw.errors import SrrawError
from srraw.exif import Exif, read_exif
from srraw.raw import JPEG_SUFFIXES, read_raw


def _exif_lines(exif: Exif) -> list[str]:
    return [f"  {name}: {value}" for name, value in vars(exif).items()]


def inspect_jpeg(path: Path) -> list[str]:
    """EXIF of a JPEG; one without any EXIF is an error (the pipeline needs its focal length)."""
    check_jpeg_content(path)
    exif = read_exif(path)
    if all(value is None for value in vars(exif).values()):
        raise SrrawError("JPEG has no EXIF: focal length and exposure are unknown", path)
    return [f"{path}: JPEG", *_exif_lines(exif)]


def inspect_raw(path: Path) -> list[str]:
    frame = read_raw(path)
    matrix = "unknown" if frame.color_matrix is None else np.round(frame.color_matrix, 4).tolist()
    return [
        f"{path}: RAW {frame.width}x{frame.height} {frame.cfa}",
        f"  black levels (R, G1, B, G2): {list(frame.black_levels)}",
        f"  white level: {frame.white_level}",
        f"  as-shot WB (R, G, B): {[round(v, 4) for v in frame.wb]}",
        f"  camera -> sRGB: {matrix}",
        f"  paired JPEG: {frame.jpeg_path or 'none'}",
        *_exif_lines(frame.exif),
    ]


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def inspect(files: tuple[Path, ...]) -> None:
    """Print what srraw reads from RAW (CFA, levels, WB, EXIF) and JPEG (EXIF) files."""
    for path in files:
        if not path.is_file():
            raise SrrawError("no such file", path)
        lines = inspect_jpeg(path) if path.suffix in JPEG_SUFFIXES else inspect_raw(path)
        click.echo("\n".join(lines))
