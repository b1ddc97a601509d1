"""A PNG written band by band (RGB, 8 or 16 bit), so a zoomed frame never exists whole in memory.

A 12 MP frame at 4X is 16000 x 12000 px: 576 MB at 8 bit, 1.15 GB at 16 bit, and an encoder that
takes the whole array (cv2.imencode) needs it and its encoded copy at once. Here each band of rows
is filtered (PNG filter 1, 'Sub': each byte minus the byte one pixel to its left), deflated into
one zlib stream and written as IDAT chunks as it comes.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
SUB = 1  # PNG filter type


def _chunk(fh: BinaryIO, kind: bytes, data: bytes) -> None:
    fh.write(struct.pack(">I", len(data)) + kind + data)
    fh.write(struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


class PngWriter:
    """Write `height` rows of `width` RGB pixels in bands: `write(band)`, then `close()`."""

    def __init__(self, fh: BinaryIO, width: int, height: int, bits: int, level: int = 1) -> None:
        if bits not in (8, 16):
            raise ValueError(f"bits {bits}: expected 8 or 16")
        self.fh, self.width, self.height, self.bits = fh, width, height, bits
        self.rows = 0
        # Level 1: the speed of cv2's default PNG compression (a frame is hundreds of MB raw).
        self.deflate = zlib.compressobj(level)
        fh.write(SIGNATURE)
        _chunk(fh, b"IHDR", struct.pack(">IIBBBBB", width, height, bits, 2, 0, 0, 0))

    def write(self, band: np.ndarray) -> None:
        """(rows, width, 3) uint8 or uint16, the next rows from the top."""
        dtype = np.uint8 if self.bits == 8 else np.uint16
        if band.dtype != dtype or band.shape[1:] != (self.width, 3):
            raise ValueError(
                f"band {band.shape} {band.dtype}: expected (n, {self.width}, 3) {dtype}"
            )
        if self.rows + band.shape[0] > self.height:
            raise ValueError("more rows than the image's height")
        data = np.ascontiguousarray(band, dtype=">u2" if self.bits == 16 else np.uint8)
        raw = data.view(np.uint8).reshape(band.shape[0], -1)
        step = 3 * self.bits // 8  # bytes per pixel: 'Sub' subtracts the same byte one pixel left
        filtered = np.empty((raw.shape[0], raw.shape[1] + 1), np.uint8)
        filtered[:, 0] = SUB
        filtered[:, 1 : 1 + step] = raw[:, :step]
        np.subtract(raw[:, step:], raw[:, :-step], out=filtered[:, 1 + step :])
        self._idat(self.deflate.compress(filtered.tobytes()))
        self.rows += band.shape[0]

    def _idat(self, data: bytes) -> None:
        if data:
            _chunk(self.fh, b"IDAT", data)

    def close(self) -> None:
        if self.rows != self.height:
            raise ValueError(f"{self.rows} rows written of {self.height}")
        self._idat(self.deflate.flush())
        _chunk(self.fh, b"IEND", b"")
