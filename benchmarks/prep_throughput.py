"""Throughput of `srraw prep` on SR-RAW-sized synthetic sequences.

Prints sequences per minute at 1 and 2 jobs and through Dask (a LocalCluster of 2 workers),
time per stage and sequence (decode and lens = each JPEG against its RAW are per frame, summed
over the frames read at once; align = the chain's similarity starts, flow = both flow passes and
joint fits; grid, colour and thumbs are per pair, summed over the pairs measured at once), peak
RSS of a worker, and the ratio of prep's time (1 job) to the pure decode time of the same files
(RAW through LibRaw + JPEG through OpenCV + sha256, the faster of two passes), in wall and CPU
seconds; with --rounds N, N such ratios and their median.

Run: .venv/bin/python benchmarks/prep_throughput.py --scenes 4 --megapixels 12 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from srraw.files import sha256_file
from srraw.memory import reuse_freed_pages
from srraw.raw import read_raw
from srraw.synth.cli import synthesize
from srraw_prep.config import PrepConfig
from srraw_prep.discover import discover
from srraw_prep.run import prep


def pure_decode(data: Path) -> tuple[float, float]:
    """(wall, CPU) seconds to read every frame once, as prep must at the least."""
    _, sequences = discover(data)
    start, cpu = time.perf_counter(), time.process_time()
    for seq in sequences:
        for frame in seq.frames:
            read_raw(frame.raw, frame.jpeg)
            cv2.imdecode(np.fromfile(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
            sha256_file(frame.raw)
            sha256_file(frame.jpeg)
    return time.perf_counter() - start, time.process_time() - cpu


def run(data: Path, jobs: int, executor: str = "local") -> tuple[float, float, dict[str, float]]:
    """(wall, CPU of this process, stage totals); with jobs=1 prep runs here, so the CPU
    figure (every thread, OpenCV's included) is prep's own and does not depend on load."""
    out = data.parent / f"manifests-{executor}-{jobs}"
    shutil.rmtree(out, ignore_errors=True)
    start, cpu = time.perf_counter(), time.process_time()
    summary = prep(data, out, PrepConfig(), jobs=jobs, progress=False, executor=executor)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    stages: dict[str, float] = {}
    for done in (out / ".prep").glob("*/done.json"):
        for stage, seconds in json.loads(done.read_text())["timings"].items():
            stages[stage] = stages.get(stage, 0.0) + seconds
    print(f"  {summary.line()}")
    return wall, cpu, stages


def report(executor: str, jobs: int, wall: float, stages: dict[str, float], scenes: int) -> None:
    parts = ", ".join(f"{k} {v / scenes:.2f} s" for k, v in stages.items() if v == v)
    print(
        f"{executor} jobs={jobs}: {wall:.1f} s, {scenes / wall * 60:.2f} sequences/min; "
        f"stages per sequence: {parts}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=4)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument(
        "--data", type=Path, default=None, help="Keep (and reuse) the dataset here."
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="Measure the pure decode and 1-job prep this many times, each ratio within its "
        "round, and print their median (the decode's time varies from run to run).",
    )
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)}")
    reuse_freed_pages()  # as prep's workers do: the pure decode is measured on equal terms
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp) / "data"
        synthesize(
            "sony-a7s2-fe24-240", data, args.scenes, 7, args.megapixels, progress=False, jobs=2
        )
        ratios = []
        for round_ in range(1, args.rounds + 1):
            # Twice, the faster kept: the first pass also pays for this process's first touch
            # of its memory (page faults), which prep, run after it, no longer does.
            first, again = pure_decode(data), pure_decode(data)
            decode, decode_cpu = min(first, again)
            print(
                f"round {round_}: pure decode of {args.scenes} sequences: {decode:.1f} s wall, "
                f"{decode_cpu:.1f} s CPU (first pass {first[0]:.1f} s; load average "
                f"{os.getloadavg()[0]:.1f})"
            )
            wall, cpu, stages = run(data, 1)
            report("local", 1, wall, stages, args.scenes)
            ratios.append(wall / decode)
            print(
                f"jobs=1 / pure decode: wall {wall / decode:.2f}, CPU {cpu / decode_cpu:.2f} "
                f"(load average {os.getloadavg()[0]:.1f}; on a loaded machine the CPU ratio "
                "is the one to read)"
            )
        if len(ratios) > 1:
            listed = ", ".join(f"{r:.2f}" for r in ratios)
            print(
                f"jobs=1 / pure decode, wall, median of {len(ratios)}: {np.median(ratios):.2f} ({listed})"
            )
        for executor, jobs in (("local", 2), ("dask", 2)):
            wall, _, stages = run(data, jobs, executor)
            report(executor, jobs, wall, stages, args.scenes)
        worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: worker {worker:.0f} MiB, main process (jobs=1 runs here) {me:.0f} MiB")


if __name__ == "__main__":
    main()
