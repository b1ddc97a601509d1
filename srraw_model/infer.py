"""Tiled inference: bounded memory on any frame size, seams hidden by overlapping tiles."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from srraw_model.color import to_srgb


def tiles(length: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(read_start, read_stop, keep_start, keep_stop) along one axis, in input pixels."""
    if length <= tile:
        return [(0, length, 0, length)]
    step = tile - 2 * overlap
    out = []
    keep = 0
    while keep < length:
        keep_stop = min(length, keep + step)
        start = max(0, min(keep - overlap, length - tile))
        stop = min(length, start + tile)
        out.append((start, stop, keep, keep_stop))
        keep = keep_stop
    return out


@torch.no_grad()
def infer_bands(
    model: torch.nn.Module,
    image: np.ndarray,
    kind: str,
    wb: np.ndarray | tuple,
    ccm: np.ndarray,
    *,
    factor: int,
    tile: int = 128,
    overlap: int = 24,
    device: str | torch.device = "cpu",
    dtype: np.dtype = np.float32,
    progress: bool = False,
) -> Iterator[np.ndarray]:
    """(h, w, C) network input -> bands of the (factor h, factor w, 3) sRGB output, top to
    bottom, as `dtype`: one row of tiles at a time, so only one band of the output exists.

    uint8/uint16 dtypes are quantised tile by tile, so no full-size float image exists either.
    """
    from tqdm import tqdm

    model.eval()
    h, w, _ = image.shape
    wb_t = torch.as_tensor(np.asarray(wb, np.float32))[None].to(device)
    ccm_t = torch.as_tensor(np.asarray(ccm, np.float32))[None].to(device)
    rows, cols = tiles(h, tile, overlap), tiles(w, tile, overlap)
    with tqdm(total=len(rows) * len(cols), desc="zoom", unit="tile", disable=not progress) as bar:
        for ys, ye, ks_y, ke_y in rows:
            band = np.zeros(((ke_y - ks_y) * factor, w * factor, 3), dtype=dtype)
            for xs, xe, ks_x, ke_x in cols:
                x = torch.from_numpy(np.ascontiguousarray(image[ys:ye, xs:xe].transpose(2, 0, 1)))
                y = to_srgb(model(x[None].to(device)), kind, wb_t, ccm_t).clamp(0, 1)
                y = y[0].permute(1, 2, 0).float().cpu().numpy()
                y = y[
                    (ks_y - ys) * factor : (ke_y - ys) * factor,
                    (ks_x - xs) * factor : (ke_x - xs) * factor,
                ]
                if np.issubdtype(dtype, np.integer):
                    y = np.rint(y * np.iinfo(dtype).max)
                band[:, ks_x * factor : ke_x * factor] = y.astype(dtype)
                bar.update()
            yield band


def infer(
    model: torch.nn.Module,
    image: np.ndarray,
    kind: str,
    wb: np.ndarray | tuple,
    ccm: np.ndarray,
    **options,
) -> np.ndarray:
    """The whole output of `infer_bands` as one (factor h, factor w, 3) array."""
    return np.concatenate(list(infer_bands(model, image, kind, wb, ccm, **options)), axis=0)
