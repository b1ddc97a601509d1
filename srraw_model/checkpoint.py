"""Checkpoints: model, optimiser, scheduler, step and RNG states, written atomically."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from srraw.errors import SrrawError
from srraw.files import atomic_path

FORMAT = "srraw-model/1"


def rng_state() -> dict[str, Any]:
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def load_problem(path: Path, exc: Exception) -> str:
    """One line for why torch.load refused a file (torch's own text spans lines and, for any
    unreadable file, suggests weights_only=False, which would run arbitrary code)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head != b"PK\x03\x04" and head[:1] != b"\x80":  # torch.save's zip, or a legacy pickle
        return "not a torch file (neither torch.save's zip format nor a pickle)"
    if "Weights only load failed" in str(exc):
        return "holds Python objects besides tensors; only plain state-dict files are loaded"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"damaged or truncated torch file ({type(exc).__name__}: {first[:120]})"


def save(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """torch.save to a temporary file beside `path`, fsync, rename."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **payload}, tmp)
    return path


def load(path: str | os.PathLike[str], *, zoom: int | None = None) -> dict[str, Any]:
    """A checkpoint; one-line error for a missing file, another format or another zoom factor."""
    path = Path(path)
    if not path.is_file():
        raise SrrawError("no such checkpoint", path)
    try:
        # Our own files hold numpy and python RNG states; never load a checkpoint you did not write.
        data = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise SrrawError(f"not a readable checkpoint: {load_problem(path, exc)}", path) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SrrawError(f"not an srraw model checkpoint (expected format {FORMAT})", path)
    found = data["net"]["zoom"]
    if zoom is not None and found != zoom:
        raise SrrawError(f"checkpoint is a {found}X model, but zoom {zoom}X was asked for", path)
    return data
