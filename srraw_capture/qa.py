"""Field QA: `srraw prep` on one just-shot sequence, at low resolution, read back in words.

Stages talk only through files: the sequence is linked (or, above `max_pixels`, written as
reduced proxies) into DATASET/.srraw/qa/<sequence>/data/, `srraw prep` runs there as a
subprocess, and its pairs.parquet and frames.parquet are read back with srraw.manifest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from srraw.manifest import read_manifest
from srraw_capture.journal import STATE_DIR
from srraw_capture.plan import JPEG_EXTENSIONS, RAW_EXTENSIONS

QA_ZOOM = 4
MAX_PIXELS = 1_000_000  # frames larger than this are checked on reduced proxies

# prep's QA flags, in the photographer's words
FLAG_WORDS = {
    "low_rho": "frames do not line up: the subject or the camera moved, or a frame is blurred",
    "large_residual": "frames do not line up: the subject or the camera moved, or a frame is blurred",
    "no_texture": "too little texture in the scene to check alignment",
    "scale_far_from_nominal": "focal lengths off: the measured zoom differs from the EXIF focal lengths",
    "exposure_mismatch": "exposure drifted: exposure time differs between frames",
    "iso_mismatch": "exposure drifted: ISO differs between frames",
    "aperture_mismatch": "exposure drifted: aperture differs between frames",
    "mixed_body": "frames from different bodies",
    "mixed_lens": "frames from different lenses",
}


@dataclass
class QaResult:
    verdict: str  # good | flagged | bad | error
    problems: list[str] = field(default_factory=list)
    pairs: dict[str, int] = field(default_factory=dict)
    worst_rho: float | None = None
    worst_residual_px: float | None = None
    seconds: float = 0.0
    proxy_scale: float = 1.0

    @property
    def usable(self) -> bool:
        return self.verdict == "good"

    def record(self) -> dict:
        return {
            "verdict": self.verdict,
            "problems": self.problems,
            "pairs": self.pairs,
            "worst_rho": self.worst_rho,
            "worst_residual_px": self.worst_residual_px,
            "seconds": round(self.seconds, 2),
            "proxy_scale": self.proxy_scale,
        }

    def lines(self) -> list[str]:
        counts = ", ".join(f"{v} {k}" for k, v in self.pairs.items()) or "no pairs"
        head = {
            "good": "usable",
            "flagged": "usable with doubts",
            "bad": "NOT usable",
            "error": "field check failed",
        }[self.verdict]
        figures = ""
        if self.worst_rho is not None:
            figures = f", worst ECC rho {self.worst_rho:.3f}"
        if self.worst_residual_px is not None:
            figures += f", worst residual p95 {self.worst_residual_px:.1f} px"
        out = [f"field check: {head} ({QA_ZOOM}X pairs: {counts}{figures}; {self.seconds:.1f} s)"]
        out += [f"  - {p}" for p in self.problems]
        return out


def _link(src: Path, dst: Path) -> None:
    try:
        os.symlink(os.path.relpath(src, dst.parent), dst)
    except OSError:
        shutil.copy2(src, dst)


def _frame_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix.upper() in RAW_EXTENSIONS | JPEG_EXTENSIONS
    )


def stage(root: Path, sequence: str, max_pixels: int = MAX_PIXELS) -> tuple[Path, float]:
    """The QA dataset for one sequence: (its data folder, proxy scale; 1 = the files as shot)."""
    from srraw_capture.proxy import frame_pixels, write_proxy

    base = root / STATE_DIR / "qa" / sequence
    shutil.rmtree(base, ignore_errors=True)
    data = base / "data" / sequence
    data.mkdir(parents=True)
    files = _frame_files(root / sequence)
    raws = [p for p in files if p.suffix.upper() in RAW_EXTENSIONS]
    pixels = frame_pixels(raws[0]) if raws else 0
    scale = 1.0
    if pixels > max_pixels:
        scale = (max_pixels / pixels) ** 0.5
    for path in files:
        if scale < 1.0 and path.suffix.upper() in RAW_EXTENSIONS:
            jpeg = next((p for p in files if p.stem == path.stem and p not in raws), None)
            write_proxy(path, jpeg, data, scale)
        elif scale >= 1.0:
            _link(path, data / path.name)
    return data.parent, scale


def check_sequence(
    root: Path, sequence: str, timeout: float = 600.0, max_pixels: int = MAX_PIXELS
) -> QaResult:
    """Run `srraw prep --zoom 4` on one sequence and say whether it is usable."""
    start = time.monotonic()
    try:
        data, scale = stage(root, sequence, max_pixels)
    except Exception as exc:
        return QaResult("error", [f"cannot stage the sequence: {exc}"], seconds=0.0)
    out = data.parent / "out"
    cmd = [sys.executable, "-m", "srraw.cli", "prep", str(data), "--out", str(out)]
    cmd += ["--zoom", str(QA_ZOOM), "--jobs", "1"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return QaResult("error", [f"srraw prep took more than {timeout:g} s"], seconds=timeout)
    seconds = time.monotonic() - start
    pairs_path = out / "pairs.parquet"
    if not pairs_path.is_file():
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return QaResult("error", [f"srraw prep failed: {last[0]}"], seconds=seconds)
    result = summarize(pairs_path, out / "frames.parquet", scale)
    result.seconds = seconds
    return result


_NOT_ALIGNED = ("ECC", "converge", "align", "SIFT", "match", "OpenCV")


def _pair_failure(pair: dict) -> str:
    """A failed pair in a sentence; OpenCV's own text stays in the field check's pairs.parquet."""
    error = str(pair.get("error") or "no reason given")
    if pair.get("frame_l") is None:
        return f"the sequence could not be paired: {error}"
    frames = f"frames {pair['frame_l']} and {pair['frame_h']}"
    if any(word in error for word in _NOT_ALIGNED):
        return (
            f"{frames} do not line up: the subject or the camera moved, a frame is blurred, "
            "or the scene has too little texture"
        )
    return f"{frames} could not be paired: {error}"


def summarize(pairs_path: Path, frames_path: Path, scale: float = 1.0) -> QaResult:
    """The verdict from prep's manifests (pure reading, no camera)."""
    pairs = read_manifest(pairs_path, "pairs").to_pylist()
    frames = []
    with contextlib.suppress(Exception):
        frames = read_manifest(frames_path, "frames").to_pylist()
    problems: list[str] = []
    for frame in frames:
        if frame["status"] == "failed":
            problems.append(f"frame {frame['frame']}: {frame['error']}")
    counts: dict[str, int] = {}
    rhos, residuals = [], []
    for pair in pairs:
        counts[pair["status"]] = counts.get(pair["status"], 0) + 1
        if pair["status"] == "failed":
            problems.append(_pair_failure(pair))
        for flag in pair["qa_flags"] or []:
            words = FLAG_WORDS.get(flag, flag)
            if words not in problems:
                problems.append(words)
        if pair["ecc_rho"] is not None:
            rhos.append(pair["ecc_rho"])
        if pair["residual_p95_px"] is not None:
            residuals.append(pair["residual_p95_px"] / scale)
    if counts.get("failed") or not counts.get("ok", 0) + counts.get("flagged", 0):
        verdict = "bad"
    elif counts.get("flagged") or problems:
        verdict = "flagged"
    else:
        verdict = "good"
    return QaResult(
        verdict,
        problems,
        counts,
        min(rhos) if rhos else None,
        max(residuals) if residuals else None,
        proxy_scale=round(scale, 4),
    )
