"""Alignment accuracy of `srraw prep` against the ground truth of `srraw synth` sequences.

Prints MACE (mean corner error of h_to_l against the truth, in target pixels) median / p95,
the share under 1 px, how many of the rest were flagged, the same for the paper's method
(EXIF-ratio crop + single-level Euclidean ECC at 1/8 scale), and the residual-flow statistics
on perfectly aligned pairs (spurious motion).

Run: .venv/bin/python benchmarks/align_accuracy.py --scenes 4 --megapixels 12
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from srraw.manifest import read_manifest_df
from srraw.synth.cli import synthesize
from srraw_prep.align import AlignError, resample, to_grey
from srraw_prep.config import PrepConfig
from srraw_prep.geometry import centre_zoom, mean_corner_error, scaling, translation
from srraw_prep.residual import aligned_pair, residual
from srraw_prep.run import prep


def truth_h_to_l(folder: Path, frame_l: int, frame_h: int) -> np.ndarray:
    frames = json.loads((folder / "truth.json").read_text())["frames"]
    s_l = np.reshape(frames[frame_l - 1]["scene_to_frame"], (3, 3))
    s_h = np.reshape(frames[frame_h - 1]["scene_to_frame"], (3, 3))
    return s_l @ np.linalg.inv(s_h)


def paper_baseline(img_l: np.ndarray, img_h: np.ndarray, ratio: float) -> np.ndarray:
    """EXIF-ratio FOV crop, then one Euclidean ECC at 1/8 of RGB-H's resolution."""
    hh, hw = img_h.shape
    work = (max(16, round(hw / 8)), max(16, round(hh / 8)))
    h_to_w = translation(-0.5, -0.5) @ scaling(work[0] / hw, work[1] / hh) @ translation(0.5, 0.5)
    # The L crop that the EXIF ratio says H sees, resampled to the same working size.
    nominal = centre_zoom((hw, hh), (img_l.shape[1], img_l.shape[0]), ratio)
    w_to_l = nominal @ np.linalg.inv(h_to_w)
    crop_l = resample(img_l, np.linalg.inv(w_to_l), work)
    small_h = resample(img_h, h_to_w, work)
    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-6)
    try:
        _, warp = cv2.findTransformECC(
            small_h, crop_l, warp, cv2.MOTION_EUCLIDEAN, criteria, None, 5
        )
    except cv2.error as exc:
        raise AlignError(str(exc)) from exc
    w_to_crop = np.vstack([warp.astype(np.float64), [0, 0, 1]])
    return w_to_l @ w_to_crop @ h_to_w


def stats(values: list[float]) -> str:
    if not values:
        return "no pairs"
    v = np.asarray(values)
    return (
        f"median {np.median(v):.3f} px, p95 {np.percentile(v, 95):.3f} px, "
        f"{(v < 1).mean():.1%} under 1 px (n={len(v)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=4)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--rig", default="sony-a7s2-fe24-240")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data", type=Path, default=None, help="Keep the dataset here.")
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp) / "data"
        start = time.perf_counter()
        synthesize(
            args.rig, data, args.scenes, 2026, args.megapixels, progress=False, jobs=args.jobs
        )
        print(
            f"synth: {args.scenes} sequences at {args.megapixels} MP in {time.perf_counter() - start:.0f} s"
        )
        start = time.perf_counter()
        summary = prep(data, data / "manifests", PrepConfig(), jobs=args.jobs, progress=False)
        print(f"{summary.line()} in {time.perf_counter() - start:.0f} s")
        pairs = read_manifest_df(data / "manifests" / "pairs.parquet", "pairs")
        ours, base, flagged_bad, bad, spurious_med, spurious_p95 = [], [], 0, 0, [], []
        for row in pairs.itertuples():
            if row.frame_l is None or row.frame_l != row.frame_l:
                continue
            folder = data / row.sequence
            truth = truth_h_to_l(folder, int(row.frame_l), int(row.frame_h))
            rgb_l = cv2.cvtColor(
                cv2.imread(str(folder / f"{int(row.frame_l):05d}.JPG")), cv2.COLOR_BGR2RGB
            )
            rgb_h = cv2.cvtColor(
                cv2.imread(str(folder / f"{int(row.frame_h):05d}.JPG")), cv2.COLOR_BGR2RGB
            )
            size_h = (rgb_h.shape[1], rgb_h.shape[0])
            if row.status != "failed":
                mace = mean_corner_error(np.reshape(row.h_to_l, (3, 3)), truth, size_h)
                ours.append(mace)
            else:
                mace = float("inf")
            if mace >= 1:
                bad += 1
                flagged_bad += row.status != "ok"
            try:
                estimate = paper_baseline(to_grey(rgb_l), to_grey(rgb_h), row.nominal_ratio)
                base.append(mean_corner_error(estimate, truth, size_h))
            except AlignError:
                base.append(float("inf"))
            res = residual(aligned_pair(rgb_l, rgb_h, truth))
            spurious_med.append(res.median_px)
            spurious_p95.append(res.p95_px)
        print(
            f"srraw prep MACE: {stats(ours)}; {bad} pairs at 1 px or more, {flagged_bad} of them flagged"
        )
        print(f"paper baseline MACE: {stats(base)}")
        print(
            f"spurious residual on perfectly aligned pairs: median of medians "
            f"{np.nanmedian(spurious_med):.3f} px, median of p95 {np.nanmedian(spurious_p95):.3f} px"
        )


if __name__ == "__main__":
    main()
