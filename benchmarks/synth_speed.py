"""Speed of the synthetic-sequence renderer and of the core RAW reading on its output.

Run: .venv/bin/python benchmarks/synth_speed.py [--megapixels 12] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from srraw.cfa import pack
from srraw.raw import read_raw
from srraw.rig import load_rig
from srraw.synth.sequence import (
    frame_size,
    plan_sequence,
    render_frame,
    scene_for,
    sensor_for,
    write_frame,
)


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(rig_name: str, megapixels: float | None, repeats: int, folder: Path) -> None:
    rig = load_rig(rig_name)
    size = frame_size(rig, megapixels)
    plans = plan_sequence(rig, 1, dt.datetime(2026, 1, 1))
    scene = scene_for(rig, 1, size[0])
    sensor = sensor_for(rig, 1)
    frames = []

    def render_all() -> None:
        frames.clear()
        for plan in (plans[0], plans[3], plans[-1]):  # long, middle, short focal length
            frames.append(render_frame(rig, scene, sensor, plan, size, 1))

    per_frame = median_seconds(render_all, repeats) / 3
    raw_path, _ = write_frame(frames[0], folder)
    decode = median_seconds(lambda: read_raw(raw_path), repeats)
    frame = read_raw(raw_path)
    packing = median_seconds(
        lambda: pack(frame.mosaic, frame.cfa, frame.black_levels, frame.white_level), repeats
    )
    mp = size[0] * size[1] / 1e6
    print(
        f"{rig_name:<20} {size[0]}x{size[1]} ({mp:.1f} MP): render {per_frame:.2f} s/frame "
        f"({60 / per_frame / 7:.1f} sequences/min), read_raw {decode * 1000:.0f} ms, "
        f"pack {packing * 1000:.0f} ms ({mp / packing:.0f} MP/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    with tempfile.TemporaryDirectory() as tmp:
        bench("simulated", None, args.repeats, Path(tmp))
        bench("sony-a7s2-fe24-240", args.megapixels, args.repeats, Path(tmp))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB (medians of {args.repeats} repeats)")


if __name__ == "__main__":
    main()
