"""Seconds per training step of a --preset on this CPU: CPU time (what an idle core would take)
and wall time (what this machine took, under whatever else runs), medians over steps.

Run: .venv/bin/python benchmarks/preset_step.py [--preset laptop] [--steps 5] [--threads 1]

Random crops of the preset's size (the data loader is measured by loader_bench.py); CoBi_VGG,
when the preset has it, runs on a randomly initialised VGG-19 (the time does not depend on
the weights).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="laptop")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    from srraw_model.config import load
    from srraw_model.losses import ZoomLoss
    from srraw_model.network import ZoomNet
    from srraw_model.train import loss_config, net_config
    from srraw_model.vgg import VGG19Features

    torch.set_num_threads(args.threads)
    cfg = load(None, {}, preset=args.preset)
    net = ZoomNet(net_config(cfg))
    loss_fn = ZoomLoss(loss_config(cfg), cfg.zoom, VGG19Features() if cfg.cobi_vgg > 0 else None)
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(cfg.batch, 4, cfg.crop, cfg.crop, generator=g)
    cpu, wall = [], []
    for step in range(args.steps + 1):
        c0, w0 = time.process_time(), time.perf_counter()
        out = net(x).clamp(0, 1)
        loss, _ = loss_fn(out, torch.rand(out.shape, generator=g), 0, g)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step:  # the first step warms up allocators and kernels
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
    per = statistics.median(cpu)
    print(
        f"--preset {args.preset} ({args.threads} thread): {per:.2f} CPU-s/step, wall "
        f"{statistics.median(wall):.2f} s/step; its {cfg.steps} steps ~ {per * cfg.steps / 60:.1f} "
        "min of CPU time"
    )
    print("command: " + " ".join(["benchmarks/preset_step.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
