"""The three input kinds of the paper's controlled experiments, and the colour of the output.

- `raw` (ours): the RAW-L mosaic packed to R, G1, B, G2, black subtracted, / (white - black),
  clipped to [0, 1]. The network predicts *linear camera RGB*; white balance (frame L's as-shot
  gains), the colour matrix and the sRGB curve are then applied (`finish`), as the paper applies
  WB from metadata to the output. Why this split: the JPEG-H target is white-balanced and
  gamma-encoded; fixing those steps leaves the network the optics (detail, noise, demosaicing),
  and the bicubic baseline is the same RAW-L developed by the same steps (`develop_float`),
  so the comparison is fair.
- `rgb` ("Ours-png"): the short-focal JPEG-L as input, 2x2 space-to-depth into 12 channels at
  the packed resolution (same network, same output grid); the output is sRGB directly.
- `syn-raw` ("Ours-syn-raw"): for training, a Bayer mosaic sampled from JPEG-L through the
  frame's CFA with Gaussian noise of random variance (Gharbi et al.); for testing, the real
  RAW-L white-balanced and gamma-encoded, then sampled the same way. Output is sRGB directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from srraw.cfa import mosaic_from_rgb, pack
from srraw.isp import camera_rgb, srgb_encode

INPUT_KINDS = ("raw", "rgb", "syn-raw")


def in_channels(kind: str) -> int:
    return 12 if kind == "rgb" else 4


def outputs_linear(kind: str) -> bool:
    """True when the network output is linear camera RGB that `finish` develops."""
    return kind == "raw"


def space_to_depth(rgb: np.ndarray) -> np.ndarray:
    """(2h, 2w, 3) -> (h, w, 12): the 2x2 block's pixels (row-major), 3 colours each."""
    h, w = rgb.shape[0] // 2, rgb.shape[1] // 2
    blocks = rgb[: 2 * h, : 2 * w].reshape(h, 2, w, 2, 3).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(blocks.reshape(h, w, 12))


def develop_float(
    mosaic: np.ndarray,
    cfa: str,
    black: Sequence[float],
    white: float,
    wb: Sequence[float],
    ccm: np.ndarray,
) -> np.ndarray:
    """RAW mosaic -> float32 sRGB-encoded [0, 1] (bilinear demosaic, WB, matrix, gamma)."""
    lin = camera_rgb(mosaic, cfa, black, white) * np.asarray(wb, dtype=np.float32)
    lin = lin @ np.asarray(ccm, dtype=np.float32).T
    return srgb_encode(lin).astype(np.float32)


def raw_input(mosaic: np.ndarray, cfa: str, black: Sequence[float], white: float) -> np.ndarray:
    """Mosaic window -> (h, w, 4) float32 packed input in [0, 1]."""
    return pack(mosaic, cfa, black, white, clip=True)


def rgb_input(rgb_u8: np.ndarray) -> np.ndarray:
    return space_to_depth(rgb_u8.astype(np.float32) / 255.0)


def syn_raw_input(
    rgb: np.ndarray, cfa: str, rng: np.random.Generator | None, max_sigma: float
) -> np.ndarray:
    """sRGB [0, 1] (h, w, 3) -> packed synthetic mosaic; Gaussian noise of random sigma if rng."""
    mosaic = mosaic_from_rgb(rgb.astype(np.float32), cfa)
    if rng is not None and max_sigma > 0:
        sigma = float(rng.uniform(0.0, max_sigma))
        mosaic = mosaic + rng.normal(0.0, sigma, mosaic.shape).astype(np.float32)
    return pack(mosaic, cfa, 0.0, 1.0, clip=True)


def make_input(
    kind: str,
    mosaic: np.ndarray,
    rgb_l: np.ndarray,
    cfa: str,
    black: Sequence[float],
    white: float,
    wb: Sequence[float],
    ccm: np.ndarray,
    *,
    rng: np.random.Generator | None = None,
    train: bool = True,
    syn_noise: float = 0.02,
) -> np.ndarray:
    """Network input (h, w, C) float32 for a mosaic window and its JPEG-L window."""
    if kind == "raw":
        return raw_input(mosaic, cfa, black, white)
    if kind == "rgb":
        return rgb_input(rgb_l)
    if kind == "syn-raw":
        if train:
            return syn_raw_input(rgb_l.astype(np.float32) / 255.0, cfa, rng, syn_noise)
        return syn_raw_input(develop_float(mosaic, cfa, black, white, wb, ccm), cfa, None, 0.0)
    raise ValueError(f"unknown input kind {kind!r}; expected one of {', '.join(INPUT_KINDS)}")


def baseline_rgb(
    kind: str,
    mosaic: np.ndarray,
    rgb_l: np.ndarray,
    cfa: str,
    black: Sequence[float],
    white: float,
    wb: Sequence[float],
    ccm: np.ndarray,
) -> np.ndarray:
    """The RGB image on L's mosaic grid that bicubic upsampling starts from, float [0, 1].

    The RAW developed by the same steps as the network output for raw and syn-raw; JPEG-L for rgb.
    """
    if kind == "rgb":
        return rgb_l.astype(np.float32) / 255.0
    return develop_float(mosaic, cfa, black, white, wb, ccm)
