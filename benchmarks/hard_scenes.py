"""How hard `srraw synth`'s hard scenes are, from their ground truth.

depth: for each 4X and 8X pair of a depth sequence, how far the foreground layer's true map is
from the background's (what one map per pair would get wrong there), in target px over the
foreground pixels of a 96x64 lattice of RGB-H, and how much of RGB-H the layer covers.
smooth: the share of each frame with texture (local contrast above 1% of white), widest and
longest focal length, beside normal scenes of the same seeds (rendered at 768 px wide).

Run: .venv/bin/python benchmarks/hard_scenes.py --scenes 8 --megapixels 12
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

import cv2
import numpy as np

from srraw.rig import load_rig
from srraw.synth.cli import sequence_seed
from srraw.synth.render import render_radiance
from srraw.synth.sequence import (
    foreground_pose,
    frame_geometry,
    frame_size,
    plan_sequence,
    scene_for,
)
from srraw.synth.truth import foreground_mask, jpeg_h_to_raw_l, true_h_to_l
from srraw_prep.truth_error import lattice

START = dt.datetime(2026, 1, 1, 12)


def depth_truth(rig, seed: int, size: tuple[int, int]) -> dict:
    """The geometry part of a depth sequence's truth.json (ideal frames), without rendering."""
    scene = scene_for(rig, seed, size[0], "depth")
    frames = []
    for plan in plan_sequence(rig, seed, START):
        pose = foreground_pose(rig, scene, plan, size[0], seed)
        frames.append(
            {
                "index": plan.index,
                "focal_exif_mm": plan.focal_exif_mm,
                "width": size[0],
                "height": size[1],
                "scene_to_frame": list(frame_geometry(rig, plan, size).scene_to_frame().ravel()),
                "foreground_to_scene": list(pose.ravel()),
            }
        )
    return {"frames": frames, "foreground": {"silhouette": scene.foreground.silhouette.tolist()}}


def textured_share(scene, rig, plan, size) -> float:
    grey = render_radiance(scene, frame_geometry(rig, plan, size), 0.5).mean(axis=2)
    mean = cv2.blur(grey, (5, 5))
    contrast = np.sqrt(np.maximum(cv2.blur(grey * grey, (5, 5)) - mean * mean, 0))
    return float((contrast > 0.01).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=8)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--rig", default="sony-a7s2-fe24-240")
    parser.add_argument("--band", type=float, default=0.15)
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)}")
    rig = load_rig(args.rig)
    size = frame_size(rig, args.megapixels)
    shifts: dict[int, list[tuple[float, float, float]]] = {4: [], 8: []}
    for i in range(1, args.scenes + 1):
        truth = depth_truth(rig, sequence_seed(2026, i), size)
        frames = truth["frames"]
        points = lattice(size, (96, 64))
        for low in frames:
            for high in frames:
                ratio = high["focal_exif_mm"] / low["focal_exif_mm"]
                for zoom in shifts:
                    if abs(ratio / zoom - 1) > args.band:
                        continue
                    mask = foreground_mask(truth, high["index"], points)
                    if not mask.any():
                        shifts[zoom].append((0.0, 0.0, 0.0))
                        continue
                    fg = points[mask]
                    a = true_h_to_l(truth, low["index"], high["index"], fg)
                    b = jpeg_h_to_raw_l(truth, low["index"], high["index"], fg)
                    d = np.linalg.norm(a - b, axis=-1) * ratio  # L px -> target px
                    shifts[zoom].append((float(mask.mean()), float(np.median(d)), float(d.max())))
    print(f"depth scenes at {size[0]}x{size[1]}, {args.scenes} sequences:")
    for zoom, rows in shifts.items():
        if not rows:
            continue
        cover, med, top = (np.array(c) for c in zip(*rows, strict=True))
        print(
            f"  {zoom}X: {len(rows)} pairs; foreground covers median {np.median(cover):.0%} of "
            f"RGB-H; its shift against the background map, median over pairs of the per-pair "
            f"median {np.median(med):.2f} target px, of the per-pair max {np.median(top):.2f}; "
            f"largest {top.max():.2f}; pairs with max > 2 px: {(top > 2).mean():.0%}"
        )
    small = frame_size(load_rig("simulated"), None)
    share = {"normal": ([], []), "smooth": ([], [])}
    for i in range(1, min(args.scenes, 4) + 1):
        seed = sequence_seed(2026, i)
        plans = plan_sequence(rig, seed, START)
        wide = min(plans, key=lambda p: p.focal_nominal_mm)
        tele = max(plans, key=lambda p: p.focal_nominal_mm)
        for kind, (at_wide, at_tele) in share.items():
            scene = scene_for(rig, seed, small[0], kind)
            at_wide.append(textured_share(scene, rig, wide, small))
            at_tele.append(textured_share(scene, rig, tele, small))
    for kind, (at_wide, at_tele) in share.items():
        print(
            f"{kind} scenes: textured share of the frame, widest {np.median(at_wide):.0%} "
            f"(range {min(at_wide):.0%}-{max(at_wide):.0%}), longest {np.median(at_tele):.0%} "
            f"(range {min(at_tele):.0%}-{max(at_tele):.0%}) (n={len(at_wide)}, at {small[0]} px)"
        )


if __name__ == "__main__":
    main()
