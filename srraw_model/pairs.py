"""Pair records from the manifests: pairs.parquet joined with frames.parquet for frame L.

I/O edge of the model stage: everything downstream works on `PairRecord`s and arrays.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from srraw.errors import SrrawError
from srraw.jpegmap import JpegMap
from srraw.manifest import read_manifest
from srraw.pairmap import PairMap

SPLITS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True)
class PairRecord:
    """One training pair: RAW of L (input), JPEG of H (target) and what is needed to use them."""

    sequence: str
    zoom: int
    frame_l: int
    frame_h: int
    split: str
    raw_l: Path
    raw_l_sha256: str
    jpeg_l: Path
    jpeg_l_sha256: str
    jpeg_h: Path
    jpeg_h_sha256: str
    h_to_l: tuple[float, ...]  # 9 values row-major, H JPEG px -> L mosaic px
    scale_offset: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in L mosaic px, even, x1/y1 exclusive
    residual_p95_px: float
    cfa: str
    black_levels: tuple[float, float, float, float]
    white_level: float
    wb: tuple[float, float, float]
    color_matrix: tuple[float, ...] | None  # 9 values, white-balanced camera RGB -> linear sRGB
    # The non-rigid map (pairs/1.1): (ny, nx, 2) nodes over JPEG-H, flattened; None for a pair
    # mapped by h_to_l alone (and for every pair of a pairs/1.0 manifest).
    h_to_l_grid: tuple[float, ...] | None = None
    h_to_l_grid_shape: tuple[int, int] | None = None
    size_h: tuple[int, int] | None = None  # JPEG-H (width, height): where the grid's nodes sit
    # RAW-L mosaic px -> JPEG-L px (frames/1.1 jpeg_geometry); None: JPEG-L is the RAW's grid.
    jpeg_l_map: JpegMap | None = None

    @property
    def name(self) -> str:
        return f"{self.sequence}/{self.frame_l:05d}->{self.frame_h:05d}"

    def h_to_l_matrix(self) -> np.ndarray:
        return np.asarray(self.h_to_l, dtype=np.float64).reshape(3, 3)

    def pair_map(self) -> PairMap:
        """JPEG-H px -> RAW-L mosaic px: through the grid when the pair has one, else h_to_l."""
        return PairMap.from_columns(
            self.h_to_l, self.size_h or (0, 0), self.h_to_l_grid, self.h_to_l_grid_shape
        )

    def ccm(self) -> np.ndarray:
        """Colour matrix as 3x3 (identity when the frame has none)."""
        if self.color_matrix is None:
            return np.eye(3)
        return np.asarray(self.color_matrix, dtype=np.float64).reshape(3, 3)


def manifest_paths(manifest: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(pairs.parquet, frames.parquet) from a pairs file or the folder holding both."""
    path = Path(manifest)
    if path.is_dir():
        path = path / "pairs.parquet"
    return path, path.with_name("frames.parquet")


def default_root(pairs_path: Path) -> Path:
    """Dataset root when not given: the manifest folder's parent (prep writes <root>/manifests)."""
    return pairs_path.resolve().parent.parent


def _none_if_nan(value: object) -> object:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _grid_columns(row: dict, frames: dict, pairs_path: Path, frames_path: Path) -> dict:
    """PairRecord's grid fields from a pairs row: empty when the pair has no grid (a pairs/1.0
    manifest has no such columns at all), checked against its shape and frame H's JPEG size."""
    grid, shape = row.get("h_to_l_grid"), row.get("h_to_l_grid_shape")
    if grid is None or len(grid) == 0:
        return {}
    name = f"pair {row['sequence']}/{row['frame_l']:05d}->{row['frame_h']:05d}"
    frame_h = frames.get((row["sequence"], row["frame_h"]))
    if frame_h is None or not frame_h.get("jpeg_width") or not frame_h.get("jpeg_height"):
        raise SrrawError(
            f"{name}: has an h_to_l_grid but frame H's JPEG size is not in frames.parquet",
            frames_path,
        )
    size_h = (int(frame_h["jpeg_width"]), int(frame_h["jpeg_height"]))
    try:
        PairMap.from_columns(row["h_to_l"], size_h, grid, shape)
    except (ValueError, TypeError) as exc:
        raise SrrawError(f"{name}: bad h_to_l_grid ({exc})", pairs_path) from exc
    values = np.asarray(grid, dtype=np.float64)
    if not np.isfinite(values).all():
        raise SrrawError(f"{name}: h_to_l_grid holds non-finite values", pairs_path)
    return {
        "h_to_l_grid": tuple(float(v) for v in values),
        "h_to_l_grid_shape": (int(shape[0]), int(shape[1])),
        "size_h": size_h,
    }


def load_pairs(
    manifest: str | os.PathLike[str],
    *,
    dataset_root: str | os.PathLike[str] | None = None,
    splits: Sequence[str] = ("train",),
    zoom: int | None = None,
    statuses: Sequence[str] = ("ok", "flagged"),
    max_residual_px: float | None = None,
    require: bool = True,
) -> list[PairRecord]:
    """Usable pairs of the given splits, zoom and statuses, misalignment p95 at most max_residual_px.

    Raises SrrawError (one line) for a manifest of another schema, a missing frames manifest and,
    with `require`, an empty selection.
    """
    pairs_path, frames_path = manifest_paths(manifest)
    pairs = read_manifest(pairs_path, "pairs").to_pylist()
    if not frames_path.is_file():
        raise SrrawError("frames.parquet is missing beside the pairs manifest", frames_path)
    frames = {
        (f["sequence"], f["frame"]): f for f in read_manifest(frames_path, "frames").to_pylist()
    }
    root = Path(dataset_root) if dataset_root is not None else default_root(pairs_path)
    for split in splits:
        if split not in SPLITS:
            raise SrrawError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    out: list[PairRecord] = []
    for row in pairs:
        if row["split"] not in splits or row["status"] not in statuses:
            continue
        if zoom is not None and row["zoom"] != zoom:
            continue
        if row["frame_l"] is None or row["h_to_l"] is None:
            continue
        p95 = _none_if_nan(row["residual_p95_px"])
        if max_residual_px is not None and (p95 is None or p95 > max_residual_px):
            continue
        frame = frames.get((row["sequence"], row["frame_l"]))
        if frame is None:
            raise SrrawError(
                f"pair {row['sequence']}/{row['frame_l']}: frame L is not in frames.parquet",
                frames_path,
            )
        grid = _grid_columns(row, frames, pairs_path, frames_path)
        try:
            jpeg_l_map = JpegMap.from_frame(frame)
        except (ValueError, TypeError, KeyError) as exc:
            raise SrrawError(
                f"frame {row['sequence']}/{row['frame_l']:05d}: bad JPEG geometry ({exc})",
                frames_path,
            ) from exc
        out.append(
            PairRecord(
                sequence=row["sequence"],
                zoom=int(row["zoom"]),
                frame_l=int(row["frame_l"]),
                frame_h=int(row["frame_h"]),
                split=row["split"],
                raw_l=root / row["raw_l_path"],
                raw_l_sha256=row["raw_l_sha256"],
                jpeg_l=root / row["jpeg_l_path"],
                jpeg_l_sha256=row["jpeg_l_sha256"],
                jpeg_h=root / row["jpeg_h_path"],
                jpeg_h_sha256=row["jpeg_h_sha256"],
                h_to_l=tuple(float(v) for v in row["h_to_l"]),
                scale_offset=float(row["scale_offset"]),
                box=(row["box_x0"], row["box_y0"], row["box_x1"], row["box_y1"]),
                residual_p95_px=float(p95) if p95 is not None else float("nan"),
                cfa=frame["cfa"],
                black_levels=tuple(float(v) for v in frame["black_levels"]),  # type: ignore[arg-type]
                white_level=float(frame["white_level"]),
                wb=tuple(float(v) for v in frame["wb"]),  # type: ignore[arg-type]
                color_matrix=(
                    tuple(float(v) for v in frame["color_matrix"])
                    if frame["color_matrix"] is not None
                    else None
                ),
                jpeg_l_map=jpeg_l_map,
                **grid,
            )
        )
    if require and not out:
        what = f"split {'/'.join(splits)}" + (f", zoom {zoom}" if zoom is not None else "")
        if max_residual_px is not None:
            what += f", residual p95 <= {max_residual_px} px"
        raise SrrawError(f"no usable pairs ({what}, status {'/'.join(statuses)})", pairs_path)
    return out


def check_files_exist(pairs: Sequence[PairRecord]) -> None:
    """Every file a pair references is on disk (cheap; sha256 is checked when decoding)."""
    for pair in pairs:
        for path in (pair.raw_l, pair.jpeg_l, pair.jpeg_h):
            if not path.is_file():
                raise SrrawError(f"pair {pair.name}: file is missing", path)
