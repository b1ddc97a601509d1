"""A short CPU training run on synthetic pairs, then model vs bicubic on the held-out test split.

    python benchmarks/train_bicubic.py                    # synthesises data into --work first
    python benchmarks/train_bicubic.py --manifest data/manifests --steps 300 -- --width 16

Arguments after `--` are passed to `srraw train` as they are (they override the defaults here).
Prints the per-method means (PSNR, SSIM) on the test split and the command line used.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULTS = [
    "--width", "32", "--blocks", "4", "--crop", "24", "--batch", "4", "--lr", "1e-3",
    "--rgb-stride", "3", "--cobi-vgg", "0", "--input-skip", "--log-every", "25",
    "--val-every", "100", "--samples-per-epoch", "400",
]  # fmt: skip


def synthetic(work: Path, scenes: int) -> Path:
    from srraw.synth.cli import synthesize
    from srraw_prep.config import PrepConfig
    from srraw_prep.run import prep

    manifests = work / "data" / "manifests"
    if not (manifests / "pairs.parquet").is_file():
        synthesize("simulated", work / "data", scenes, 3, None, progress=False)
        prep(work / "data", manifests, PrepConfig(zooms=(4,)), jobs=2, progress=False)
    return manifests


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    mine = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "srraw-train-bench"
    )
    parser.add_argument("--scenes", type=int, default=12)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--run", default="run")
    args = parser.parse_args(mine)
    manifest = args.manifest or synthetic(args.work, args.scenes)
    out = args.work / args.run
    train = [
        sys.executable, "-m", "srraw.cli", "train", "--manifest", str(manifest), "--out", str(out),
        "--steps", str(args.steps), "--no-progress", *DEFAULTS, *extra,
    ]  # fmt: skip
    if (out / "checkpoint.pt").is_file():
        train.append("--resume")
    print("$", shlex.join(train[1:]), flush=True)
    t0 = time.perf_counter()
    subprocess.run(train, check=True)
    print(f"trained in {time.perf_counter() - t0:.0f} s", flush=True)
    evaluate = [
        sys.executable, "-m", "srraw.cli", "eval", "--manifest", str(manifest),
        "--checkpoint", str(out / "checkpoint.pt"), "--out", str(out / "eval.csv"), "--no-progress",
    ]  # fmt: skip
    print("$", shlex.join(evaluate[1:]), flush=True)
    subprocess.run(evaluate, check=True)


if __name__ == "__main__":
    main()
