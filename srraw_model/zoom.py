"""`srraw zoom`: one RAW file (any rawpy reads) -> zoomed PNG, tiled, WB from its metadata."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from srraw.errors import SrrawError
from srraw.files import atomic_path
from srraw.raw import read_raw
from srraw_model.cache import decode_jpeg
from srraw_model.evaluate import load_model
from srraw_model.infer import infer_bands
from srraw_model.inputs import develop_float, raw_input, rgb_input, syn_raw_input
from srraw_model.png import PngWriter


def parse_region(text: str | None, width: int, height: int) -> tuple[int, int, int, int]:
    """'x,y,w,h' in mosaic pixels, all even, inside the frame -> (x, y, w, h); None: all.

    Odd values are refused, not rounded: an odd x or y would change the CFA phase the model
    was trained on, and silently moving the region would zoom pixels the user did not ask for.
    """
    if text is None:
        return 0, 0, width // 2 * 2, height // 2 * 2
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError as exc:
        raise SrrawError(f"--region {text!r}: expected x,y,w,h in mosaic pixels") from exc
    odd = [name for name, v in zip("xywh", (x, y, w, h), strict=True) if v % 2]
    if odd:
        raise SrrawError(
            f"--region {text!r}: {', '.join(odd)} must be even (2x2 CFA blocks); "
            f"try {x // 2 * 2},{y // 2 * 2},{(w + 1) // 2 * 2},{(h + 1) // 2 * 2}"
        )
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise SrrawError(f"--region {text!r} is not inside the {width}x{height} frame")
    return x, y, w, h


def zoom_file(
    raw_path: str | os.PathLike[str],
    checkpoint_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    region: str | None = None,
    bits: int = 8,
    tile: int = 128,
    overlap: int = 24,
    device: str = "cpu",
    progress: bool = False,
) -> tuple[int, int]:
    """Write the zoomed PNG atomically; returns its (width, height)."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise SrrawError("output must be a .png file", out)
    if bits not in (8, 16):
        raise SrrawError(f"--bits {bits}: expected 8 or 16")
    model, kind, _ = load_model(checkpoint_path)
    model.to(device)
    frame = read_raw(raw_path)
    assert frame.mosaic is not None
    x, y, w, h = parse_region(region, frame.width, frame.height)
    mosaic = frame.mosaic[y : y + h, x : x + w]
    ccm = frame.color_matrix if frame.color_matrix is not None else np.eye(3)
    if kind == "raw":
        image = raw_input(mosaic, frame.cfa, frame.black_levels, frame.white_level)
    elif kind == "syn-raw":
        dev = develop_float(mosaic, frame.cfa, frame.black_levels, frame.white_level, frame.wb, ccm)
        image = syn_raw_input(dev, frame.cfa, None, 0.0)
    else:
        if frame.jpeg_path is None:
            raise SrrawError("this model takes the camera JPEG; no JPEG beside the RAW", raw_path)
        image = rgb_input(decode_jpeg(frame.jpeg_path)[y : y + h, x : x + w])
    dtype = np.uint8 if bits == 8 else np.uint16
    factor = model.factor
    bands = infer_bands(
        model,
        image,
        kind,
        frame.wb,
        ccm,
        factor=factor,
        tile=tile,
        overlap=overlap,
        device=device,
        dtype=dtype,
        progress=progress,
    )
    size = (image.shape[1] * factor, image.shape[0] * factor)
    # Streamed band by band into the temporary file, renamed when complete.
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        writer = PngWriter(fh, size[0], size[1], bits)
        for band in bands:
            writer.write(band)
        writer.close()
    return size
