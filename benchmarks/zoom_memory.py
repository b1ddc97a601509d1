"""`srraw zoom` on a 12 MP frame: seconds and peak RSS, streamed PNG vs the whole array at once.

Run: .venv/bin/python benchmarks/zoom_memory.py [--megapixels 12] [--zoom 4] [--width 16]

A synthetic 4:3 RGGB DNG and a randomly initialised ZoomNet (the weights do not change the
memory or the time; the width and tile size do). Each measurement is its own process, so its
peak RSS (getrusage of the child) is its own: `srraw zoom` as shipped (tiles, bands streamed
into the PNG), and for comparison the whole output produced as one array then cv2.imencode'd,
the way zoom worked before.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WHOLE = """
import sys, cv2, numpy as np
from srraw.raw import read_raw
from srraw_model.evaluate import load_model
from srraw_model.infer import infer
from srraw_model.inputs import raw_input
model, kind, _ = load_model(sys.argv[2])
f = read_raw(sys.argv[1])
image = raw_input(f.mosaic, f.cfa, f.black_levels, f.white_level)
rgb = infer(model, image, kind, f.wb, f.color_matrix, factor=model.factor, dtype=np.uint8)
ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
open(sys.argv[3], "wb").write(data.tobytes())
"""


def make_inputs(folder: Path, megapixels: float, zoom: int, width: int) -> tuple[Path, Path]:
    import numpy as np

    from srraw.exif import Exif
    from srraw.tiffwrite import DngMeta, write_dng
    from srraw_model import checkpoint
    from srraw_model.network import NetConfig, ZoomNet

    w = int((megapixels * 1e6 * 4 / 3) ** 0.5) // 2 * 2
    h = int(w * 3 / 4) // 2 * 2
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(0)
    level = 2000 + 6000 * (0.5 + 0.5 * np.sin(xx / 37.0) * np.cos(yy / 53.0))
    mosaic = (level + rng.normal(0, 40, (h, w))).clip(512, 16383).astype(np.uint16)
    meta = DngMeta(
        exif=Exif(make="srraw", model="Bench", focal_length_mm=24.0),
        cfa="RGGB",
        black_level=(512, 512, 512, 512),
        white_level=16383,
        as_shot_neutral=(0.5, 1.0, 0.6),
        color_matrix1=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
    )
    raw = folder / "frame.dng"
    write_dng(raw, mosaic, meta)
    net = NetConfig(zoom=zoom, in_channels=4, width=width, blocks=2)
    ckpt = folder / "model.pt"
    checkpoint.save(ckpt, {"net": net.__dict__, "input": "raw", "model": ZoomNet(net).state_dict()})
    return raw, ckpt


def measure(command: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:  # ru_maxrss of children is the largest so far: run the biggest last
        print("warning: this child's peak is not above an earlier one's", file=sys.stderr)
    return seconds, peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--zoom", type=int, default=4)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--no-whole", action="store_true", help="skip the whole-array comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw, ckpt = make_inputs(folder, args.megapixels, args.zoom, args.width)
        out = folder / "z.png"
        zoom = [
            sys.executable, "-m", "srraw.cli", "zoom", str(raw), "--checkpoint", str(ckpt),
            "--out", str(out), "--tile", str(args.tile), "--device", "cpu", "--no-progress",
        ]  # fmt: skip
        seconds, peak = measure(zoom)
        size = out.stat().st_size / 1e6
        print(
            f"srraw zoom {args.megapixels:g} MP at {args.zoom}X (width {args.width}, tile "
            f"{args.tile}): {seconds:.0f} s, peak RSS {peak:.0f} MB, PNG {size:.0f} MB"
        )
        if not args.no_whole:
            whole = folder / "w.png"
            seconds, peak = measure([sys.executable, "-c", WHOLE, str(raw), str(ckpt), str(whole)])
            print(f"whole array + cv2.imencode (before): {seconds:.0f} s, peak RSS {peak:.0f} MB")
        print("command: " + " ".join(["benchmarks/zoom_memory.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
