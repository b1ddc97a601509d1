"""Decode-once cache: per pair, the L mosaic box, the JPEG-L box and the target on the output grid.

Each source file is read once, checked against the manifest's sha256 and decoded; the arrays
are saved as .npy (written atomically) and opened memory-mapped, so the loader only slices.
An entry remembers each source's size and mtime: a file that changed since is hashed again,
and a sha256 that no longer matches the manifest is an error, never silently used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from srraw.errors import SrrawError
from srraw.files import atomic_path, atomic_write_bytes, sha256_file
from srraw.raw import read_raw
from srraw_model.geometry import jpeg_on_mosaic, target_on_grid
from srraw_model.pairs import PairRecord

CACHE_VERSION = 1


@dataclasses.dataclass(frozen=True)
class CachedPair:
    """Memory-mapped arrays of one pair. mosaic: L box (uint16); rgb_l: JPEG-L box (uint8 RGB);
    target: H on the box's output grid (uint8 RGB, Z px per mosaic px)."""

    pair: PairRecord
    mosaic: np.ndarray
    rgb_l: np.ndarray
    target: np.ndarray


def entry_key(pair: PairRecord) -> str:
    """Content key: the sources' sha256 and everything that shapes the arrays."""
    spec = {
        "v": CACHE_VERSION,
        "raw": pair.raw_l_sha256,
        "jpeg_l": pair.jpeg_l_sha256,
        "jpeg_h": pair.jpeg_h_sha256,
        "h_to_l": [round(v, 9) for v in pair.h_to_l],
        "zoom": pair.zoom,
        "box": list(pair.box),
    }
    if pair.h_to_l_grid is not None:
        # Only pairs with a grid carry it in the key: grid-less entries keep their old keys.
        grid = np.round(np.asarray(pair.h_to_l_grid, dtype=np.float64), 9)
        spec["grid"] = hashlib.sha256(grid.tobytes()).hexdigest()
        spec["grid_shape"] = list(pair.h_to_l_grid_shape or ())
        spec["size_h"] = list(pair.size_h or ())
    if pair.jpeg_l_map is not None and not pair.jpeg_l_map.is_identity:
        spec["jpeg_l_map"] = repr(pair.jpeg_l_map)
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]


def _sources(pair: PairRecord) -> list[tuple[Path, str]]:
    return [
        (pair.raw_l, pair.raw_l_sha256),
        (pair.jpeg_l, pair.jpeg_l_sha256),
        (pair.jpeg_h, pair.jpeg_h_sha256),
    ]


def _stat(path: Path) -> list[int]:
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise SrrawError("file is missing (referenced by the pairs manifest)", path) from exc
    return [st.st_size, st.st_mtime_ns]


def _verify(path: Path, expected: str, data: bytes | None = None) -> None:
    digest = hashlib.sha256(data).hexdigest() if data is not None else sha256_file(path)
    if digest != expected:
        raise SrrawError(
            "file changed since the manifest was written (sha256 differs); run srraw prep again",
            path,
        )


def decode_jpeg(path: Path, expected_sha256: str | None = None) -> np.ndarray:
    """JPEG -> (H, W, 3) uint8 RGB, as stored (EXIF orientation ignored, as prep does)."""
    _stat(path)
    data = path.read_bytes()
    if expected_sha256 is not None:
        _verify(path, expected_sha256, data)
    image = cv2.imdecode(
        np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    )
    if image is None:
        raise SrrawError("JPEG cannot be decoded (truncated or not a JPEG)", path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array))


def build_entry(pair: PairRecord, folder: Path) -> None:
    """Decode the pair's three files once and write its arrays and meta.json into `folder`."""
    stats = {str(p): _stat(p) for p, _ in _sources(pair)}
    _verify(pair.raw_l, pair.raw_l_sha256)
    frame = read_raw(pair.raw_l)
    x0, y0, x1, y1 = pair.box
    if frame.cfa != pair.cfa:
        raise SrrawError(f"CFA {frame.cfa} differs from frames.parquet ({pair.cfa})", pair.raw_l)
    assert frame.mosaic is not None
    if x1 > frame.width or y1 > frame.height or x0 < 0 or y0 < 0 or x1 <= x0 or y1 <= y0:
        raise SrrawError(f"pair {pair.name}: box {pair.box} lies outside the frame", pair.raw_l)
    rgb_l = decode_jpeg(pair.jpeg_l, pair.jpeg_l_sha256)
    jpeg_l_map = pair.jpeg_l_map
    if jpeg_l_map is not None and (rgb_l.shape[1], rgb_l.shape[0]) != jpeg_l_map.size_jpeg:
        raise SrrawError(
            f"pair {pair.name}: JPEG is {rgb_l.shape[1]}x{rgb_l.shape[0]}, frames.parquet says "
            f"{jpeg_l_map.size_jpeg[0]}x{jpeg_l_map.size_jpeg[1]}",
            pair.jpeg_l,
        )
    jpeg_h = decode_jpeg(pair.jpeg_h, pair.jpeg_h_sha256)
    if pair.size_h is not None and (jpeg_h.shape[1], jpeg_h.shape[0]) != pair.size_h:
        raise SrrawError(
            f"pair {pair.name}: JPEG is {jpeg_h.shape[1]}x{jpeg_h.shape[0]}, frames.parquet "
            f"says {pair.size_h[0]}x{pair.size_h[1]} (the h_to_l_grid's frame)",
            pair.jpeg_h,
        )
    target = target_on_grid(jpeg_h, pair.pair_map(), pair.zoom, pair.box)
    folder.mkdir(parents=True, exist_ok=True)
    _save_npy(folder / "mosaic.npy", frame.mosaic[y0:y1, x0:x1])
    _save_npy(folder / "rgb_l.npy", jpeg_on_mosaic(rgb_l, pair.jpeg_l_map, pair.box))
    _save_npy(folder / "target.npy", target)
    meta = {"version": CACHE_VERSION, "pair": pair.name, "stats": stats}
    atomic_write_bytes(folder / "meta.json", json.dumps(meta, indent=1).encode())


def _fresh(pair: PairRecord, folder: Path) -> bool:
    """True when the entry exists and its sources are unchanged (hashing again what was touched)."""
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return False
    meta = json.loads(meta_path.read_text())
    if meta.get("version") != CACHE_VERSION:
        return False
    changed = False
    for path, sha in _sources(pair):
        now = _stat(path)
        if meta["stats"].get(str(path)) != now:
            _verify(path, sha)  # touched or moved: the content must still match the manifest
            meta["stats"][str(path)] = now
            changed = True
    if changed:
        atomic_write_bytes(meta_path, json.dumps(meta, indent=1).encode())
    return True


def open_entry(pair: PairRecord, folder: Path) -> CachedPair:
    def load(name: str) -> np.ndarray:
        return np.load(folder / name, mmap_mode="r")

    return CachedPair(pair, load("mosaic.npy"), load("rgb_l.npy"), load("target.npy"))


def prepare(
    pairs: Iterable[PairRecord], cache_dir: str | os.PathLike[str], *, progress: bool = False
) -> list[CachedPair]:
    """Build what is missing in the cache (each file decoded once) and open every entry."""
    from tqdm import tqdm

    cache_dir = Path(cache_dir)
    pairs = list(pairs)
    out = []
    for pair in tqdm(pairs, desc="cache", unit="pair", disable=not progress):
        folder = cache_dir / entry_key(pair)
        if not _fresh(pair, folder):
            build_entry(pair, folder)
        out.append(open_entry(pair, folder))
    return out
