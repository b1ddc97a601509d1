"""Training loader alone: batches/s of PairCrops through a DataLoader (no model).

    python benchmarks/loader_bench.py --manifest data/manifests [--crop 64 --batch 8]

Without --manifest, writes a small synthetic dataset (768x512, 6 sequences) to --work first.
The first pass builds the decode-once cache; the figures are for later passes (memory-mapped).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def synthetic(work: Path, scenes: int) -> Path:
    from srraw.synth.cli import synthesize
    from srraw_prep.config import PrepConfig
    from srraw_prep.run import prep

    manifests = work / "data" / "manifests"
    if not (manifests / "pairs.parquet").is_file():
        synthesize("simulated", work / "data", scenes, 1, None, progress=False)
        prep(work / "data", manifests, PrepConfig(zooms=(4,)), split_seed=0, progress=False)
    return manifests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "srraw-loader-bench"
    )
    parser.add_argument("--scenes", type=int, default=6)
    parser.add_argument("--crop", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--input", default="raw")
    args = parser.parse_args()

    from torch.utils.data import DataLoader

    from srraw_model.dataset import PairCrops

    manifest = args.manifest or synthetic(args.work, args.scenes)
    t0 = time.perf_counter()
    PairCrops.from_manifest(manifest, zoom=4, crop=min(args.crop), input_kind=args.input)
    print(f"cache ready in {time.perf_counter() - t0:.1f} s (decode once; later runs reuse it)")
    print(f"{'crop':>5}{'batch':>6}{'workers':>8}{'batches/s':>11}{'crops/s':>9}{'input MB/s':>11}")
    for crop in args.crop:
        for workers in args.workers:
            ds = PairCrops.from_manifest(
                manifest, zoom=4, crop=crop, input_kind=args.input,
                samples=args.batch * args.batches,
            )  # fmt: skip
            loader = DataLoader(ds, batch_size=args.batch, num_workers=workers, shuffle=True)
            t0 = time.perf_counter()
            count = 0
            for batch in loader:
                count += 1
                size = batch["input"].numel() * 4 + batch["target"].numel() * 4
            dt = time.perf_counter() - t0
            rate = count / dt
            print(
                f"{crop:>5}{args.batch:>6}{workers:>8}{rate:>11.1f}{rate * args.batch:>9.0f}{rate * size / 1e6:>11.0f}"
            )


if __name__ == "__main__":
    main()
