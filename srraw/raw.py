"""One RAW file -> one record: mosaic, CFA, levels, white balance, colour matrix and EXIF."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import rawpy

from srraw.cfa import layout_from_rawpy
from srraw.content import check_raw_content
from srraw.errors import SrrawError
from srraw.exif import Exif, read_exif

JPEG_SUFFIXES = (".JPG", ".jpg", ".JPEG", ".jpeg")

# Linear sRGB (D65) -> XYZ, as LibRaw's xyz_rgb.
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)


@dataclasses.dataclass(frozen=True, eq=False)
class RawFrame:
    """A decoded RAW file. Levels are in canonical channel order R, G1, B, G2."""

    path: Path
    mosaic: np.ndarray | None  # visible area, uint16 (H, W); None when read without pixels
    width: int
    height: int
    cfa: str
    black_levels: tuple[float, float, float, float]
    white_level: int
    wb: tuple[float, float, float]  # as-shot multipliers R, G, B, normalised to G = 1
    color_matrix: np.ndarray | None  # 3x3, white-balanced camera RGB -> linear sRGB
    exif: Exif
    jpeg_path: Path | None = None


def paired_jpeg(raw_path: str | os.PathLike[str]) -> Path | None:
    """The JPEG next to a RAW file with the same stem (SR-RAW: 00001.ARW + 00001.JPG)."""
    raw_path = Path(raw_path)
    for suffix in JPEG_SUFFIXES:
        candidate = raw_path.with_suffix(suffix)
        if candidate.is_file() and candidate != raw_path:
            return candidate
    return None


def camera_to_srgb(cam_from_xyz: np.ndarray) -> np.ndarray | None:
    """White-balanced camera RGB -> linear sRGB from an XYZ -> camera matrix (LibRaw's method)."""
    cam_from_xyz = np.asarray(cam_from_xyz, dtype=np.float64)[:3, :3]
    if not np.any(cam_from_xyz):
        return None
    cam_from_rgb = cam_from_xyz @ SRGB_TO_XYZ
    # Rows summing to one map sRGB white to camera white, so white balance stays separate.
    cam_from_rgb /= cam_from_rgb.sum(axis=1, keepdims=True)
    return np.linalg.inv(cam_from_rgb)


def _color_matrix(raw: rawpy.RawPy) -> np.ndarray | None:
    rgb_cam = np.asarray(raw.color_matrix, dtype=np.float64)[:3, :3]
    if np.any(rgb_cam):
        return rgb_cam
    return camera_to_srgb(np.asarray(raw.rgb_xyz_matrix)[:3])


def as_shot_wb(raw: rawpy.RawPy) -> tuple[float, float, float]:
    """As-shot white-balance multipliers R, G, B normalised to G = 1."""
    multipliers = [float(v) for v in raw.camera_whitebalance[:3]]
    if multipliers[1] <= 0:
        return (1.0, 1.0, 1.0)
    return tuple(m / multipliers[1] for m in multipliers)  # type: ignore[return-value]


def libraw_exif(raw: rawpy.RawPy) -> Exif:
    """LibRaw's reading of what some makers keep outside EXIF (RW2 stores ISO in its own IFD).

    Only ISO and lens: for exposure and aperture LibRaw reports 1.0 where EXIF says 0 (unknown).
    """
    iso = float(raw.other.iso_speed or 0)
    return Exif(iso=round(iso) if iso > 0 else None, lens_model=raw.lens.model or None)


# No RAW format stores a mosaic in under one bit per pixel; a file that small has lost its data.
_MIN_BITS_PER_PIXEL = 1.0
_LIBRAW_LOCK = threading.Lock()


def _check_size(path: Path, sizes) -> None:
    """LibRaw decodes some cut-off files without an error, filling the missing rows from
    uninitialised memory (and deriving black levels from it): refuse them before decoding."""
    pixels = int(sizes.raw_width) * int(sizes.raw_height)
    size = path.stat().st_size
    if size * 8 < pixels * _MIN_BITS_PER_PIXEL:
        raise SrrawError(
            f"truncated RAW: {size} bytes cannot hold the {sizes.raw_width}x{sizes.raw_height} "
            "mosaic its header describes (metadata only, or cut off)",
            path,
        )


def _libraw_message(exc: Exception, said: list[str]) -> str:
    message = exc.args[0] if exc.args else type(exc).__name__
    message = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
    return "; ".join([*said, message])


@contextlib.contextmanager
def _libraw_stderr() -> Iterator[list[str]]:
    """Catch what LibRaw prints on fd 2 ('file: Unexpected end of file') for our one-line error.

    Yields a list filled, on exit, with LibRaw's messages (file name prefixes removed).
    """
    said: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield said
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode(errors="replace").splitlines():
                said.append(line.rsplit(": ", 1)[-1].strip())


def read_raw(
    path: str | os.PathLike[str],
    jpeg: str | os.PathLike[str] | None = None,
    *,
    pixels: bool = True,
) -> RawFrame:
    """Read a RAW file. EXIF comes from the RAW, then the paired JPEG, then LibRaw.

    Bad input (missing, not a RAW LibRaw reads, truncated) raises SrrawError naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise SrrawError("no such file", path)
    check_raw_content(path)  # LibRaw would call an empty or text file 'damaged RAW data'
    jpeg_path = Path(jpeg) if jpeg is not None else paired_jpeg(path)
    try:
        # One LibRaw read at a time: its messages are caught on fd 2, which is the process's.
        with _LIBRAW_LOCK, _libraw_stderr() as said, rawpy.imread(str(path)) as raw:
            if raw.raw_type != rawpy.RawType.Flat or raw.num_colors != 3:
                raise SrrawError("not a Bayer-mosaic RAW (LibRaw reports no 2x2 CFA)", path)
            cfa = layout_from_rawpy(raw.raw_pattern, raw.color_desc)
            # Before anything that unpacks: LibRaw derives black levels from pixel data too.
            _check_size(path, raw.sizes)
            mosaic = np.array(raw.raw_image_visible, dtype=np.uint16, copy=True) if pixels else None
            sizes = raw.sizes
            black = tuple(float(v) for v in raw.black_level_per_channel)
            record = dict(
                width=int(sizes.width),
                height=int(sizes.height),
                cfa=cfa,
                black_levels=black,
                white_level=int(raw.white_level),
                wb=as_shot_wb(raw),
                color_matrix=_color_matrix(raw),
            )
            from_libraw = libraw_exif(raw)
    except SrrawError:
        raise
    except rawpy.LibRawFileUnsupportedError as exc:
        raise SrrawError("unsupported format: LibRaw cannot read this RAW file", path) from exc
    except (rawpy.LibRawIOError, rawpy.LibRawDataError) as exc:
        raise SrrawError(
            f"truncated or damaged RAW data (LibRaw: {_libraw_message(exc, said)})", path
        ) from exc
    except rawpy.LibRawError as exc:
        raise SrrawError(
            f"LibRaw cannot decode this file ({_libraw_message(exc, said)})", path
        ) from exc
    except ValueError as exc:
        raise SrrawError(str(exc), path) from exc
    exif = read_exif(path)
    if jpeg_path is not None:
        exif = exif.merged(read_exif(jpeg_path))
    exif = exif.merged(from_libraw)
    return RawFrame(path=path, mosaic=mosaic, exif=exif, jpeg_path=jpeg_path, **record)
