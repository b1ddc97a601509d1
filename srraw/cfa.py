"""Bayer CFA layouts and lossless 2x2 packing into four channels (R, G1, B, G2).

G1 is the green on the red pixel's row, G2 the green on the blue pixel's row, which is
also LibRaw's channel order (color index 0, 1, 2, 3 in `raw_pattern`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LAYOUTS = ("RGGB", "BGGR", "GRBG", "GBRG")
CHANNELS = ("R", "G1", "B", "G2")

# (row, col) inside the 2x2 tile of each canonical channel, per layout.
_OFFSETS: dict[str, tuple[tuple[int, int], ...]] = {
    "RGGB": ((0, 0), (0, 1), (1, 1), (1, 0)),
    "BGGR": ((1, 1), (1, 0), (0, 0), (0, 1)),
    "GRBG": ((0, 1), (0, 0), (1, 0), (1, 1)),
    "GBRG": ((1, 0), (1, 1), (0, 1), (0, 0)),
}


def check_layout(cfa: str) -> str:
    if cfa not in _OFFSETS:
        raise ValueError(f"unknown CFA layout {cfa!r}; expected one of {', '.join(LAYOUTS)}")
    return cfa


def layout_from_rawpy(raw_pattern: np.ndarray, color_desc: bytes | str) -> str:
    """The 2x2 layout string ('RGGB', ...) from rawpy's raw_pattern and color_desc."""
    desc = color_desc.decode() if isinstance(color_desc, bytes) else color_desc
    pattern = np.asarray(raw_pattern)
    if pattern.shape != (2, 2):
        raise ValueError(f"not a 2x2 Bayer pattern (raw_pattern shape {pattern.shape})")
    layout = "".join(desc[int(i)] for i in pattern.ravel())
    return check_layout(layout)


def channel_offsets(cfa: str) -> tuple[tuple[int, int], ...]:
    """(row, col) inside the 2x2 tile of R, G1, B, G2 for this layout."""
    return _OFFSETS[check_layout(cfa)]


def channel_index_map(cfa: str) -> np.ndarray:
    """2x2 array giving the canonical channel index (0=R, 1=G1, 2=B, 3=G2) at each position."""
    index = np.empty((2, 2), dtype=np.int8)
    for channel, (row, col) in enumerate(channel_offsets(cfa)):
        index[row, col] = channel
    return index


def levels(black: float | Sequence[float], white: float) -> tuple[np.ndarray, np.ndarray]:
    """(black, white - black) per channel in R, G1, B, G2 order, float32."""
    black_arr = np.broadcast_to(np.asarray(black, dtype=np.float64), (4,)).astype(np.float32)
    scale = (np.float32(white) - black_arr).astype(np.float32)
    if np.any(scale <= 0):
        raise ValueError(f"white level {white} must exceed every black level {black}")
    return black_arr, scale


def pack(
    mosaic: np.ndarray,
    cfa: str,
    black: float | Sequence[float] = 0.0,
    white: float = 65535.0,
    *,
    clip: bool = False,
) -> np.ndarray:
    """Mosaic (H, W) -> float32 (H/2, W/2, 4) in R, G1, B, G2 order, (x - black) / (white - black).

    Black is one level or four, in R, G1, B, G2 order. Odd trailing rows/columns are dropped.
    Without `clip`, values below black stay negative so that `unpack` restores the mosaic exactly.
    """
    if mosaic.ndim != 2:
        raise ValueError(f"mosaic must be 2-D, got shape {mosaic.shape}")
    height, width = mosaic.shape[0] // 2 * 2, mosaic.shape[1] // 2 * 2
    black_arr, scale = levels(black, white)
    packed = np.empty((height // 2, width // 2, 4), dtype=np.float32)
    for channel, (row, col) in enumerate(channel_offsets(cfa)):
        plane = mosaic[row:height:2, col:width:2].astype(np.float32)
        packed[..., channel] = (plane - black_arr[channel]) / scale[channel]
    if clip:
        np.clip(packed, 0.0, 1.0, out=packed)
    return packed


def unpack(
    packed: np.ndarray,
    cfa: str,
    black: float | Sequence[float] = 0.0,
    white: float = 65535.0,
) -> np.ndarray:
    """Inverse of `pack`: (H/2, W/2, 4) -> uint16 mosaic (H, W), rounded and clipped to uint16."""
    if packed.ndim != 3 or packed.shape[2] != 4:
        raise ValueError(f"packed must be (H/2, W/2, 4), got shape {packed.shape}")
    black_arr, scale = levels(black, white)
    half_h, half_w, _ = packed.shape
    mosaic = np.empty((half_h * 2, half_w * 2), dtype=np.uint16)
    for channel, (row, col) in enumerate(channel_offsets(cfa)):
        values = packed[..., channel].astype(np.float32) * scale[channel] + black_arr[channel]
        mosaic[row::2, col::2] = np.clip(np.rint(values), 0, 65535).astype(np.uint16)
    return mosaic


def mosaic_from_rgb(rgb: np.ndarray, cfa: str) -> np.ndarray:
    """Sample an (H, W, 3) R, G, B image through the CFA into an (H, W) mosaic of the same dtype."""
    height, width = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    mosaic = np.empty((height, width), dtype=rgb.dtype)
    colour_of = (0, 1, 2, 1)
    for channel, (row, col) in enumerate(channel_offsets(cfa)):
        mosaic[row::2, col::2] = rgb[row:height:2, col:width:2, colour_of[channel]]
    return mosaic
