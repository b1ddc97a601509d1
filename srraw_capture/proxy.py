"""Reduced copies of a frame for the field QA: a smaller Bayer DNG and JPEG with the same EXIF.

Each of the four CFA sites is resized on its own (area average), so the proxy is still a
mosaic of the same layout; focal lengths, exposure and the body stay in the EXIF, so prep
pairs and checks the proxies as it would the originals, in a fraction of the time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srraw.cfa import channel_offsets
from srraw.files import atomic_write_bytes
from srraw.raw import read_raw


def frame_pixels(raw: Path) -> int:
    """Visible pixels of a RAW file (header only, no decode)."""
    import rawpy

    with rawpy.imread(str(raw)) as image:
        return int(image.sizes.width) * int(image.sizes.height)


def reduce_mosaic(mosaic: np.ndarray, cfa: str, scale: float) -> np.ndarray:
    """The mosaic `scale` times the size (even dimensions), each CFA site area-averaged."""
    import cv2

    height, width = mosaic.shape
    half_w = max(8, round(width * scale / 2))
    half_h = max(8, round(height * scale / 2))
    out = np.empty((2 * half_h, 2 * half_w), dtype=np.uint16)
    for row, col in channel_offsets(cfa):
        plane = mosaic[row::2, col::2].astype(np.float32)
        small = cv2.resize(plane, (half_w, half_h), interpolation=cv2.INTER_AREA)
        out[row::2, col::2] = np.clip(np.rint(small), 0, 65535).astype(np.uint16)
    return out


def write_proxy(raw: Path, jpeg: Path | None, out: Path, scale: float) -> None:
    """out/<stem>.DNG (+ .JPG) at `scale` of the original size."""
    import cv2
    import rawpy

    from srraw.tiffwrite import DngMeta, add_exif_to_jpeg, encode_dng

    frame = read_raw(raw, jpeg)
    assert frame.mosaic is not None
    with rawpy.imread(str(raw)) as image:
        cam_from_xyz = np.asarray(image.rgb_xyz_matrix[:3, :3], dtype=np.float64)
    if not np.any(cam_from_xyz):
        cam_from_xyz = np.eye(3)
    black = [0.0] * 4
    for channel, (row, col) in enumerate(channel_offsets(frame.cfa)):
        black[row * 2 + col] = frame.black_levels[channel]
    meta = DngMeta(
        exif=frame.exif,
        cfa=frame.cfa,
        black_level=tuple(round(b) for b in black),  # type: ignore[arg-type]
        white_level=frame.white_level,
        as_shot_neutral=tuple(1.0 / w for w in frame.wb),  # type: ignore[arg-type]
        color_matrix1=tuple(float(v) for v in cam_from_xyz.ravel()),
    )
    small = reduce_mosaic(frame.mosaic, frame.cfa, scale)
    atomic_write_bytes(out / f"{raw.stem}.DNG", encode_dng(small, meta))
    if jpeg is not None:
        image = cv2.imread(str(jpeg), cv2.IMREAD_COLOR)
        if image is not None:
            size = (max(16, round(image.shape[1] * scale)), max(16, round(image.shape[0] * scale)))
            reduced = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            ok, encoded = cv2.imencode(".jpg", reduced, [cv2.IMWRITE_JPEG_QUALITY, 92])
            if ok:
                atomic_write_bytes(
                    out / f"{jpeg.stem}.JPG", add_exif_to_jpeg(encoded.tobytes(), frame.exif)
                )
