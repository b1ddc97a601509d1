"""Throughput of `srraw prep` on SR-RAW-sized synthetic sequences.

Prints sequences per minute at 1 and 2 jobs and through Dask (a LocalCluster of 2 workers),
time per stage (decode, align, flow, overlays, merge + write), peak RSS of a worker, and the
ratio of prep's wall time (1 job) to the pure decode time of the same files (RAW through
LibRaw + JPEG through OpenCV + sha256).

Run: .venv/bin/python benchmarks/prep_throughput.py --scenes 4 --megapixels 12
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from srraw.files import sha256_file
from srraw.raw import read_raw
from srraw.synth.cli import synthesize
from srraw_prep.config import PrepConfig
from srraw_prep.discover import discover
from srraw_prep.run import prep


def pure_decode(data: Path) -> float:
    """Seconds to read every frame once, as prep must at the least."""
    _, sequences = discover(data)
    start = time.perf_counter()
    for seq in sequences:
        for frame in seq.frames:
            read_raw(frame.raw, frame.jpeg)
            cv2.imdecode(np.fromfile(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
            sha256_file(frame.raw)
            sha256_file(frame.jpeg)
    return time.perf_counter() - start


def run(data: Path, jobs: int, executor: str = "local") -> tuple[float, dict[str, float]]:
    out = data.parent / f"manifests-{executor}-{jobs}"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    summary = prep(data, out, PrepConfig(), jobs=jobs, progress=False, executor=executor)
    wall = time.perf_counter() - start
    stages: dict[str, float] = {}
    for done in (out / ".prep").glob("*/done.json"):
        for stage, seconds in json.loads(done.read_text())["timings"].items():
            stages[stage] = stages.get(stage, 0.0) + seconds
    stages["merge+write"] = wall - sum(stages.values()) if jobs == 1 else float("nan")
    print(f"  {summary.line()}")
    return wall, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=4)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument(
        "--data", type=Path, default=None, help="Keep (and reuse) the dataset here."
    )
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp) / "data"
        synthesize(
            "sony-a7s2-fe24-240", data, args.scenes, 7, args.megapixels, progress=False, jobs=2
        )
        decode = pure_decode(data)
        print(f"pure decode of {args.scenes} sequences: {decode:.1f} s")
        for executor, jobs in (("local", 1), ("local", 2), ("dask", 2)):
            wall, stages = run(data, jobs, executor)
            per_min = args.scenes / wall * 60
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in stages.items() if v == v)
            print(
                f"{executor} jobs={jobs}: {wall:.1f} s, {per_min:.2f} sequences/min; "
                f"stage totals: {parts}"
            )
            if jobs == 1:
                print(f"jobs=1 wall / pure decode = {wall / decode:.2f}")
        worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: worker {worker:.0f} MiB, main process (jobs=1 runs here) {me:.0f} MiB")


if __name__ == "__main__":
    main()
