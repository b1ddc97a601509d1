"""CoBi loss: forward and backward time and peak RSS, naive full matrix vs chunked, per size.

Each measurement runs in its own process (peak RSS is per process). Prints a table.

    python benchmarks/cobi_bench.py                       # 4k, 16k, 65k points, both variants
    python benchmarks/cobi_bench.py --points 4096 --variants paper --channels 64

Points are feature points per image (N = M, a square grid), `channels` features each (64 as
VGG conv1_2; CoBi_RGB 10x10 patches have 300). The naive reference holds N x M matrices; it is
skipped where its estimate exceeds --naive-limit-gb.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def one(mode: str, variant: str, points: int, channels: int, chunk: int, threads: int) -> dict:
    import torch

    from srraw_model.cobi import CoBiConfig, cobi_points, feature_points

    torch.set_num_threads(threads)
    side = round(points**0.5)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, channels, side, side, generator=g, requires_grad=True)
    y = torch.randn(1, channels, side, side, generator=g)
    cfg = CoBiConfig(variant=variant, chunk=chunk)
    distance = "cosine"
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    loss = cobi_points(
        feature_points(x, 1, 0, (side, side)), feature_points(y, 1, 0, (side, side)), cfg, distance,
        naive=mode == "naive",
    )  # fmt: skip
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "mode": mode,
        "variant": variant,
        "points": side * side,
        "forward_s": t1 - t0,
        "backward_s": t2 - t1,
        "peak_rss_mb": peak,
        "baseline_rss_mb": base,
        "loss": float(loss),
    }


def naive_estimate_gb(points: int) -> float:
    # D, the spatial distances, their sum or similarities, kept for backward: ~4 N x M float32.
    return 4 * points * points * 4 / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[4096, 16384, 65536])
    parser.add_argument("--variants", nargs="+", default=["paper", "contextual"])
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--naive-limit-gb", type=float, default=12.0)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        mode, variant, points = args.one.split(":")
        result = one(mode, variant, int(points), args.channels, args.chunk, args.threads)
        print(json.dumps(result))
        return
    print(
        f"CoBi, {args.channels} channels, cosine distance, chunk {args.chunk}, "
        f"{args.threads} threads; each row its own process"
    )
    header = f"{'variant':<11}{'points':>8}  {'mode':<8}{'fwd s':>8}{'bwd s':>8}{'total s':>9}{'peak RSS MB':>13}{'over base MB':>14}"
    print(header)
    for variant in args.variants:
        for points in args.points:
            rows = {}
            for mode in ("naive", "chunked"):
                if mode == "naive" and naive_estimate_gb(points) > args.naive_limit_gb:
                    print(
                        f"{variant:<11}{points:>8}  {mode:<8} skipped: ~{naive_estimate_gb(points):.0f} GB of N x M matrices"
                    )
                    continue
                cmd = [sys.executable, __file__, "--one", f"{mode}:{variant}:{points}",
                       "--channels", str(args.channels), "--chunk", str(args.chunk),
                       "--threads", str(args.threads)]  # fmt: skip
                done = subprocess.run(cmd, capture_output=True, text=True)
                if done.returncode != 0:
                    print(
                        f"{variant:<11}{points:>8}  {mode:<8} failed: {done.stderr.strip().splitlines()[-1:]}"
                    )
                    continue
                r = json.loads(done.stdout.strip().splitlines()[-1])
                rows[mode] = r
                total = r["forward_s"] + r["backward_s"]
                over = r["peak_rss_mb"] - r["baseline_rss_mb"]
                print(
                    f"{variant:<11}{points:>8}  {mode:<8}{r['forward_s']:>8.2f}{r['backward_s']:>8.2f}{total:>9.2f}{r['peak_rss_mb']:>13.0f}{over:>14.0f}"
                )
            if len(rows) == 2:
                n, c = rows["naive"], rows["chunked"]
                mem = (n["peak_rss_mb"] - n["baseline_rss_mb"]) / max(
                    1.0, c["peak_rss_mb"] - c["baseline_rss_mb"]
                )
                speed = (n["forward_s"] + n["backward_s"]) / (c["forward_s"] + c["backward_s"])
                same = abs(n["loss"] - c["loss"]) <= 1e-4 * max(1.0, abs(n["loss"]))
                print(
                    f"{'':<19}naive/chunked: {mem:.1f}x memory over base, {speed:.2f}x time; same loss: {same}"
                )


if __name__ == "__main__":
    main()
